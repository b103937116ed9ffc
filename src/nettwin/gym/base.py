"""What every nettwin environment shares: the network, the traffic day, the stepped twin,
the metric ladder, events, observations, info and the map.

One step = one traffic interval: the agent's action changes the configuration, the twin
evaluates the next interval under it (full ECMP routing with cached per-destination state,
queueing per arc, per-demand delay and delivery, SLA verdicts), and the reward judges that
interval. ``observation_layout`` names the slices of the flat observation vector.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

from nettwin.engine import CompiledNetwork, SimulationOptions, compile_network
from nettwin.errors import SimulationError, ValidationError
from nettwin.gym.events import Event, EventKind, ResolvedEvent, parse_events, resolve_event
from nettwin.gym.stepper import Stepper, build_sla_units
from nettwin.gym.traffic import TrafficSeries, check_series, diurnal_series
from nettwin.model import Network
from nettwin.model.problems import Problem
from nettwin.radio.acm import AcmProfile
from nettwin.scenarios.apply import OSPF_MAX_METRIC

OBSERVATION_PARTS = ("utilisation", "delay", "sla", "traffic", "metric", "up", "time")


def metric_ladder(base_metric: np.ndarray, ratio: float, levels: int) -> np.ndarray:
    """Metric of every arc at each level -levels..levels: base x ratio^level, rounded,
    within 1..OSPF max metric. Row ``levels`` is the configured metric."""
    exponent = np.arange(-levels, levels + 1, dtype=np.float64)[:, None]
    table = np.rint(base_metric[None, :] * ratio ** exponent)
    table[levels] = base_metric
    return np.clip(table, 1, OSPF_MAX_METRIC).astype(np.int64)


class TwinEnv(gymnasium.Env[np.ndarray, Any]):
    """Base class: subclasses define the action space, ``_act`` and ``_reward``."""

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 4}  # noqa: RUF012
    default_observe: tuple[str, ...] = ("utilisation", "metric", "time")

    def __init__(self, network: Network | None = None,
                 traffic: TrafficSeries | np.ndarray | None = None,
                 events: Sequence[Event | str | dict[str, Any]] | None = None,
                 seed: int | None = None, *, options: SimulationOptions | None = None,
                 observe: Sequence[str] | None = None, episode_steps: int | None = None,
                 days: Sequence[int] | None = None, traffic_scale: float = 1.0,
                 interval_s: float = 300.0, sla_max_loss: float = 1e-3,
                 sla_max_delay_s: float = math.inf, metric_ratio: float = 1.5,
                 metric_levels: int = 4, change_cost: float = 0.01, sla_weight: float = 1.0,
                 radio_profiles: Mapping[str, AcmProfile] | None = None,
                 render_mode: str | None = None) -> None:
        if not isinstance(network, Network):
            raise ValidationError([Problem(
                f"{type(self).__name__}: network", "a nettwin Network is required",
                value=type(network).__name__,
                fix="gymnasium.make(ID, network=nettwin.io.load_network('abilene.xml'))")])
        if render_mode not in (None, "rgb_array"):
            raise SimulationError(f"render_mode {render_mode!r} is not supported "
                                  "(use 'rgb_array' or None)")
        observe = tuple(observe or self.default_observe)
        bad = [p for p in observe if p not in OBSERVATION_PARTS]
        if bad or not observe:
            raise ValidationError([Problem("observe", "unknown observation part", value=bad,
                                           fix=f"use some of {', '.join(OBSERVATION_PARTS)}")])
        # One problem per parameter out of range, naming it (not all five values at once).
        ranges = (("metric_ratio", metric_ratio, metric_ratio > 1, "> 1"),
                  ("metric_levels", metric_levels, metric_levels >= 1, ">= 1"),
                  ("change_cost", change_cost, change_cost >= 0, ">= 0"),
                  ("sla_weight", sla_weight, sla_weight >= 0, ">= 0"),
                  ("traffic_scale", traffic_scale, traffic_scale > 0, "> 0"))
        out_of_range = [Problem("environment", f"must be {bound}", field=name, value=value,
                                fix=f"give {name} {bound}")
                        for name, value, ok, bound in ranges if not ok]
        if out_of_range:
            raise ValidationError(out_of_range)
        self.network = network
        self.compiled: CompiledNetwork = compile_network(network)
        net = self.compiled
        if net.n_arcs == 0 or net.n_demands == 0:
            raise ValidationError([Problem("network", "needs links and demands",
                                           fix="load a traffic matrix onto the network")])
        self.options = options or SimulationOptions()
        self.render_mode = render_mode
        if traffic is None:
            series = diurnal_series(net, interval_s=interval_s, seed=0)
        elif isinstance(traffic, TrafficSeries):
            series = traffic
        else:
            series = TrafficSeries(np.asarray(traffic, np.float64), interval_s,
                                   max(1, round(86_400 / interval_s)))
        self.series = check_series(series.scaled(traffic_scale) if traffic_scale != 1
                                   else series, net)
        per_day = self.series.steps_per_day
        self.episode_steps = int(episode_steps or min(per_day, self.series.steps - 1))
        if not 1 <= self.episode_steps < self.series.steps:
            raise ValidationError([Problem("episode_steps", "must be >= 1 and shorter than "
                                           "the traffic series", value=episode_steps,
                                           fix=f"give at most {self.series.steps - 1}")])
        all_days = list(range(self.series.days))
        self.days = tuple(int(d) for d in (days if days is not None else all_days))
        if not self.days or any(d not in all_days for d in self.days):
            raise ValidationError([Problem("days", "unknown day of the traffic series",
                                           value=list(self.days),
                                           fix=f"use days in 0..{self.series.days - 1}")])
        self.events = parse_events(events)
        late = [e.kind.value for e in self.events if e.at_step >= self.episode_steps]
        if late:
            raise ValidationError([Problem("events", "at_step falls after the episode's end",
                                           value=late,
                                           fix=f"use at_step < {self.episode_steps}")])
        self.radio_profiles = radio_profiles
        self.sla = build_sla_units(net, default_max_loss=sla_max_loss,
                                   default_max_delay_s=sla_max_delay_s)
        self.stepper = Stepper(net, self.options, self.sla)
        self.n_links = net.n_arcs // 2
        self.metric_levels = metric_levels
        self.ladder = metric_ladder(net.arc_metric.astype(np.int64), metric_ratio,
                                    metric_levels)
        self.change_cost = change_cost
        self.sla_weight = sla_weight
        self.peak_rate_bps = np.maximum(self.series.rate_bps.max(axis=0), 1.0)
        self.observe = observe
        self.observation_layout = self._layout()
        size = max(s.stop for s in self.observation_layout.values())
        low = np.zeros(size)
        for part in ("metric", "time"):
            if part in self.observation_layout:
                low[self.observation_layout[part]] = -1.0
        high = np.full(size, np.inf)
        for part in ("sla", "metric", "time", "up"):
            if part in self.observation_layout:
                high[self.observation_layout[part]] = 1.0
        self.observation_space = spaces.Box(low, high, dtype=np.float64)
        self._seed = seed
        self._seeded = False
        # episode state
        self.level = np.zeros(self.n_links, np.int64)
        self.base_up = net.arc_up.copy()  # standby links count as up: link_up sleeps them
        self.link_up = np.ones(self.n_links, bool)  # the agent's side (sleep, standby)
        self.drained = np.zeros(net.n_nodes, bool)
        self.tripped = np.zeros(self.n_links, bool)
        # explicit paths (FailureRecovery detours): demand per slot, -1 free; arcs, -1 padded
        self.pin_demand = np.full_like(self.stepper.pin_demand[0], -1)
        self.pin_arc = np.full_like(self.stepper.pin_arc[0], -1)
        self.event: ResolvedEvent | None = None
        self._start = 0
        self._k = 0
        self._changes_total = 0

    # -- layout and observation ---------------------------------------------------------
    def _layout(self) -> dict[str, slice]:
        net = self.compiled
        sizes = {"utilisation": net.n_arcs, "delay": net.n_arcs, "sla": self.sla.n,
                 "traffic": net.n_demands, "metric": self.n_links, "up": net.n_arcs,
                 "time": 2}
        out, at = {}, 0
        for part in self.observe:
            out[part] = slice(at, at + sizes[part])
            at += sizes[part]
        return out

    def _observation(self) -> np.ndarray:
        s = self.stepper
        parts = []
        for part in self.observe:
            if part == "utilisation":
                parts.append(s.utilisation[0])
            elif part == "delay":
                parts.append(s.delay_s[0])
            elif part == "sla":
                parts.append(s.unit_violated[0].astype(np.float64))
            elif part == "traffic":
                parts.append(s.rate_bps[0] / self.peak_rate_bps)
            elif part == "metric":
                parts.append(self.level / self.metric_levels)
            elif part == "up":
                parts.append(s.up[0].astype(np.float64))
            else:
                step = self._start + self._k
                angle = 2 * math.pi * (step % self.series.steps_per_day) / \
                    self.series.steps_per_day
                parts.append(np.array([math.sin(angle), math.cos(angle)]))
        return np.concatenate(parts)

    # -- configuration -> stepper inputs -----------------------------------------------
    @property
    def series_step(self) -> int:
        """The traffic interval the twin shows now."""
        return self._start + self._k

    def _event_active(self) -> bool:
        return self.event is not None and self._k >= self.event.event.at_step

    def _load_inputs(self, s: Stepper, row: int = 0) -> None:
        """Write the current configuration, event and traffic into row ``row`` of ``s``."""
        net = self.compiled
        metric = s.metric[row]
        metric[:] = self.ladder[self.level.repeat(2) + self.metric_levels,
                                np.arange(net.n_arcs)]
        if self.drained.any():
            metric[self.drained[net.arc_src]] = self._drain_metric
        up = s.up[row]
        up[:] = self.base_up & self.link_up.repeat(2) & ~self.tripped.repeat(2)
        s.pin_demand[row] = self.pin_demand
        s.pin_arc[row] = self.pin_arc
        s.capacity_bps[row] = net.arc_capacity_bps
        s.rate_bps[row] = self.series.rate_bps[self.series_step]
        ev = self.event
        if ev is not None and self._event_active():
            up[ev.failed_arcs] = False
            if ev.surge_demands.size:
                s.rate_bps[row, ev.surge_demands] += ev.surge_bps
            if ev.storm_capacity_bps.size:
                i = min(self._k - ev.event.at_step, ev.storm_capacity_bps.shape[0] - 1)
                s.capacity_bps[row] = ev.storm_capacity_bps[i]
                up &= ev.storm_up[i]

    @property
    def _drain_metric(self) -> int:
        big = int(self.compiled.arc_metric.max(initial=0))
        return OSPF_MAX_METRIC if big < OSPF_MAX_METRIC else big + 1

    def _evaluate(self) -> None:
        self._load_inputs(self.stepper)
        self.stepper.step_first()
        ev = self.event
        if ev is not None and ev.event.kind is EventKind.CASCADE and self._event_active():
            # as scenarios.cascade: every link above the threshold trips, one round a step
            util = np.where(self.stepper.up[0], self.stepper.utilisation[0], 0.0)
            self.tripped |= util.reshape(-1, 2).max(axis=1) > ev.event.trip_utilisation

    # -- Gymnasium API -------------------------------------------------------------------
    def _draw_episode(self) -> None:
        """Start interval (and event) of the episode, from the seeded generator."""
        rng = self.np_random
        day = self.days[int(rng.integers(len(self.days)))]
        per_day = self.series.steps_per_day
        last = self.series.steps - 1 - self.episode_steps
        offset = int(rng.integers(per_day - self.episode_steps + 1)) \
            if self.episode_steps < per_day else 0
        self._start = min(day * per_day + offset, last)
        self.event = None
        if self.events:
            event = self.events[int(rng.integers(len(self.events)))]
            self.event = resolve_event(event, self.network, self.compiled, rng,
                                       steps=self.episode_steps,
                                       step_min=self.series.interval_s / 60.0,
                                       peak_rate_bps=self.series.rate_bps[self._start],
                                       radio_profiles=self.radio_profiles)

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        if seed is None and not self._seeded:
            seed = self._seed
        super().reset(seed=seed)
        self._seeded = True
        self.level[:] = 0
        self.link_up[:] = True
        self.drained[:] = False
        self.tripped[:] = False
        self.pin_demand[:] = -1
        self.pin_arc[:] = -1
        self._k = 0
        self._changes_total = 0
        self._draw_episode()
        self._evaluate()
        return self._observation(), self._info(0)

    def _info(self, changes: int) -> dict[str, Any]:
        s = self.stepper.summary[0]
        units = self.sla.n
        minutes = self.series.interval_s / 60.0
        return {
            "step": self._k, "series_step": self.series_step,
            "max_utilisation": float(s[0]), "unroutable_bps": float(s[1]),
            "queue_lost_bps": float(s[2]), "sla_units_violated": int(s[3]),
            "sla_units": units,
            "sla_minutes_kept": (units - float(s[3])) * minutes,
            "sla_minutes_total": units * minutes,
            "changes": changes, "changes_total": self._changes_total,
            "links_asleep": int((~self.link_up).sum()),
            "links_tripped": int(self.tripped.sum()),
            "destinations_rerouted": int(s[4]),
            "event": self.event.label if self.event is not None else None,
        }

    def _act(self, action: Any) -> int:
        raise NotImplementedError

    def _reward(self, changes: int, s: Stepper, row: int = 0) -> float:
        """The reward of the state in row ``row`` of ``s`` reached with ``changes``."""
        raise NotImplementedError

    def snapshot(self) -> tuple[np.ndarray, ...]:
        """The agent-controlled configuration (for one-step lookahead)."""
        return (self.level.copy(), self.link_up.copy(), self.drained.copy(),
                self.pin_demand.copy(), self.pin_arc.copy())

    def restore(self, snap: tuple[np.ndarray, ...]) -> None:
        (self.level[:], self.link_up[:], self.drained[:], self.pin_demand[:],
         self.pin_arc[:]) = snap

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._k >= self.episode_steps:
            raise SimulationError(f"the episode ended after {self.episode_steps} steps "
                                  "(truncated): call reset() before stepping again")
        changes = self._act(action)
        self._changes_total += changes
        self._k += 1
        self._evaluate()
        reward = self._reward(changes, self.stepper)
        truncated = self._k >= self.episode_steps
        return self._observation(), reward, False, truncated, self._info(changes)

    # -- metric actions shared by the environments -------------------------------------
    def _shift_level(self, link: int, move: int) -> int:
        """move: 0 up, 1 down, 2 reset. Returns 1 when the metric changed."""
        old = int(self.level[link])
        new = {0: min(old + 1, self.metric_levels), 1: max(old - 1, -self.metric_levels),
               2: 0}[move]
        before = self.ladder[old + self.metric_levels, 2 * link:2 * link + 2]
        after = self.ladder[new + self.metric_levels, 2 * link:2 * link + 2]
        self.level[link] = new
        return int((before != after).any())

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        from nettwin.gym.render import draw_utilisation_map

        return draw_utilisation_map(self.network, self.compiled, self.stepper.utilisation[0],
                                    self.stepper.up[0], title=self._title())

    def _title(self) -> str:
        s = self.stepper.summary[0]
        label = self.series.labels[self.series_step] if self.series.labels else \
            f"interval {self.series_step}"
        return (f"{self.spec.id if self.spec else type(self).__name__}  {label}  "
                f"MLU {100 * s[0]:.0f} %  SLA units violated {int(s[3])}/{self.sla.n}")
