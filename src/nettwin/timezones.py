"""The operator's time zone: the one the live twin reads a time of day and a day of the
week in, for its traffic-matrix prior (time-of-day bins, weekday / weekend day types).

A history file's date or stamp is taken as written, i.e. in the operator's local time; the
counters' epoch times and an uploaded matrix's aware ``time`` are read in this zone so that
both sides agree (UTC, the default, read them as they were read before). Stdlib only: the
command line checks a name without loading the engine."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from nettwin.errors import NettwinError, close_names

DEFAULT_TIMEZONE = "UTC"
SECONDS_PER_DAY = 86_400.0


def check_timezone(name: str | None) -> str:
    """``name`` if it is an IANA time zone (``Europe/Berlin``), ``DEFAULT_TIMEZONE`` for
    None; else a ``NettwinError`` naming it and the closest names."""
    if name is None:
        return DEFAULT_TIMEZONE
    _zone(name)
    return name


def operator_zone(name: str | None) -> ZoneInfo | None:
    """The zone ``name`` reads times in; None for UTC (and for None): epoch seconds are then
    read by plain arithmetic, exactly as before there was a setting."""
    name = check_timezone(name)
    return None if name == DEFAULT_TIMEZONE else _zone(name)


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    try:
        if not name or name != name.strip():
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    close = close_names(name, sorted(available_timezones()), cutoff=0.6)
    hint = (f"did you mean {', '.join(repr(c) for c in close)}?" if close else
            "see zoneinfo.available_timezones()")
    raise NettwinError(f"time zone {name!r} is not an IANA time zone name: give one such as "
                       f"'Europe/Berlin', 'America/Los_Angeles' or 'UTC' ({hint})")


def local_offset_s(t: float, zone: ZoneInfo | None) -> float:
    """Seconds the zone's clock is ahead of UTC at epoch time ``t`` (daylight saving
    included; 0 for UTC)."""
    if zone is None:
        return 0.0
    offset = datetime.fromtimestamp(t, zone).utcoffset()
    return 0.0 if offset is None else offset.total_seconds()


def time_of_day(t: float, zone: ZoneInfo | None = None) -> float | None:
    """Seconds into the day, in ``zone`` (None: UTC), of epoch time ``t``; None for an
    unknown time."""
    if not math.isfinite(t):
        return None
    return float((t + local_offset_s(t, zone)) % SECONDS_PER_DAY)


def day_of_week(t: float, zone: ZoneInfo | None = None) -> float | None:
    """Day of the week, in ``zone`` (None: UTC), of epoch time ``t``, 0 Monday .. 6 Sunday
    (1 January 1970 was a Thursday); None for an unknown time."""
    if not math.isfinite(t):
        return None
    return float(((t + local_offset_s(t, zone)) // SECONDS_PER_DAY + 3) % 7)


def wall_clock(t: datetime | None, zone: ZoneInfo | None) -> tuple[float, float]:
    """(seconds into the day, day of the week) of an uploaded matrix's ``time``: an aware
    time converted to ``zone`` (None: UTC), a naive one taken as written (as a file's
    stamp is); (nan, nan) without a time."""
    if t is None:
        return float("nan"), float("nan")
    if t.tzinfo is not None:
        t = t.astimezone(UTC if zone is None else zone)
    return float(t.hour * 3600 + t.minute * 60 + t.second), float(t.weekday())
