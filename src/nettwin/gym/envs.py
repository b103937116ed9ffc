"""The three environments: traffic engineering, failure recovery, energy.

Discrete metric actions are numbered ``1 + 3 * link + move`` (move 0 up a level, 1 down,
2 back to the configured metric); action 0 changes nothing. Further actions of an
environment follow (drains, standby links, sleep/wake), listed by ``action_names()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from nettwin.errors import ValidationError
from nettwin.gym.base import TwinEnv
from nettwin.gym.detour import largest_demand_through, shortest_path_avoiding
from nettwin.gym.energy import count_cut_links
from nettwin.gym.events import Event, EventKind
from nettwin.gym.stepper import Stepper
from nettwin.model.problems import Problem

MOVES = ("up", "down", "reset")


class TrafficEngineeringEnv(TwinEnv):
    """Keep the network's maximum link utilisation low by changing IGP metrics over a day.

    Reward per interval: -MLU - sla_weight x (share of SLA units violated) - change_cost x
    (links whose metric changed). ``action_type='continuous'``: a Box(-1, 1) per link that
    sets every link's metric level at once (level = round(a x metric_levels)).
    """

    def __init__(self, *args: Any, action_type: str = "discrete", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if action_type not in ("discrete", "continuous"):
            raise ValidationError([Problem("action_type", "unknown action type",
                                           value=action_type, fix="discrete or continuous")])
        self.action_type = action_type
        self.action_space: spaces.Space[Any] = (
            spaces.Discrete(1 + 3 * self.n_links) if action_type == "discrete"
            else spaces.Box(-1.0, 1.0, (self.n_links,), np.float32))

    def action_names(self) -> list[str]:
        links = self.compiled.link_ids
        return ["no change"] + [f"{lid} metric {m}" for lid in links for m in MOVES]

    def _act(self, action: Any) -> int:
        if self.action_type == "continuous":
            a = np.clip(np.asarray(action, np.float64).reshape(-1), -1.0, 1.0)
            if a.shape != (self.n_links,):
                raise ValidationError([Problem("action", "one value per link",
                                               value=f"shape {a.shape}",
                                               fix=f"give {self.n_links} values in [-1, 1]")])
            new = np.rint(a * self.metric_levels).astype(np.int64)
            lv = self.metric_levels
            before = self.ladder[self.level.repeat(2) + lv, np.arange(2 * self.n_links)]
            after = self.ladder[new.repeat(2) + lv, np.arange(2 * self.n_links)]
            self.level[:] = new
            return int((before != after).reshape(-1, 2).any(axis=1).sum())
        n = int(action)
        if not 0 <= n < 1 + 3 * self.n_links:
            raise ValidationError([Problem("action", "out of range", value=n,
                                           fix=f"use 0..{3 * self.n_links}")])
        if n == 0:
            return 0
        return self._shift_level((n - 1) // 3, (n - 1) % 3)

    def _reward(self, changes: int, stepper: Stepper, row: int = 0) -> float:
        s = stepper.summary[row]
        return float(-s[0] - self.sla_weight * s[3] / max(1, self.sla.n)
                     - self.change_cost * changes)


class FailureRecoveryEnv(TwinEnv):
    """Restore SLAs after a rare event: each episode injects one event drawn from ``events``
    (default: fibre cut at the day's peak, SRLG cut if the network has SRLGs, node loss,
    surge toward a node, cascading overload, and a rain storm where links have radios).

    Actions: no change; metric up/down/reset per link; drain / undrain per node (OSPF max
    metric on its out-links); wake / put back a standby link (links that are down in the
    network as given, plus ``standby``); detour (an explicit path for the largest demand on
    the busiest arc, the shortest one avoiding that link; up to 8 at once); release every
    detour. Reward per interval: SLA-minutes kept (share of
    units in SLA x interval minutes) - change_cost x changes.
    """

    default_observe = ("utilisation", "up", "sla", "metric", "time")

    def __init__(self, *args: Any, standby: Sequence[str] = (), **kwargs: Any) -> None:
        kwargs.setdefault("episode_steps", 24)
        kwargs.setdefault("change_cost", 0.1)
        super().__init__(*args, **kwargs)
        links = list(self.compiled.link_ids)
        unknown = [s for s in standby if s not in links]
        if unknown:
            raise ValidationError([Problem("standby", "no such link", value=unknown,
                                           fix="name links of the network")])
        down = ~self.compiled.arc_up.reshape(-1, 2).any(axis=1)
        self.standby_links = np.array(sorted({*np.flatnonzero(down).tolist(),
                                              *(links.index(s) for s in standby)}), np.int64)
        self.base_up[(2 * self.standby_links[:, None] + np.arange(2)).ravel()] = True
        if not self.events:
            self.events = self._default_events()
        n = self.compiled.n_nodes
        self.action_space = spaces.Discrete(1 + 3 * self.n_links + n + self.standby_links.size
                                            + 2)

    def _default_events(self) -> tuple[Event, ...]:
        kinds = [EventKind.FIBRE_CUT, EventKind.NODE_LOSS, EventKind.SURGE, EventKind.CASCADE]
        if any(lk.srlgs for lk in self.network.links.values()):
            kinds.append(EventKind.SRLG_CUT)
        if any(lk.radio is not None for lk in self.network.links.values()):
            kinds.append(EventKind.RAIN_STORM)
        return tuple(Event(k) for k in kinds)

    def action_names(self) -> list[str]:
        links = self.compiled.link_ids
        return (["no change"] + [f"{lid} metric {m}" for lid in links for m in MOVES]
                + [f"drain/undrain {v}" for v in self.compiled.node_ids]
                + [f"wake/sleep standby {links[i]}" for i in self.standby_links.tolist()]
                + ["detour the largest demand off the busiest link", "release all detours"])

    def _draw_episode(self) -> None:
        super()._draw_episode()
        ev = self.event
        if ev is None:
            return
        per_day = self.series.steps_per_day
        day = self._start // per_day
        lo, hi = day * per_day, min((day + 1) * per_day, self.series.steps)
        peak = lo + int(np.argmax(self.series.rate_bps[lo:hi].sum(axis=1)))
        last = self.series.steps - 1 - self.episode_steps
        self._start = int(np.clip(peak - ev.event.at_step, 0, last))

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        out = super().reset(seed=seed, options=options)
        self.link_up[self.standby_links] = False
        self._evaluate()
        return self._observation(), out[1] | self._info(0)

    def _act(self, action: Any) -> int:
        a = int(action)
        if not 0 <= a < int(self.action_space.n):  # type: ignore[attr-defined]
            raise ValidationError([Problem("action", "out of range", value=a,
                                           fix=f"use 0..{self.action_space.n - 1}")])  # type: ignore[attr-defined]
        if a == 0:
            return 0
        a -= 1
        if a < 3 * self.n_links:
            return self._shift_level(a // 3, a % 3)
        a -= 3 * self.n_links
        if a < self.compiled.n_nodes:
            self.drained[a] = not self.drained[a]
            return 1
        a -= self.compiled.n_nodes
        if a < self.standby_links.size:
            link = int(self.standby_links[a])
            self.link_up[link] = not self.link_up[link]
            return 1
        if a == self.standby_links.size:
            return self._detour()
        released = int((self.pin_demand >= 0).sum())
        self.pin_demand[:] = -1
        self.pin_arc[:] = -1
        return released

    def _detour(self, tries: int = 5) -> int:
        """Pin the largest demand crossing the busiest arc to a path around its link (the
        next busiest arc when no path avoids it: a bridge)."""
        free = np.flatnonzero(self.pin_demand < 0)
        s = self.stepper
        if free.size == 0:
            return 0
        net = self.compiled
        util = np.where(s.up[0], s.utilisation[0], -1.0)
        skip = np.zeros(net.n_demands, np.bool_)
        skip[self.pin_demand[self.pin_demand >= 0]] = True
        metric, ok = s.metric[0], s.up[0]
        path = np.full(net.n_nodes, -1, np.int64)
        for arc in np.argsort(-util, kind="stable")[:tries].tolist():
            if util[arc] <= 0:
                break
            d = int(largest_demand_through(arc, net.destinations, net.dest_ptr,
                                           net.dest_demand, net.demand_src, s.rate_bps[0],
                                           net.in_ptr, net.in_arc, net.arc_src, net.arc_dst,
                                           metric, ok, s._dist[0], skip))
            if d < 0:
                continue
            path[:] = -1
            hops = shortest_path_avoiding(int(net.demand_src[d]), int(net.demand_dst[d]),
                                          arc, arc ^ 1, net.in_ptr, net.in_arc, net.out_ptr,
                                          net.out_arc, net.arc_src, net.arc_dst, metric, ok,
                                          path)
            if hops > 0:
                self.pin_demand[free[0]] = d
                self.pin_arc[free[0]] = path
                return 1
        return 0

    def _reward(self, changes: int, stepper: Stepper, row: int = 0) -> float:
        s = stepper.summary[row]
        minutes = self.series.interval_s / 60.0
        return float((1.0 - s[3] / max(1, self.sla.n)) * minutes - self.change_cost * changes)


class EnergyEnv(TwinEnv):
    """Put links to sleep over the day and wake them in time.

    Actions: no change; sleep link i; wake link i. Reward per interval: energy_weight x
    (share of links asleep) - sla_weight x (share of SLA units violated) - survive_weight x
    (1 if more single link failures would now cut traffic off than with every link awake:
    bridges of the topology itself are nobody's fault) - change_cost x changes.
    Energy: ``link_power_w`` per awake link (both line cards and optics), reported in kWh.
    """

    default_observe = ("utilisation", "up", "time")

    def __init__(self, *args: Any, link_power_w: float = 400.0, energy_weight: float = 1.0,
                 survive_weight: float = 1.0, **kwargs: Any) -> None:
        kwargs.setdefault("sla_weight", 2.0)
        super().__init__(*args, **kwargs)
        if not (link_power_w >= 0 and energy_weight >= 0 and survive_weight >= 0):
            raise ValidationError([Problem("energy", "weights and power must be >= 0",
                                           value=(link_power_w, energy_weight,
                                                  survive_weight))])
        self.link_power_w = link_power_w
        self.energy_weight = energy_weight
        self.survive_weight = survive_weight
        self.action_space = spaces.Discrete(1 + 2 * self.n_links)
        self._cut_links = 0
        net = self.compiled
        self.baseline_cut_links = int(count_cut_links(
            net.n_nodes, net.out_ptr, net.out_arc, net.arc_dst, self.base_up, net.demand_src,
            net.demand_dst, np.maximum(self.series.rate_bps.max(axis=0), 0.0)))

    def action_names(self) -> list[str]:
        return ["no change"] + [f"{verb} {lid}" for lid in self.compiled.link_ids
                                for verb in ("sleep", "wake")]

    def _act(self, action: Any) -> int:
        a = int(action)
        if not 0 <= a < 1 + 2 * self.n_links:
            raise ValidationError([Problem("action", "out of range", value=a,
                                           fix=f"use 0..{2 * self.n_links}")])
        if a == 0:
            return 0
        link, wake = divmod(a - 1, 2)
        changed = bool(self.link_up[link]) != bool(wake)
        self.link_up[link] = bool(wake)
        return int(changed)

    def cut_links(self, s: Stepper, row: int = 0) -> int:
        """Links whose single failure would cut traffic off, in row ``row`` of ``s``."""
        net = self.compiled
        return int(count_cut_links(net.n_nodes, net.out_ptr, net.out_arc, net.arc_dst,
                                   s.up[row], net.demand_src, net.demand_dst, s.rate_bps[row]))

    def _evaluate(self) -> None:
        super()._evaluate()
        self._cut_links = self.cut_links(self.stepper)

    def _info(self, changes: int) -> dict[str, Any]:
        asleep = int((~self.link_up).sum())
        hours = self.series.interval_s / 3600.0
        return super()._info(changes) | {
            "energy_kwh": (self.n_links - asleep) * self.link_power_w * hours / 1000.0,
            "energy_saved_kwh": asleep * self.link_power_w * hours / 1000.0,
            "single_failure_cut_links": self._cut_links}

    def _reward(self, changes: int, stepper: Stepper, row: int = 0) -> float:
        s = stepper.summary[row]
        asleep = float((~self.link_up).sum()) / self.n_links
        cut = self._cut_links if stepper is self.stepper else self.cut_links(stepper, row)
        return float(self.energy_weight * asleep - self.sla_weight * s[3] / max(1, self.sla.n)
                     - self.survive_weight * (cut > self.baseline_cut_links)
                     - self.change_cost * changes)
