"""Live state: each tick re-runs the network with the traffic it now carries, derives alarms
(TMF642-shaped) and pushes state and alarm events to stream subscribers.

Alarms: an arc at or above 80 % utilisation raises a major QualityOfServiceAlarm, at or above
100 % a critical one; a service whose SLA breaks raises a major one on the service; a link
that is down raises a critical CommunicationsAlarm. An alarm whose condition goes away is
cleared (kept, with its clear time); acknowledging does not clear.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from nettwin.engine import CompiledNetwork, simulate

MAJOR_UTILISATION = 0.8
HISTORY_TICKS = 600  # utilisation samples kept per network for the element panel


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class Alarm:
    id: str
    network_id: str
    object_id: str
    object_type: str
    alarm_type: str
    probable_cause: str
    severity: str
    specific_problem: str
    raised: str = field(default_factory=_now)
    changed: str = field(default_factory=_now)
    cleared: str | None = None
    state: str = "raised"
    ack_state: str = "unacknowledged"
    ack_user: str | None = None

    def document(self, base: str) -> dict[str, Any]:
        """TMF642 Alarm resource (v4 field names)."""
        doc: dict[str, Any] = {
            "id": self.id, "href": f"{base}/alarm/{self.id}", "@type": "Alarm",
            "alarmType": self.alarm_type, "perceivedSeverity": self.severity,
            "probableCause": self.probable_cause, "specificProblem": self.specific_problem,
            "state": self.state, "ackState": self.ack_state,
            "alarmRaisedTime": self.raised, "alarmChangedTime": self.changed,
            "sourceSystemId": f"nettwin/{self.network_id}",
            "alarmedObject": {"id": self.object_id, "@referredType": self.object_type},
        }
        if self.cleared:
            doc["alarmClearedTime"] = self.cleared
        if self.ack_user:
            doc["ackSystemId"] = "nettwin"
            doc["ackUserId"] = self.ack_user
        return doc


class LiveState:
    """Latest utilisation per network, the alarm list, and the stream subscribers."""

    def __init__(self) -> None:
        self.alarms: dict[str, Alarm] = {}
        self._active: dict[tuple[str, str, str], str] = {}  # (network, object, type) -> id
        self.latest: dict[str, dict[str, Any]] = {}
        self.history: dict[str, deque[tuple[str, np.ndarray]]] = {}
        self._subscribers: list[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Any]]] = []
        self._lock = threading.RLock()

    def subscribe(self) -> asyncio.Queue[Any]:
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=1000)
        with self._lock:
            self._subscribers.append((asyncio.get_running_loop(), queue))
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Any]) -> None:
        with self._lock:
            self._subscribers = [(lp, q) for lp, q in self._subscribers if q is not queue]

    def _publish(self, event: str, data: dict[str, Any]) -> None:
        with self._lock:
            targets = list(self._subscribers)
        for loop, queue in targets:
            def put(q: asyncio.Queue[Any] = queue) -> None:
                if not q.full():  # a slow client misses events rather than stalling the twin
                    q.put_nowait((event, data))
            loop.call_soon_threadsafe(put)

    def forget(self, alarm: Alarm) -> None:
        """An operator cleared the alarm by hand: a new occurrence raises a new alarm."""
        with self._lock:
            for key, aid in list(self._active.items()):
                if aid == alarm.id:
                    del self._active[key]
        self._publish("alarm", alarm.document(""))

    def _raise(self, key: tuple[str, str, str], object_type: str, cause: str, severity: str,
               problem: str) -> None:
        aid = self._active.get(key)
        if aid is None:
            alarm = Alarm(uuid.uuid4().hex[:12], key[0], key[1], object_type, key[2], cause,
                          severity, problem)
            self.alarms[alarm.id] = alarm
            self._active[key] = alarm.id
            self._publish("alarm", alarm.document(""))
            return
        alarm = self.alarms[aid]
        if alarm.severity != severity or alarm.specific_problem != problem:
            alarm.severity, alarm.specific_problem = severity, problem
            alarm.state, alarm.changed = "updated", _now()
            self._publish("alarm", alarm.document(""))

    def tick(self, network_id: str, compiled: CompiledNetwork, scale: float, *,
             arc_capacity_bps: np.ndarray | None = None, arc_up: np.ndarray | None = None,
             link_modes: dict[str, str] | None = None) -> dict[str, Any]:
        """Run the network at ``scale`` x its traffic (with the radio capacities and link
        states of this instant, when given), update alarms, publish the state."""
        net = compiled if arc_capacity_bps is None else dataclasses.replace(
            compiled, arc_capacity_bps=arc_capacity_bps)
        result = simulate(net, arc_up=arc_up,
                          demand_rate_bps=compiled.demand_rate_bps * scale)
        util = np.where(result.arc_up, result.arc_utilisation, 0.0)
        seen: set[tuple[str, str, str]] = set()
        with self._lock:
            for arc in np.flatnonzero(util >= MAJOR_UTILISATION).tolist():
                key = (network_id, compiled.arc_label(arc), "QualityOfServiceAlarm")
                severity = "critical" if util[arc] >= 1.0 else "major"
                self._raise(key, "LogicalResource", "thresholdCrossed", severity,
                            f"utilisation {100 * util[arc]:.0f} %")
                seen.add(key)
            for arc in np.flatnonzero(~result.arc_up).tolist():
                key = (network_id, compiled.arc_label(arc), "CommunicationsAlarm")
                self._raise(key, "LogicalResource", "lossOfSignal", "critical", "link down")
                seen.add(key)
            for i, sid in enumerate(compiled.service_ids):
                if result.services.violated[i]:
                    key = (network_id, sid, "QualityOfServiceAlarm")
                    worst = result.services.worst_delay_s[i]
                    self._raise(key, "Service", "slaViolation", "major",
                                "SLA violated, worst delay "
                                + (f"{1e3 * worst:.1f} ms" if math.isfinite(worst)
                                   else "unbounded"))
                    seen.add(key)
            for key in [k for k in self._active if k[0] == network_id and k not in seen]:
                alarm = self.alarms[self._active.pop(key)]
                alarm.state, alarm.severity = "cleared", "cleared"
                alarm.cleared = alarm.changed = _now()
                self._publish("alarm", alarm.document(""))
        now = _now()
        state = {"network_id": network_id, "time": now, "scale": scale,
                 "max_utilisation": float(util.max(initial=0.0)),
                 "arcs": [{"arc": compiled.arc_label(a), "utilisation": float(util[a]),
                           "up": bool(result.arc_up[a])}
                          for a in range(compiled.n_arcs)],
                 "link_modes": link_modes or {}}
        self.latest[network_id] = state
        self.history.setdefault(network_id, deque(maxlen=HISTORY_TICKS)).append((now, util))
        self._publish("state", state)
        return state


def diurnal_scale(t_s: float, period_s: float = 600.0, seed: int = 0) -> float:
    """Simulated live traffic: a daily cycle compressed into ``period_s`` with 5 % noise."""
    rng = np.random.default_rng(seed + int(t_s))
    return float(0.75 + 0.35 * math.sin(2 * math.pi * t_s / period_s)
                 + 0.05 * rng.standard_normal())
