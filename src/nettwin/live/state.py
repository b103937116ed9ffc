"""The mirrored state, updated incrementally batch by batch.

Counters become rates: for each port, ``8 * (octets - previous octets) / (t - previous t)``;
a sample older than or equal to the port's last one is a duplicate (ignored, so a replay is
harmless); wraps, resets and implausible jumps are told apart by ``live.counters``. The rate
of an arc is the latest rate measured on its sending port. Link oper status comes from
``oper_status`` on counters and from link events (a link is down if either end says so);
radio readings set the modulation (and, when they carry it, the capacity the utilisation is
measured against). Alarms are derived by the rules of :mod:`nettwin.live.alarms`; an alarm
clears when its condition goes away. With ``assess_services`` the SLAs are checked on the
measured loads (queueing on each arc at its measured rate, along the services' ECMP paths).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nettwin.engine import CompiledNetwork, SimulationOptions, compile_network
from nettwin.engine.path_metrics import path_metrics_all
from nettwin.engine.simulate import (
    ServiceReport,
    queue_arcs,
    queue_bursty_measured,
    route,
    service_report,
)
from nettwin.live.alarms import STATE_KINDS, AlarmKey, alarm_rows, derive_alarms
from nettwin.live.counters import Step, counter_steps, implausible_letters, rate_margin
from nettwin.live.observations import Batch, InterfaceMap
from nettwin.model import Network


@dataclass
class Changes:
    """What one batch changed: what the store appends."""

    rates: list[tuple[float, int, float]] = field(default_factory=list)  # (t, arc, bps)
    counters: list[tuple[int, float, float, float]] = field(default_factory=list)  # port,t,o,d
    link_status: list[tuple[float, str, bool]] = field(default_factory=list)
    radio: list[tuple[float, str, str | None, float | None]] = field(default_factory=list)
    events: list[tuple[float, str, str, str, str]] = field(default_factory=list)
    alarms_raised: list[tuple[str, str, str]] = field(default_factory=list)  # object,type,sev
    alarms_cleared: list[tuple[str, str]] = field(default_factory=list)
    duplicates: int = 0
    resets: int = 0
    wraps: int = 0  # 32/64-bit counter wraps bridged
    time: float = float("-inf")  # the observations' time after the batch
    alarm_time: dict[tuple[str, str], float] = field(default_factory=dict)  # else ``time``


class TwinState:
    """Current state of one mirrored network."""

    def __init__(self, network: Network, compiled: CompiledNetwork | None = None, *,
                 assess_services: bool = False) -> None:
        self.network = network
        self.compiled = compiled or compile_network(network)
        self.assess_services = assess_services and bool(self.compiled.service_ids)
        self.arc_capacity_bps = self.compiled.arc_capacity_bps.copy()  # radio: as reported
        self.services: ServiceReport | None = None  # SLAs on the measured loads
        self.ports = InterfaceMap(network)
        n_ports, m = len(self.ports), self.compiled.n_arcs
        self.last_time = np.full(n_ports, -np.inf)
        self.last_octets = np.full(n_ports, np.nan)
        self.arc_rate_bps = np.full(m, np.nan)
        self.arc_rate_time = np.full(m, -np.inf)
        self.last_drop_packets = np.full(n_ports, np.nan)
        self.arc_drop_pps = np.full(m, np.nan)  # out_drops: packets/s at the sender
        self.port_down = np.zeros(n_ports, bool)
        self.event_down: dict[str, bool] = {}  # link -> down by event
        self.link_time: dict[str, float] = {}  # link -> time of its latest status report
        self.link_ids = tuple(network.links)
        self.link_up = np.array([lk.is_up for lk in network.links.values()])
        self.modulation: dict[str, str | None] = {}
        self.rsl_dbm: dict[str, float | None] = {}
        self.alarms: dict[AlarmKey, str] = {}  # (object, kind) -> severity
        self.alarm_problems: dict[AlarmKey, str] = {}  # (object, kind) -> what is wrong
        self.samples = 0
        self.time = -np.inf
        self.rate_margin = rate_margin()  # rates above capacity x this are dead letters

    def carry_over(self, old: TwinState) -> None:
        """Take the measured state of the same ports, arcs and links from ``old`` (the
        mirrored network changed shape: a topology update)."""
        for key, p in self.ports.ports.items():
            q = old.ports.ports.get(key)
            if q is not None:
                self.last_time[p], self.last_octets[p] = old.last_time[q], old.last_octets[q]
                self.last_drop_packets[p] = old.last_drop_packets[q]
                self.port_down[p] = old.port_down[q]
        old_arcs = {old.compiled.arc_label(a): a for a in range(old.compiled.n_arcs)}
        for a in range(self.compiled.n_arcs):
            b = old_arcs.get(self.compiled.arc_label(a))
            if b is not None:
                self.arc_rate_bps[a], self.arc_rate_time[a] = old.arc_rate_bps[b], \
                    old.arc_rate_time[b]
                self.arc_drop_pps[a] = old.arc_drop_pps[b]
                self.arc_capacity_bps[a] = old.arc_capacity_bps[b]
        old_up = dict(zip(old.link_ids, old.link_up.tolist(), strict=True))
        for i, lid in enumerate(self.link_ids):
            if lid in old_up:
                self.link_up[i] = old_up[lid] and self.network.links[lid].admin_up
        self.event_down, self.link_time = dict(old.event_down), dict(old.link_time)
        self.modulation, self.rsl_dbm = dict(old.modulation), dict(old.rsl_dbm)
        self.alarms, self.samples, self.time = dict(old.alarms), old.samples, old.time
        self.alarm_problems = dict(old.alarm_problems)

    # ------------------------------------------------------------------ resume
    def restore_counters(self, rows: list[tuple[int, float, float, float]]) -> None:
        """Last counter values per port, as kept by the store (restart without double
        counting)."""
        for port, t, octets, drops in rows:
            if 0 <= port < len(self.last_time) and t > self.last_time[port]:
                self.last_time[port], self.last_octets[port] = t, octets
                self.last_drop_packets[port] = drops

    def rewind_counters(self, rows: list[tuple[int, float, float, float]]) -> None:
        """Forget the counter values applied since the store's (a batch the store failed
        was applied here first) and take the store's again, as a restart would: that batch
        sent again is differenced anew instead of read as duplicates."""
        self.last_time[:] = -np.inf
        self.last_octets[:] = np.nan
        self.last_drop_packets[:] = np.nan
        self.restore_counters(rows)

    # ------------------------------------------------------------------ apply
    def apply(self, batch: Batch) -> Changes:
        ch = Changes()
        # per link, when in this batch it went down (first report) / came up (last one):
        # the time its status change is stamped with, not the batch's latest report
        self._down_since: dict[str, float] = {}
        self._up_since: dict[str, float] = {}
        if batch.n_counters:
            self._counters(batch, ch)
        for ev in batch.events:
            ch.events.append((ev.time, ev.object_id, ev.event, ev.severity, ev.message))
            if ev.event in ("link_down", "link_up"):
                self.event_down[ev.object_id] = ev.event == "link_down"
                self.link_time[ev.object_id] = max(ev.time,
                                                   self.link_time.get(ev.object_id, -np.inf))
                self._since(ev.object_id, ev.event == "link_down", ev.time)
            self.time = max(self.time, ev.time)
        for r in batch.radio:
            self.modulation[r.link] = r.modulation
            self.rsl_dbm[r.link] = r.rsl_dbm
            if r.capacity_bps is not None:
                i = self.link_ids.index(r.link)
                self.arc_capacity_bps[2 * i:2 * i + 2] = r.capacity_bps
            ch.radio.append((r.time, r.link, r.modulation, r.rsl_dbm))
            self.time = max(self.time, r.time)
        self._links(ch)
        self._alarms(ch)
        self.samples += batch.n_good
        ch.time = self.time
        return ch

    def _counters(self, batch: Batch, ch: Changes) -> None:
        order = np.lexsort((batch.time, batch.port))
        port, t = batch.port[order], batch.time[order]
        octets, drops, oper = batch.out_octets[order], batch.out_drop_packets[order], \
            batch.oper_up[order]
        bits = batch.counter_bits[order]
        # status first: the latest status per port wins
        self.time = max(self.time, float(t.max()))
        has_status = oper >= 0
        if has_status.any():
            idx = np.flatnonzero(has_status)
            p_s, t_s, d_s = port[idx], t[idx], oper[idx] == 0  # by port, then time
            starts = np.flatnonzero(np.r_[True, p_s[1:] != p_s[:-1]]).tolist()
            for s, e in zip(starts, [*starts[1:], p_s.size], strict=True):
                final = bool(d_s[e - 1])
                differ = np.flatnonzero(d_s[s:e] != final)
                if differ.size or bool(self.port_down[p_s[s]]) != final:
                    k = s + int(differ[-1]) + 1 if differ.size else s
                    self._since(self.link_ids[self.ports.port_arc[p_s[s]] // 2], final,
                                float(t_s[k]))
            last_of = np.unique(port[idx][::-1], return_index=True)
            sel = idx[::-1][last_of[1]]
            self.port_down[port[sel]] = oper[sel] == 0
            for p_, t_ in zip(port[sel].tolist(), t[sel].tolist(), strict=True):
                lid = self.link_ids[self.ports.port_arc[p_] // 2]
                self.link_time[lid] = max(t_, self.link_time.get(lid, -np.inf))
        ok = ~np.isnan(octets)
        port, t, octets, drops, bits = port[ok], t[ok], octets[ok], drops[ok], bits[ok]
        if port.size == 0:
            return
        # duplicates: not newer than the port's last state, or repeating a time in the batch
        first = np.ones(port.size, bool)
        first[1:] = port[1:] != port[:-1]
        repeat = np.zeros(port.size, bool)
        repeat[1:] = ~first[1:] & (t[1:] <= t[:-1])
        fresh = (t > self.last_time[port]) & ~repeat
        ch.duplicates += int((~fresh).sum())
        port, t, octets, drops, bits = port[fresh], t[fresh], octets[fresh], drops[fresh], \
            bits[fresh]
        if port.size == 0:
            return
        first = np.ones(port.size, bool)
        first[1:] = port[1:] != port[:-1]
        prev_t = np.empty_like(t)
        prev_o = np.empty_like(octets)
        prev_t[1:], prev_o[1:] = t[:-1], octets[:-1]
        prev_t[first] = self.last_time[port[first]]
        prev_o[first] = self.last_octets[port[first]]
        dt = t - prev_t
        arcs = self.ports.port_arc[port]
        steps = counter_steps(prev_o, octets, dt, self.compiled.arc_capacity_bps[arcs],
                              self.rate_margin, bits)
        valid, rate = steps.valid, steps.rate_bps
        ch.resets += steps.count(Step.RESET)
        ch.wraps += steps.count(Step.WRAP32) + steps.count(Step.WRAP64)
        batch.dead.extend(implausible_letters(self.ports, steps, port, t, octets, arcs,
                                              self.compiled.arc_capacity_bps,
                                              self.rate_margin))
        prev_d = np.empty_like(drops)
        prev_d[1:] = drops[:-1]
        prev_d[first] = self.last_drop_packets[port[first]]
        drop_rate = (drops - prev_d) / np.where(dt > 0, dt, 1.0)
        good = np.flatnonzero(valid)
        ch.rates.extend(zip(t[good].tolist(), arcs[good].tolist(), rate[good].tolist(),
                            strict=True))
        # latest sample per port -> port state and arc rate
        last = np.ones(port.size, bool)
        last[:-1] = port[:-1] != port[1:]
        li = np.flatnonzero(last)
        self.last_time[port[li]] = t[li]
        self.last_octets[port[li]] = octets[li]
        self.last_drop_packets[port[li]] = drops[li]
        ch.counters.extend(zip(port[li].tolist(), t[li].tolist(), octets[li].tolist(),
                               drops[li].tolist(), strict=True))
        if good.size:
            g_arcs, g_t, g_rate = arcs[good], t[good], rate[good]
            # keep the newest valid rate per arc
            o = np.lexsort((g_t, g_arcs))
            g_arcs, g_t, g_rate = g_arcs[o], g_t[o], g_rate[o]
            tail = np.ones(g_arcs.size, bool)
            tail[:-1] = g_arcs[:-1] != g_arcs[1:]
            newer = g_t[tail] >= self.arc_rate_time[g_arcs[tail]]
            a = g_arcs[tail][newer]
            self.arc_rate_bps[a] = g_rate[tail][newer]
            self.arc_rate_time[a] = g_t[tail][newer]
            g_drop = drop_rate[good][o][tail][newer]
            self.arc_drop_pps[a] = np.where(g_drop >= 0, g_drop, np.nan)
        self.time = max(self.time, float(t.max()))

    def _since(self, lid: str, down: bool, t: float) -> None:
        if down:
            self._down_since[lid] = min(t, self._down_since.get(lid, np.inf))
        else:
            self._up_since[lid] = max(t, self._up_since.get(lid, -np.inf))

    def _links(self, ch: Changes) -> None:
        down_ports = np.flatnonzero(self.port_down)
        down = {self.link_ids[self.ports.port_arc[p] // 2] for p in down_ports.tolist()}
        down |= {lk for lk, d in self.event_down.items() if d}
        for i, lid in enumerate(self.link_ids):
            up = lid not in down and self.network.links[lid].admin_up
            if up != bool(self.link_up[i]):
                self.link_up[i] = up
                t = (self._up_since if up else self._down_since).get(
                    lid, self.link_time.get(lid, self.time))
                ch.link_status.append((t, lid, up))
                ch.alarm_time[(lid, "CommunicationsAlarm")] = t

    def _alarms(self, ch: Changes) -> None:
        c = self.compiled
        violated = worst = None
        if self.assess_services and np.isfinite(self.arc_rate_bps).any():
            self.services = self.measured_services()
            violated, worst = self.services.violated, self.services.worst_delay_s
        want, self.alarm_problems = derive_alarms(
            self.link_ids, self.link_up, [c.arc_label(a) for a in range(c.n_arcs)],
            self.utilisation(), service_ids=c.service_ids, service_violated=violated,
            service_worst_delay_s=worst,
            admin_down=np.array([not lk.admin_up for lk in self.network.links.values()]))
        if violated is None:  # not assessed this batch: service alarms stand as they were
            want |= {k: v for k, v in self.alarms.items() if k[1] == "slaViolation"}
        for key, sev in want.items():
            if self.alarms.get(key) != sev:
                ch.alarms_raised.append((key[0], key[1], sev))
        for key in {k for k in self.alarms if k[1] in STATE_KINDS} - set(want):
            ch.alarms_cleared.append(key)
        # others (drift) kept as they are
        self.alarms = {k: v for k, v in self.alarms.items() if k[1] not in STATE_KINDS} | want

    def measured_services(self) -> ServiceReport:
        """SLAs under the measured loads: each arc queued at its measured rate (unmeasured
        arcs idle) against its capacity now, delays summed along the ECMP paths of the
        links as they are. Arcs that the plan's bursty demands cross are queued as
        ``simulate`` queues them (MMPP/G/1/K), the bursts' moments routed over the links as
        they are at the plan's rates and scaled with each arc's measured rate over its
        planned one (the demands on an arc taken to move together)."""
        c = self.compiled
        up = self.arc_up()
        net = dataclasses.replace(c, arc_capacity_bps=self.arc_capacity_bps)
        load = np.where(up, np.nan_to_num(self.arc_rate_bps, nan=0.0), 0.0)
        options = SimulationOptions()
        routing = route(net, up, c.demand_rate_bps)  # the paths, and the planned loads
        q, arc_delay = queue_arcs(net, options, load)
        q, arc_delay = queue_bursty_measured(net, options, up, load, routing.load_bps, q,
                                             arc_delay)
        k = c.n_demands
        mean, worst, delivered = np.empty(k), np.empty(k), np.empty(k)
        hops, signature, routed = np.empty(k), np.empty(k), np.empty(k, bool)
        path_metrics_all(c.n_nodes, c.destinations, c.dest_ptr, c.dest_demand, c.demand_src,
                         c.out_ptr, c.out_arc, c.arc_dst, c.arc_metric, up, arc_delay,
                         1.0 - q.loss, c.arc_signature, routing.dist, routing.order,
                         routing.count, routing.n_chunks, mean, worst, delivered, hops,
                         signature, routed)
        return service_report(c, worst, np.where(routed, 1.0 - delivered, 1.0), routed)

    # ------------------------------------------------------------------ views
    def arc_up(self) -> np.ndarray:
        """Arcs up as observed (a link is down when either end or an event says so)."""
        return np.repeat(self.link_up, 2)

    def utilisation(self) -> np.ndarray:
        """Measured rate over the capacity now (nan: not measured yet)."""
        return np.asarray(self.arc_rate_bps / self.arc_capacity_bps)

    def snapshot(self) -> dict[str, Any]:
        """The mirrored state now, as every caller shows it (API, stream, command line):
        per arc rate, capacity, utilisation (None: not measured), drops and status."""
        util = self.utilisation()
        measured = util[np.isfinite(util)]
        c = self.compiled

        def num(x: float) -> float | None:
            return None if np.isnan(x) else float(x)

        return {
            "time": self.time if np.isfinite(self.time) else None, "samples": self.samples,
            "max_utilisation": float(measured.max()) if measured.size else None,
            "links_down": [lid for i, lid in enumerate(self.link_ids) if not self.link_up[i]],
            "arcs": [{"arc": c.arc_label(a), "rate_bps": num(self.arc_rate_bps[a]),
                      "capacity_bps": float(self.arc_capacity_bps[a]),
                      "utilisation": num(util[a]), "drops_pps": num(self.arc_drop_pps[a]),
                      "up": bool(self.link_up[a // 2])}
                     for a in range(c.n_arcs)],
            "modulation": dict(self.modulation),
            "alarms": [row | {"problem": self.alarm_problems.get((row["object"], row["type"]))}
                       for row in alarm_rows(self.alarms)],
        }
