"""Rain storms over the network: moving rain cells, path-integrated fade, ACM with
hysteresis, and the IP consequences (capacities, reroutes, delay, SLAs) at every step.

Cell model: EXCELL (Capsoni, Fedi, Paraboni, Radio Science 1987): rain rate falls off
exponentially from the cell centre, R(r) = R_peak exp(-r / r0), cut at 0.5 mm/h. Each cell
moves at a constant velocity and its peak grows or decays exponentially in time. Where cells
overlap the larger rate counts. A link's rain fade is sum_segments k R(x)^alpha dx over its
path, sampled at ``samples`` points.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit, prange

from nettwin.engine import CompiledNetwork, SimulationOptions, compile_network, simulate
from nettwin.errors import ValidationError
from nettwin.model import Network
from nettwin.model.geo import EARTH_RADIUS_KM
from nettwin.model.problems import Problem
from nettwin.radio.acm import select_modes
from nettwin.radio.budget import RadioArrays

MIN_RAIN_MM_H = 0.5


@dataclass(frozen=True)
class RainCell:
    """One EXCELL cell: where it starts, how strong and wide, where it goes."""

    latitude: float
    longitude: float
    peak_mm_h: float
    radius_km: float  # e-folding distance r0
    speed_kmh: float = 0.0
    heading_deg: float = 0.0  # direction it moves to, clockwise from north
    start_min: float = 0.0
    end_min: float = math.inf
    growth_per_h: float = 0.0  # peak(t) = peak exp(growth t); negative decays


@dataclass(frozen=True)
class Storm:
    name: str
    cells: tuple[RainCell, ...]
    duration_min: float
    step_min: float = 1.0

    @property
    def times_min(self) -> np.ndarray:
        return np.arange(0.0, self.duration_min + 1e-9, self.step_min)


def parse_storm(doc: Any, source: str = "storm") -> Storm:
    """A storm from YAML/JSON: name, duration_min, step_min, cells: [{latitude, longitude,
    peak_mm_h, radius_km, speed_kmh, heading_deg, start_min, end_min, growth_per_h}]."""
    problems: list[Problem] = []
    if not isinstance(doc, Mapping):
        raise ValidationError([Problem(source, "a storm is a mapping",
                                       fix="give name, duration_min and cells")], source)
    fields = {f.name for f in dataclasses.fields(RainCell)}
    cells = []
    for i, raw in enumerate(doc.get("cells") or []):
        label = f"{source} cell #{i + 1}"
        if not isinstance(raw, Mapping):
            problems.append(Problem(label, "expected a mapping", value=raw,
                                    fix="give latitude, longitude, peak_mm_h, radius_km"))
            continue
        unknown = set(raw) - fields
        for key in sorted(unknown):
            problems.append(Problem(label, "unknown field", field=key,
                                    fix=f"use {', '.join(sorted(fields))}"))
        try:
            cell = RainCell(**{k: float(v) for k, v in raw.items() if k in fields})
        except (TypeError, ValueError) as exc:
            problems.append(Problem(label, "bad or missing value", value=str(exc),
                                    fix="latitude, longitude, peak_mm_h and radius_km are "
                                        "required numbers"))
            continue
        if cell.peak_mm_h < 0 or cell.radius_km <= 0:
            problems.append(Problem(label, "peak_mm_h must be >= 0 and radius_km > 0",
                                    value=(cell.peak_mm_h, cell.radius_km), fix="correct it"))
        cells.append(cell)
    duration = doc.get("duration_min")
    step = doc.get("step_min", 1.0)
    if not isinstance(duration, int | float) or duration <= 0:
        problems.append(Problem(source, "duration_min must be a number > 0", value=duration,
                                fix="duration_min: 60"))
    if not isinstance(step, int | float) or step <= 0:
        problems.append(Problem(source, "step_min must be a number > 0", value=step,
                                fix="step_min: 1"))
    if problems:
        raise ValidationError(problems, source)
    return Storm(str(doc.get("name") or source), tuple(cells), float(duration),  # type: ignore[arg-type]
                 float(step))


def _project(lat: np.ndarray, lon: np.ndarray, lat0: float, lon0: float
             ) -> tuple[np.ndarray, np.ndarray]:
    """Local tangent plane (km east, km north) around (lat0, lon0)."""
    x = np.radians(np.asarray(lon) - lon0) * EARTH_RADIUS_KM * math.cos(math.radians(lat0))
    y = np.radians(np.asarray(lat) - lat0) * EARTH_RADIUS_KM
    return x, y


@njit(cache=True, parallel=True)
def _path_attenuation(ax, ay, bx, by, k, alpha, samples, cx, cy, peak, r0, out):
    """Rain fade of every link: max-over-cells EXCELL rate integrated along the path.

    A cell whose rate has fallen below 0.5 mm/h before it reaches a link's segment (beyond
    r0 ln(peak / 0.5) from its centre) cannot rain on that link and is skipped, so links far
    from the storm cost one distance test per cell."""
    n = ax.shape[0]
    n_cells = cx.shape[0]
    reach = np.empty(n_cells)
    for c in range(n_cells):
        reach[c] = r0[c] * math.log(peak[c] / 0.5) if peak[c] > 0.5 else -1.0
    for i in prange(n):
        ux = bx[i] - ax[i]
        uy = by[i] - ay[i]
        length2 = ux * ux + uy * uy
        active = np.empty(n_cells, np.int64)
        n_active = 0
        for c in range(n_cells):
            if reach[c] < 0:
                continue
            t = 0.0
            if length2 > 0:
                t = ((cx[c] - ax[i]) * ux + (cy[c] - ay[i]) * uy) / length2
                t = min(1.0, max(0.0, t))
            ex = ax[i] + t * ux - cx[c]
            ey = ay[i] + t * uy - cy[c]
            if ex * ex + ey * ey <= reach[c] * reach[c]:
                active[n_active] = c
                n_active += 1
        if n_active == 0:
            out[i] = 0.0
            continue
        dx = ux / samples
        dy = uy / samples
        seg = math.sqrt(dx * dx + dy * dy)
        total = 0.0
        for s in range(samples):
            px = ax[i] + (s + 0.5) * dx
            py = ay[i] + (s + 0.5) * dy
            rate = 0.0
            for q in range(n_active):
                c = active[q]
                ex = px - cx[c]
                ey = py - cy[c]
                rate = max(rate, peak[c] * math.exp(-math.sqrt(ex * ex + ey * ey) / r0[c]))
            if rate >= 0.5:
                total += k[i] * rate ** alpha[i] * seg
        out[i] = total


class StormField:
    """Cells and links projected once; ``attenuation(t)`` gives every link's rain fade."""

    def __init__(self, radio: RadioArrays, storm: Storm, samples: int = 16) -> None:
        lat = np.concatenate([radio.a_lat, radio.b_lat, [c.latitude for c in storm.cells]])
        lon = np.concatenate([radio.a_lon, radio.b_lon, [c.longitude for c in storm.cells]])
        self.lat0, self.lon0 = float(np.mean(lat)), float(np.mean(lon))
        self.ax, self.ay = _project(radio.a_lat, radio.a_lon, self.lat0, self.lon0)
        self.bx, self.by = _project(radio.b_lat, radio.b_lon, self.lat0, self.lon0)
        self.radio = radio
        self.storm = storm
        self.samples = samples
        cx, cy = _project(np.array([c.latitude for c in storm.cells]),
                          np.array([c.longitude for c in storm.cells]), self.lat0, self.lon0)
        self.cx0, self.cy0 = np.atleast_1d(cx), np.atleast_1d(cy)

    def cells_at(self, t_min: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Centres (km), peak rates and radii of the cells alive at ``t_min``."""
        cs = self.storm.cells
        dt_h = np.array([(t_min - c.start_min) / 60.0 for c in cs])
        alive = np.array([c.start_min <= t_min <= c.end_min for c in cs], bool)
        heading = np.radians([c.heading_deg for c in cs])
        speed = np.array([c.speed_kmh for c in cs])
        x = self.cx0 + speed * dt_h * np.sin(heading)
        y = self.cy0 + speed * dt_h * np.cos(heading)
        peak = np.array([c.peak_mm_h for c in cs]) * np.exp(
            np.array([c.growth_per_h for c in cs]) * dt_h)
        r0 = np.array([c.radius_km for c in cs])
        return x[alive], y[alive], peak[alive], r0[alive]

    def cells_latlon_at(self, t_min: float) -> list[dict[str, float]]:
        """The cells alive at ``t_min``: centre latitude/longitude, peak rate, radius."""
        x, y, peak, r0 = self.cells_at(t_min)
        lat = self.lat0 + np.degrees(y / EARTH_RADIUS_KM)
        lon = self.lon0 + np.degrees(x / (EARTH_RADIUS_KM * math.cos(math.radians(self.lat0))))
        return [{"latitude": float(a), "longitude": float(o), "peak_mm_h": float(p),
                 "radius_km": float(r)} for a, o, p, r in zip(lat, lon, peak, r0, strict=True)]

    def attenuation(self, t_min: float) -> np.ndarray:
        cx, cy, peak, r0 = self.cells_at(t_min)
        out = np.zeros(self.radio.n)
        if cx.size:
            _path_attenuation(self.ax, self.ay, self.bx, self.by, self.radio.k,
                              self.radio.alpha, self.samples, cx, cy, peak, r0, out)
        return out


@dataclass(frozen=True, eq=False)
class StormResult:
    """Everything over the storm: per step and radio link, and per step for the IP layer."""

    storm: Storm
    radio: RadioArrays
    times_min: np.ndarray
    attenuation_db: np.ndarray  # [steps, links]
    mode: np.ndarray  # [steps, links]; -1 down
    capacity_bps: np.ndarray  # [steps, links]
    max_utilisation: np.ndarray  # [steps]
    unroutable_bps: np.ndarray
    queue_lost_bps: np.ndarray
    service_ids: tuple[str, ...]
    service_worst_delay_s: np.ndarray  # [steps, services]
    service_violated: np.ndarray  # [steps, services]
    service_max_delay_s: np.ndarray

    def summary(self) -> dict[str, Any]:
        down = self.mode < 0
        return {
            "storm": self.storm.name, "steps": int(self.times_min.size),
            "radio_links": self.radio.n,
            "max_rain_fade_db": float(self.attenuation_db.max(initial=0.0)),
            "links_ever_down": int(down.any(axis=0).sum()),
            "link_minutes_down": float(down.sum() * self.storm.step_min),
            "min_capacity_fraction": float(
                (self.capacity_bps.sum(axis=1) / max(1.0, self.capacity_bps[0].sum())).min()),
            "peak_max_utilisation": float(self.max_utilisation.max(initial=0.0)),
            "peak_unroutable_bps": float(self.unroutable_bps.max(initial=0.0)),
            "services": {sid: {"minutes_violated": float(self.service_violated[:, i].sum()
                                                         * self.storm.step_min),
                               "worst_delay_s": float(np.nanmax(np.where(
                                   np.isfinite(self.service_worst_delay_s[:, i]),
                                   self.service_worst_delay_s[:, i], np.nan)))
                               if np.isfinite(self.service_worst_delay_s[:, i]).any()
                               else None}
                         for i, sid in enumerate(self.service_ids)},
        }


class AcmState:
    """The modes of every radio link as the fade changes (adaptive modulation with
    hysteresis: a link steps down at once, and up only with margin to spare)."""

    def __init__(self, radio: RadioArrays) -> None:
        self.radio = radio
        self.rsl_clear_dbm = radio.rsl_clear_dbm()
        self.mode = radio.top_mode.copy()
        self.arcs = np.stack([2 * radio.link_index, 2 * radio.link_index + 1], axis=1)

    def update(self, fade_db: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """New modes (-1: down) and capacities per radio link under ``fade_db``."""
        r = self.radio
        self.mode = select_modes(self.rsl_clear_dbm - fade_db[:, None], r.threshold_dbm,
                                 self.mode, r.hysteresis_db)
        up = self.mode >= 0
        cap = np.where(up, np.take_along_axis(
            r.capacity_bps, np.maximum(self.mode, 0)[:, None], axis=1)[:, 0], 0.0)
        return self.mode.copy(), cap

    def arc_state(self, compiled: CompiledNetwork, mode: np.ndarray, capacity_bps: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
        """The network's arc capacities and up flags with the radio links at these modes."""
        up_link = mode >= 0
        capacity = compiled.arc_capacity_bps.copy()
        capacity[self.arcs] = np.where(up_link, capacity_bps, 1.0)[:, None]
        up = compiled.arc_up.copy()
        up[self.arcs[~up_link].ravel()] = False
        return capacity, up


def run_storm(network: Network, radio: RadioArrays, storm: Storm,
              options: SimulationOptions | None = None, *,
              compiled: CompiledNetwork | None = None, samples: int = 16,
              progress: Callable[[int, int], None] | None = None) -> StormResult:
    """Step through the storm: fade -> ACM mode (with hysteresis) -> capacity -> IP run."""
    compiled = compiled or compile_network(network)
    field = StormField(radio, storm, samples)
    acm = AcmState(radio)
    times = storm.times_min
    steps, n = times.size, radio.n
    att = np.zeros((steps, n))
    mode = np.zeros((steps, n), np.int64)
    cap = np.zeros((steps, n))
    max_util, unroutable, qlost = np.zeros(steps), np.zeros(steps), np.zeros(steps)
    s = len(compiled.service_ids)
    worst = np.zeros((steps, s))
    violated = np.zeros((steps, s), bool)
    for i, t in enumerate(times):
        att[i] = field.attenuation(float(t))
        mode[i], cap[i] = acm.update(att[i])
        capacity, up = acm.arc_state(compiled, mode[i], cap[i])
        step_net = dataclasses.replace(compiled, arc_capacity_bps=capacity)
        result = simulate(step_net, options, arc_up=up)
        k = result.kpis()
        max_util[i], unroutable[i], qlost[i] = (k["max_utilisation"], k["unroutable_bps"],
                                                k["queue_lost_bps"])
        worst[i] = result.services.worst_delay_s
        violated[i] = result.services.violated
        if progress:
            progress(i + 1, steps)
    return StormResult(storm, radio, times, att, mode, cap, max_util, unroutable, qlost,
                       compiled.service_ids, worst, violated, compiled.service_max_delay_s)
