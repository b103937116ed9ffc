"""How large answers are built and served: pages of result rows behind a cursor, the few
latest simulation results kept for paging through them, and JSON bytes made once by orjson
(the live state is serialised once per tick, however many readers ask for it).

A cursor is opaque to clients (today the offset of the next row, in the result's fixed
order); the answer names the next one, or null on the last page.
"""

from __future__ import annotations

import gzip
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import HTTPException
from fastapi.responses import Response

_ORJSON = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def json_bytes(doc: Any) -> bytes:
    """``doc`` as JSON (numpy values included; nan and inf become null)."""
    return orjson.dumps(doc, option=_ORJSON)


def json_response(doc: Any, status_code: int = 200) -> Response:
    return Response(json_bytes(doc), status_code=status_code, media_type="application/json")


@dataclass(frozen=True)
class Page:
    """Rows ``start`` to ``stop`` of ``total``."""

    start: int
    stop: int
    total: int

    @property
    def rows(self) -> range:
        return range(self.start, self.stop)

    @property
    def next_cursor(self) -> str | None:
        return str(self.stop) if self.stop < self.total else None


def page_of(total: int, cursor: str | None, limit: int, valid_to: int | None = None) -> Page:
    """The page a request asks for; 400 for a cursor past ``valid_to`` (default ``total``:
    one this result never handed out). Lists paged by one shared cursor pass their longest
    length as ``valid_to``: a shorter one is then just empty."""
    if cursor is None:
        start = 0
    elif not cursor.isdigit() or len(cursor) > 12 or int(cursor) > (
            total if valid_to is None else valid_to):
        raise HTTPException(400, detail=f"cursor {cursor[:20]!r} does not belong to this "
                                        "result: start without one, then pass next_cursor")
    else:
        start = min(int(cursor), total)
    return Page(start, min(total, start + limit), total)


class RecentResults:
    """The last ``size`` results by key (least recently used dropped), made once each:
    concurrent requests for a key being made wait for that one making (single flight)
    instead of making it again."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._making: dict[Hashable, Future[Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            pending = self._making.get(key)
            if pending is None:
                self._making[key] = mine = Future[Any]()
                # running: an awaiting request cancelled (asyncio.wrap_future of ``peek``)
                # cannot cancel it for the others
                mine.set_running_or_notify_cancel()
        if pending is not None:
            return pending.result()  # made by another request right now
        try:
            value = make()  # outside the lock: other keys need not wait
        except BaseException as exc:
            with self._lock:
                del self._making[key]
            mine.set_exception(exc)
            raise
        with self._lock:
            del self._making[key]
            self._keep(key, value)
        mine.set_result(value)
        return value

    def kept_keys(self) -> list[Hashable]:
        """The keys of the results kept, least recently used first."""
        with self._lock:
            return list(self._items)

    def put(self, key: Hashable, value: Any) -> None:
        """Keep ``value`` for ``key`` (made elsewhere), unless it is kept or being made."""
        with self._lock:
            if key not in self._items and key not in self._making:
                self._keep(key, value)

    def _keep(self, key: Hashable, value: Any) -> None:
        """Under the lock: keep ``value``, dropping the least recently used past ``size``."""
        self._items[key] = value
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def peek(self, key: Hashable) -> Future[Any] | None:
        """Without making anything: a done Future of the result kept for ``key``, the Future
        of the one being made for it now, or None. An event-loop caller answers from the
        first, awaits the second (``asyncio.wrap_future``) and only for None needs a thread."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                kept = Future[Any]()
                kept.set_result(self._items[key])
                return kept
            return self._making.get(key)

    def forget(self, drop: Callable[[Hashable], bool]) -> None:
        """Drop the results whose key ``drop`` says."""
        with self._lock:
            for key in [k for k in self._items if drop(k)]:
                del self._items[key]


class SerialisedStates:
    """Each network's latest live state as JSON bytes (and gzipped, for clients that take
    it: about a fifth of the size), made once per state object (one tick) and shared by
    every reader of that tick."""

    def __init__(self) -> None:
        # the state itself is kept (not its id): a later state never reuses its address
        self._made: dict[tuple[str, bool], tuple[dict[str, Any], bytes]] = {}

    def get(self, nid: str, state: dict[str, Any], compressed: bool = False) -> bytes:
        made = self._made.get((nid, compressed))
        if made is not None and made[0] is state:
            return made[1]
        raw = json_bytes(state)
        if compressed:
            raw = gzip.compress(raw, compresslevel=1, mtime=0)
        self._made[nid, compressed] = (state, raw)
        return raw


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an Accept-Encoding header takes gzip (and does not refuse it with q=0)."""
    for part in (accept_encoding or "").lower().split(","):
        name, _sep, params = part.strip().partition(";")
        if name.strip() in ("gzip", "*"):
            q = params.replace(" ", "").removeprefix("q=")
            return not q or (q.replace(".", "", 1).isdigit() and float(q) > 0)
    return False
