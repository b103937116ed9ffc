"""Labelled synthetic telemetry: episodes of a network carrying a traffic day, each with one
injected fault (or none) at a random instant, observed through noisy counters, radio
readings and events. Every step is routed and queued by the engine, so the data are
physically consistent with the twin's own model; the labels say what was injected."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nettwin.engine import SimulationOptions, compile_network, simulate
from nettwin.engine.simulate import queue_arcs, route
from nettwin.model import Network
from nettwin.radio.budget import RadioArrays
from nettwin.radio.storm import AcmState, RainCell, Storm, StormField
from nettwin.synth.faults import (
    METRIC_MAX,
    Fault,
    FaultKind,
    FaultModel,
    consequences,
    srlg_members,
)
from nettwin.synth.telemetry import Noise, PortCounters, event, threshold_alarms

# scenario -> root-cause kind of its label
SCENARIOS: dict[str, FaultKind] = {
    "fibre_cut_peak": FaultKind.LINK_DOWN, "fibre_cut_offpeak": FaultKind.LINK_DOWN,
    "srlg_cut": FaultKind.SRLG_DOWN, "node_loss": FaultKind.NODE_DOWN,
    "lag_member_lost": FaultKind.CAPACITY_DEGRADED, "metric_misconfig": FaultKind.METRIC_CHANGED,
    "traffic_surge": FaultKind.TRAFFIC_SURGE, "rain_storm": FaultKind.RAIN_FADE,
    "misalignment": FaultKind.MISALIGNMENT, "cascading_overload": FaultKind.LINK_DOWN,
    "none": FaultKind.NONE,
}
RADIO_SCENARIOS = ("rain_storm", "misalignment")
PEAK_HOUR, OFFPEAK_HOUR = 20.0, 4.5
START_EPOCH_S = 1_767_225_600.0  # 2026-01-01T00:00Z
_OPTIONS = SimulationOptions()


def diurnal_scale(hour: float) -> float:
    """Traffic level over the day relative to the busy hour (1.0 at 20:00, 0.2 at 08:00)."""
    return 0.6 + 0.4 * math.cos(2 * math.pi * (hour - PEAK_HOUR) / 24.0)


@dataclass(frozen=True)
class Label:
    """What was injected in one episode (one row of the label table)."""

    event_id: str
    scenario: str
    kind: FaultKind
    element: str
    elements: tuple[str, ...]
    start: float
    end: float
    window_start: float
    window_end: float
    params: dict[str, float] = field(default_factory=dict)
    chain: tuple[str, ...] = ()
    affected_services: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["kind"] = self.kind.value
        d["elements"], d["chain"] = list(self.elements), list(self.chain)
        d["affected_services"] = list(self.affected_services)
        return d


@dataclass(frozen=True)
class Episode:
    label: Label
    records: list[dict[str, Any]]


@dataclass(frozen=True)
class SynthConfig:
    interval_s: float = 60.0
    steps: int = 60  # samples per episode
    noise: Noise = field(default_factory=Noise)
    start_epoch_s: float = START_EPOCH_S
    trip_utilisation: float = 1.0  # cascading overload: a link over it trips a step later
    # a network whose modelled demands overload it at the busy hour (e.g. SNDlib GEANT with
    # module capacities) carries them scaled so that its busiest link runs at this level
    max_busy_utilisation: float = 0.9
    busy_utilisation: float = 0.7


class Synthesizer:
    """Episodes over one network. Deterministic for a seed."""

    def __init__(self, network: Network, config: SynthConfig | None = None,
                 radio: RadioArrays | None = None, seed: int = 0,
                 traffic_bps: np.ndarray | None = None, traffic_interval_s: float = 300.0
                 ) -> None:
        """``traffic_bps`` [intervals, demands] (optional): measured matrices replayed
        instead of the demands times the diurnal profile (linear between intervals)."""
        self.network = network
        self.config = config or SynthConfig()
        self.compiled = compile_network(network)
        self.demand_scale = 1.0
        busiest = float(simulate(self.compiled).arc_utilisation.max(initial=0.0))
        if busiest > self.config.max_busy_utilisation:
            self.demand_scale = self.config.busy_utilisation / busiest
            self.compiled = dataclasses.replace(
                self.compiled, demand_rate_bps=self.compiled.demand_rate_bps * self.demand_scale)
        self.traffic = None
        if traffic_bps is not None:
            traffic_bps = np.asarray(traffic_bps, np.float64)
            if traffic_bps.ndim != 2 or traffic_bps.shape[1] != self.compiled.n_demands \
                    or traffic_bps.shape[0] < 2 or not np.isfinite(traffic_bps).all() \
                    or (traffic_bps < 0).any():
                raise ValueError(f"traffic must be [intervals >= 2, {self.compiled.n_demands} "
                                 f"demands] of finite rates >= 0, got {traffic_bps.shape}")
            peak = float(traffic_bps.sum(axis=1).max())
            ref = float(self.compiled.demand_rate_bps.sum())
            # the busiest interval is the busy hour the utilisation check above refers to
            self.traffic = traffic_bps * (self.demand_scale * ref / peak if peak > 0 else 1.0)
        self.traffic_interval_s = traffic_interval_s
        self.model = FaultModel(self.compiled, srlg_members(
            {lid: link.srlgs for lid, link in network.links.items()}))
        self.radio = radio if radio is not None and radio.n else None
        self.rng = np.random.default_rng(seed)
        self.counters = PortCounters(self.compiled)
        self.t_next = self.config.start_epoch_s
        self.n_episodes = 0

    @property
    def scenarios(self) -> tuple[str, ...]:
        """The scenarios this network supports (radio ones need radio links, SRLG cuts
        need SRLGs)."""
        return tuple(s for s in SCENARIOS
                     if (s not in RADIO_SCENARIOS or self.radio is not None)
                     and (s != "srlg_cut" or self.model.srlgs))

    def episodes(self, count: int, scenarios: tuple[str, ...] | None = None
                 ) -> Iterator[Episode]:
        """``count`` episodes, classes balanced (round robin over a shuffled order)."""
        pool = scenarios or self.scenarios
        for i in range(count):
            if i % len(pool) == 0:
                order = list(self.rng.permutation(pool))
            yield self.episode(str(order[i % len(pool)]))

    # ------------------------------------------------------------------ one episode
    def episode(self, scenario: str) -> Episode:
        if scenario not in SCENARIOS:
            raise ValueError(f"unknown scenario {scenario!r}: use one of {', '.join(SCENARIOS)}")
        cfg, rng, c = self.config, self.rng, self.compiled
        steps = cfg.steps
        hour = {"fibre_cut_peak": PEAK_HOUR, "fibre_cut_offpeak": OFFPEAK_HOUR,
                "lag_member_lost": PEAK_HOUR, "cascading_overload": PEAK_HOUR}.get(
            scenario, float(rng.uniform(0, 24)))
        hour = (hour + float(rng.uniform(-1, 1))) % 24
        level = 1.0
        onset = int(rng.integers(steps // 3, 2 * steps // 3))
        t0 = self.t_next
        times = t0 + cfg.interval_s * np.arange(steps + 1)
        scale = np.array([diurnal_scale(hour + k * cfg.interval_s / 3600) for k in
                          range(steps + 1)])
        profile = c.demand_rate_bps[None, :] * scale[:, None]
        if self.traffic is not None:
            profile = self._measured(scenario, steps)
            scale = profile.sum(axis=1) / max(float(c.demand_rate_bps.sum()), 1e-300)
        fault, fade, params = self._choose(scenario, float(scale[onset]), onset, steps)
        if scenario == "cascading_overload":
            level = params.pop("level")
        faults: tuple[Fault, ...] = (fault,) if fault is not None else ()
        trips: list[tuple[int, str]] = []
        records: list[dict[str, Any]] = []
        acm = AcmState(self.radio) if self.radio is not None else None
        noise = cfg.noise
        reset_arc = int(rng.integers(c.n_arcs)) if rng.random() < noise.counter_resets else -1
        reset_step = int(rng.integers(1, steps + 1))
        prev_util = np.zeros(c.n_arcs)
        prev_loss = np.zeros(c.n_arcs)
        prev_mode: np.ndarray | None = None
        prev_up = c.arc_up.copy()
        tripped: list[str] = []
        for k in range(steps + 1):
            t = float(times[k])
            active = k >= onset and fault is not None
            cap, up = c.arc_capacity_bps, c.arc_up
            radio_now = None
            if acm is not None and self.radio is not None:
                mode, rcap = acm.update(fade[k])
                cap, up = acm.arc_state(c, mode, rcap)
                radio_now = (mode, rcap)
            applied: tuple[Fault, ...] = faults if active else ()
            if tripped:
                applied = applied + tuple(self.model.fault(FaultKind.LINK_DOWN, lid)
                                          for lid in tripped)
            state = self.model.apply(applied, cap, up)
            demand_noise = (np.exp(noise.demand_jitter * rng.standard_normal(c.n_demands))
                            if noise.demand_jitter else 1.0)
            rate = profile[k] * level * demand_noise * state.demand_factor
            load = route(state.compiled, state.arc_up, rate).load_bps
            q, _ = queue_arcs(state.compiled, _OPTIONS, load)
            loss = np.where(state.arc_up, q.loss, 0.0)
            util = np.where(state.arc_up, q.utilisation, 0.0)
            if k:  # polling jitter: each sample's count lands a little early or late
                jitter = (1 + noise.counter_jitter * rng.standard_normal(c.n_arcs)) \
                    if noise.counter_jitter else 1.0
                self.counters.advance(cfg.interval_s, load * (1 - loss) * jitter, load * loss)
            if k == reset_step and reset_arc >= 0:
                self.counters.reset(reset_arc)
            reporting = np.ones(c.n_arcs, bool)
            if active and fault is not None and fault.kind is FaultKind.NODE_DOWN:
                reporting[c.arc_src == self.model.node_index[fault.element]] = False
            records += self.counters.records(t, state.arc_up, reporting, rng,
                                             noise.missing_samples if k else 0.0)
            records += self._events(t, k, prev_up, state.arc_up, fault if active else None,
                                    onset)
            if k:
                records += threshold_alarms(c, t, prev_util, util, prev_loss, loss)
            if radio_now is not None and self.radio is not None:
                records += self._radio_records(t, radio_now[0], radio_now[1], fade[k],
                                               prev_mode, acm)
                prev_mode = radio_now[0]
            prev_util, prev_loss, prev_up = util, loss, state.arc_up
            if scenario == "cascading_overload" and active:
                over = np.flatnonzero(util.reshape(-1, 2).max(axis=1) > cfg.trip_utilisation)
                for li in over.tolist():
                    lid = c.link_ids[li]
                    if lid not in tripped:
                        tripped.append(lid)
                        trips.append((k + 1, lid))
        # repair between episodes: what is down comes back (and says so) before the next
        t_fix = float(times[-1]) + cfg.interval_s
        if fault is not None and fault.kind is FaultKind.NODE_DOWN:
            records.append(event(t_fix, fault.element, "node_up", "cleared",
                                 f"{fault.element} reachable again"))
        for li in np.flatnonzero((~prev_up & c.arc_up).reshape(-1, 2).any(axis=1)).tolist():
            records.append(event(t_fix, c.link_ids[li], "link_up", "cleared",
                                 f"{c.link_ids[li]} repaired"))
        records.sort(key=lambda r: r["time"])
        label = self._label(scenario, fault, fade, params, times, onset, level, profile[onset],
                            trips)
        self.t_next = float(times[-1]) + 10 * cfg.interval_s
        self.n_episodes += 1
        return Episode(label, records)

    def _measured(self, scenario: str, steps: int) -> np.ndarray:
        """Per step and demand, the measured matrices from a random start (near the busiest
        or quietest interval for the peak/off-peak scenarios), linear between intervals."""
        assert self.traffic is not None
        tr, rng = self.traffic, self.rng
        n = tr.shape[0]
        total = tr.sum(axis=1)
        ranked = np.argsort(total)
        tenth = max(1, n // 10)
        start = int(rng.choice(ranked[-tenth:])) if scenario in (
            "fibre_cut_peak", "lag_member_lost", "cascading_overload") else \
            int(rng.choice(ranked[:tenth])) if scenario == "fibre_cut_offpeak" else \
            int(rng.integers(n))
        pos = start + np.arange(steps + 1) * self.config.interval_s / self.traffic_interval_s
        lo = np.floor(pos).astype(np.int64)
        w = (pos - lo)[:, None]
        return np.asarray((1 - w) * tr[lo % n] + w * tr[(lo + 1) % n])

    # ------------------------------------------------------------------ choices
    def _unit_util(self, faults: tuple[Fault, ...] = ()) -> np.ndarray:
        """Per link, the higher utilisation of its two arcs at the modelled rates."""
        c = self.compiled
        state = self.model.apply(faults)
        load = route(state.compiled, state.arc_up, c.demand_rate_bps * state.demand_factor
                     ).load_bps
        util = np.where(state.arc_up, load / state.compiled.arc_capacity_bps, 0.0)
        return np.asarray(util.reshape(-1, 2).max(axis=1))

    def _choose(self, scenario: str, scale: float, onset: int, steps: int
                ) -> tuple[Fault | None, np.ndarray, dict[str, float]]:
        rng, c, m = self.rng, self.compiled, self.model
        fade = np.zeros((steps + 1, self.radio.n if self.radio is not None else 0))
        params: dict[str, float] = {}
        links = list(c.link_ids)
        if scenario in ("fibre_cut_peak", "fibre_cut_offpeak"):
            return m.fault(FaultKind.LINK_DOWN, str(rng.choice(links))), fade, params
        if scenario == "srlg_cut":
            return m.fault(FaultKind.SRLG_DOWN, str(rng.choice(sorted(m.srlgs)))), fade, params
        if scenario == "node_loss":
            nodes = [n for n, ls in m.node_links.items() if ls]
            return m.fault(FaultKind.NODE_DOWN, str(rng.choice(nodes))), fade, params
        if scenario == "lag_member_lost":
            util = self._unit_util() * scale
            options = []
            for li in np.flatnonzero(util > 0).tolist():
                for n in (2, 3, 4):
                    lost = next((j for j in range(1, n) if (n - j) / n < 0.9 * util[li]), None)
                    if lost is not None:
                        options.append((li, n, lost))
            if not options:  # lightly loaded: a LAG of many members down to one, below load
                li = int(util.argmax())
                n = max(2, math.ceil(1.0 / (0.7 * max(float(util[li]), 1e-3))))
                options = [(li, n, n - 1)]
            li, n, lost = options[int(rng.integers(len(options)))]
            params = {"members": float(n), "members_lost": float(lost)}
            return m.fault(FaultKind.CAPACITY_DEGRADED, links[li],
                           capacity_factor=(n - lost) / n), fade, params
        if scenario == "metric_misconfig":
            base = self._unit_util()
            for _ in range(20):
                lid = str(rng.choice(links))
                old = int(c.arc_metric[2 * m.link_index[lid]])
                new = int(rng.choice([1, old * 10, METRIC_MAX, max(1, old // 10)]))
                if new == old:
                    continue
                f = m.fault(FaultKind.METRIC_CHANGED, lid, metric=new)
                if np.abs(self._unit_util((f,)) - base).max() > 0.01:
                    params = {"old_metric": float(old), "new_metric": float(new)}
                    return f, fade, params
            return None, fade, params
        if scenario == "traffic_surge":
            sinks = sorted({c.node_ids[d] for d in c.demand_dst.tolist()})
            factor = float(rng.uniform(2.5, 8.0))
            params = {"surge_factor": factor}
            return m.fault(FaultKind.TRAFFIC_SURGE, str(rng.choice(sinks)),
                           surge_factor=factor), fade, params
        if scenario == "misalignment" and self.radio is not None:
            i = int(rng.integers(self.radio.n))
            step_db = float(rng.uniform(6.0, 20.0))
            fade[onset:, i] = step_db
            params = {"rsl_step_db": step_db}
            return m.fault(FaultKind.MISALIGNMENT, self.radio.link_ids[i]), fade, params
        if scenario == "rain_storm" and self.radio is not None:
            return self._storm(onset, steps, fade)
        if scenario == "cascading_overload":
            base = self._unit_util()
            post = np.array([self._unit_util((m.fault(FaultKind.LINK_DOWN, lid),)).max()
                             for lid in links])
            ratio = post / max(base.max(), 1e-12)
            li = int(rng.choice(np.argsort(-ratio)[:3]))
            level = min(1.25 / (post[li] * scale), 0.92 / (base.max() * scale))
            params = {"level": float(level)}
            return m.fault(FaultKind.LINK_DOWN, links[li]), fade, params
        return None, fade, params

    def _storm(self, onset: int, steps: int, fade: np.ndarray
               ) -> tuple[Fault | None, np.ndarray, dict[str, float]]:
        """A rain cell driven across a random radio link so that it arrives at ``onset``."""
        r, rng, cfg = self.radio, self.rng, self.config
        assert r is not None
        for _ in range(20):
            i = int(rng.integers(r.n))
            lat, lon = (r.a_lat[i] + r.b_lat[i]) / 2, (r.a_lon[i] + r.b_lon[i]) / 2
            speed = float(rng.uniform(25, 60))
            heading = float(rng.uniform(0, 360))
            dist_km = speed * onset * cfg.interval_s / 3600
            back = math.radians(heading + 180)
            cell = RainCell(
                latitude=float(lat + dist_km * math.cos(back) / 111.2),
                longitude=float(lon + dist_km * math.sin(back) / (111.2 * math.cos(
                    math.radians(lat)))),
                peak_mm_h=float(rng.uniform(50, 150)), radius_km=float(rng.uniform(1.5, 4)),
                speed_kmh=speed, heading_deg=heading)
            storm = Storm("synthetic cell", (cell,), steps * cfg.interval_s / 60,
                          cfg.interval_s / 60)
            field_ = StormField(r, storm)
            att = np.array([field_.attenuation(k * cfg.interval_s / 60)
                            for k in range(steps + 1)])
            if att.max() >= 3.0:
                fade[:] = att
                worst = int(att.max(axis=0).argmax())
                params = {"peak_mm_h": cell.peak_mm_h, "max_fade_db": float(att.max())}
                return self.model.fault(FaultKind.RAIN_FADE, r.link_ids[worst]), fade, params
        return None, fade, {}

    # ------------------------------------------------------------------ observations
    def _delayed(self, t: float) -> float | None:
        """When an event sent at ``t`` arrives (None: lost)."""
        n = self.config.noise
        if n.event_loss and self.rng.random() < n.event_loss:
            return None
        return t + (float(self.rng.exponential(n.event_delay_s)) if n.event_delay_s else 0.0)

    def _events(self, t: float, k: int, prev_up: np.ndarray, up: np.ndarray,
                fault: Fault | None, onset: int) -> list[dict[str, Any]]:
        c, out = self.compiled, []
        dead = (self.model.node_index[fault.element]
                if fault is not None and fault.kind is FaultKind.NODE_DOWN else -1)
        if dead >= 0 and k == onset and (te := self._delayed(t)) is not None:
            out.append(event(te, fault.element if fault else "", "node_down", "critical",
                             f"{fault.element if fault else ''} unreachable (ping, SNMP)"))
        went_down = np.flatnonzero(prev_up & ~up)
        for a in went_down.tolist():
            if c.arc_src[a] == dead:
                continue  # a dead router reports nothing
            if (te := self._delayed(t)) is not None:
                dev = c.node_ids[c.arc_src[a]]
                out.append(event(te, c.link_ids[a // 2], "link_down", "critical",
                                 f"{dev}: interface {c.link_ids[a // 2]} changed state to "
                                 "down"))
        for a in np.flatnonzero(~prev_up & up).tolist():
            if (te := self._delayed(t)) is not None:
                out.append(event(te, c.link_ids[a // 2], "link_up", "cleared",
                                 f"{c.node_ids[c.arc_src[a]]}: interface "
                                 f"{c.link_ids[a // 2]} changed state to up"))
        return out

    def _radio_records(self, t: float, mode: np.ndarray, cap: np.ndarray, fade: np.ndarray,
                       prev_mode: np.ndarray | None, acm: AcmState | None
                       ) -> list[dict[str, Any]]:
        r = self.radio
        assert r is not None and acm is not None
        at = np.where(mode >= 0, mode, r.top_mode)
        rsl = acm.rsl_clear_dbm[np.arange(r.n), at] - fade
        if self.config.noise.rsl_jitter_db:
            rsl = rsl + self.config.noise.rsl_jitter_db * self.rng.standard_normal(r.n)
        out: list[dict[str, Any]] = []
        for i, lid in enumerate(r.link_ids):
            name = r.mode_name(i, int(mode[i]))
            out.append({"kind": "radio", "time": t, "link": lid, "rsl_dbm": round(float(rsl[i]), 2),
                        "modulation": name} | ({"capacity_bps": float(cap[i])} if mode[i] >= 0
                                               else {}))
            if prev_mode is not None and mode[i] != prev_mode[i] and \
                    (te := self._delayed(t)) is not None:
                out.append(event(te, lid, "syslog", "minor" if mode[i] >= 0 else "major",
                                 f"{lid}: modulation {r.mode_name(i, int(prev_mode[i]))} -> "
                                 f"{name}"))
        return out

    # ------------------------------------------------------------------ label
    def _label(self, scenario: str, fault: Fault | None, fade: np.ndarray,
               params: dict[str, float], times: np.ndarray, onset: int, level: float,
               demand_bps: np.ndarray, trips: list[tuple[int, str]]) -> Label:
        c, cfg = self.compiled, self.config
        eid = f"ev{self.n_episodes:05d}"
        window = (float(times[0]), float(times[-1]))
        if fault is None:
            return Label(eid, scenario, FaultKind.NONE, "", (), window[0], window[0], *window,
                         params, ("no fault injected",), ())
        start_step = onset
        cap, up = c.arc_capacity_bps, c.arc_up
        elements = fault.links or (fault.element,)
        if fade.size and fade.max() > 0 and self.radio is not None:
            start_step = int(np.argmax(fade.max(axis=1) >= 1.0))
            worst = int(fade.sum(axis=1).argmax())
            acm = AcmState(self.radio)
            cap, up = acm.arc_state(c, *acm.update(fade[worst]))
            elements = tuple(self.radio.link_ids[i] for i in
                             np.flatnonzero(fade.max(axis=0) >= 3.0).tolist()) or elements
        rate = demand_bps * level
        before = simulate(c, demand_rate_bps=rate)
        tripped = [self.model.fault(FaultKind.LINK_DOWN, lid) for _, lid in trips]
        state = self.model.apply((fault, *tripped), cap, up)
        after = simulate(state.compiled, arc_up=state.arc_up,
                         demand_rate_bps=rate * state.demand_factor)
        chain, services = consequences(c, before, after, fault.describe(),
                                       [f"{lid} trips (overload) at "
                                        f"+{(k - onset) * cfg.interval_s:.0f} s"
                                        for k, lid in trips])
        params = dict(params) | ({"cascade_level": level} if level != 1.0 else {})
        return Label(eid, scenario, SCENARIOS[scenario], fault.element, elements,
                     float(times[start_step]), window[1], *window, params, tuple(chain),
                     services)
