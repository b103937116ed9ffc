"""Adaptive coding and modulation: profiles (mode ladders) and mode selection with hysteresis.

Profiles come from vendors' planning tables in the format of ``acm_tables.txt``::

    ## db_ericsson_AM.json MINI-LINK_6600 band=18.0 GHz bw=28.0 MHz model=... (16 modes)
       modulation | capacity Mbit/s | typ Rx thr BER1e-6 dBm | BER1e-3 | max Tx dBm | ...
          4QAM_strong |    37.0 |   -87.5 |   -88.5 |   25.0 |   -96.63 | MMU1002

The bundled file holds the Ericsson MINI-LINK ladders of that table; users add their own
profiles in the same format, or inline in a network file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np

from nettwin.errors import ImportFormatError

_HEADER = re.compile(r"^##\s+\S+\s+(\S+)\s+band=([\d.]+)\s*GHz\s+bw=([\d.]+)\s*MHz\s+"
                     r"model=(\S+)")


@dataclass(frozen=True)
class AcmMode:
    name: str
    capacity_bps: float
    threshold_dbm: float  # receiver threshold (BER 1e-6)
    max_tx_dbm: float


@dataclass(frozen=True)
class AcmProfile:
    """A ladder of modes, most robust (lowest capacity) first."""

    id: str
    band_ghz: float
    bandwidth_mhz: float
    modes: tuple[AcmMode, ...]

    @property
    def capacities_bps(self) -> np.ndarray:
        return np.array([m.capacity_bps for m in self.modes])

    @property
    def thresholds_dbm(self) -> np.ndarray:
        return np.array([m.threshold_dbm for m in self.modes])

    @property
    def max_tx_dbm(self) -> np.ndarray:
        return np.array([m.max_tx_dbm for m in self.modes])


def parse_acm_table(text: str, source: str = "ACM table") -> dict[str, AcmProfile]:
    """Every ladder in a vendor table. Ids read 'FAMILY/BANDGHz/BWMHz' (plus '/MODEL' when a
    family has several models for one band and width)."""
    raw: list[tuple[str, str, float, float, list[AcmMode]]] = []
    current: list[AcmMode] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("##"):
            m = _HEADER.match(line)
            if not m:
                raise ImportFormatError(source, f"profile header not understood: {line!r}",
                                        number)
            current = []
            raw.append((m.group(1), m.group(4), float(m.group(2)), float(m.group(3)), current))
            continue
        if current is None or not line.strip() or "|" not in line or "modulation" in line:
            continue
        cells = [c.strip() for c in line.split("|")]
        try:
            current.append(AcmMode(cells[0], float(cells[1]) * 1e6, float(cells[2]),
                                   float(cells[4])))
        except (ValueError, IndexError):
            raise ImportFormatError(source, f"mode row not understood: {line.strip()!r}",
                                    number) from None
    counts: dict[tuple[str, float, float], int] = {}
    for family, _, band, bw, _ in raw:
        counts[(family, band, bw)] = counts.get((family, band, bw), 0) + 1
    out = {}
    for family, model, band, bw, modes in raw:
        pid = f"{family}/{band:g}GHz/{bw:g}MHz"
        if counts[(family, band, bw)] > 1:
            pid += f"/{model}"
        ladder = tuple(sorted(modes, key=lambda m: (m.capacity_bps, -m.threshold_dbm)))
        out[pid] = AcmProfile(pid, band, bw, ladder)
    return out


@cache
def bundled_profiles() -> dict[str, AcmProfile]:
    """The ladders shipped with nettwin (Ericsson MINI-LINK 6600/6352, vendors' public data)."""
    text = (resources.files("nettwin.radio") / "data" / "acm_profiles.txt").read_text("utf-8")
    return parse_acm_table(text, "bundled ACM profiles")


def load_acm_profiles(path: str | Path) -> dict[str, AcmProfile]:
    path = Path(path)
    return parse_acm_table(path.read_text(encoding="utf-8"), str(path))


def select_modes(rsl_dbm: np.ndarray, thresholds_dbm: np.ndarray, current: np.ndarray,
                 hysteresis_db: np.ndarray) -> np.ndarray:
    """Next mode index per link (-1: below the lowest threshold, link down).

    ``rsl_dbm``: [links, modes] received level per mode (Tx power differs by mode);
    ``thresholds_dbm``: [links, modes], +inf padding for absent modes. A link drops at once
    to the best mode its level supports, and climbs only to modes it clears by the
    hysteresis margin, so it does not flap around a threshold.
    """
    ok = rsl_dbm >= thresholds_dbm
    ok_up = rsl_dbm >= thresholds_dbm + hysteresis_db[:, None]
    modes = np.arange(thresholds_dbm.shape[1])
    best = np.where(ok, modes, -1).max(axis=1)
    best_up = np.where(ok_up, modes, -1).max(axis=1)
    return np.asarray(np.where(best < current, best, np.maximum(current, best_up)))


def stack_profiles(profiles: Iterable[AcmProfile]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Capacities, thresholds and max Tx of several ladders as padded [n, max_modes] arrays."""
    profiles = list(profiles)
    width = max((len(p.modes) for p in profiles), default=1)
    cap = np.zeros((len(profiles), width))
    thr = np.full((len(profiles), width), np.inf)
    tx = np.full((len(profiles), width), -np.inf)
    for i, p in enumerate(profiles):
        k = len(p.modes)
        cap[i, :k], thr[i, :k], tx[i, :k] = p.capacities_bps, p.thresholds_dbm, p.max_tx_dbm
    return cap, thr, tx
