"""One alarm book: the rules that derive alarms from the mirrored state, and the alarms'
lifecycle (raised, updated, cleared; acknowledged by an operator).

Rules (``derive_alarms``), evaluated on every applied batch:

- a link that is down: critical ``CommunicationsAlarm`` on the link, unless it is
  administratively down (shut on purpose: listed as down, no alarm, as routers do);
- an arc at or above ``MAJOR_UTILISATION`` (80 %) of its capacity now: major
  ``QualityOfServiceAlarm`` (threshold crossed) on the arc, critical at or above
  ``CRITICAL_UTILISATION`` (100 %);
- a service whose SLA breaks under the measured loads (when the twin assesses services):
  major ``slaViolation`` on the service;
- an arc the twin mispredicts (``LiveTwin.check_drift``): major ``modelDrift``.

An alarm whose condition goes away is cleared (kept, with its clear time); acknowledging
does not clear; clearing by hand forgets the condition, so if it persists a new alarm is
raised. The book keeps records in X.733/TMF642 terms; rendering them as TMF642 documents is
the API's business.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

MAJOR_UTILISATION = 0.8
CRITICAL_UTILISATION = 1.0

AlarmKey = tuple[str, str]  # (object id, alarm kind)


@dataclass(frozen=True)
class AlarmKind:
    """How a kind of condition is reported: X.733 alarm type, probable cause, object type."""

    alarm_type: str
    probable_cause: str
    object_type: str


KINDS: dict[str, AlarmKind] = {
    "CommunicationsAlarm": AlarmKind("CommunicationsAlarm", "lossOfSignal", "LogicalResource"),
    "QualityOfServiceAlarm": AlarmKind("QualityOfServiceAlarm", "thresholdCrossed",
                                       "LogicalResource"),
    "slaViolation": AlarmKind("QualityOfServiceAlarm", "slaViolation", "Service"),
    "modelDrift": AlarmKind("QualityOfServiceAlarm", "performanceDegraded", "LogicalResource"),
}
STATE_KINDS = ("CommunicationsAlarm", "QualityOfServiceAlarm", "slaViolation")  # re-derived


def utilisation_severity(utilisation: float) -> str | None:
    """The threshold rule: None below 80 %, major from 80 %, critical from 100 %."""
    if not utilisation >= MAJOR_UTILISATION:  # nan: not measured, no alarm
        return None
    return "critical" if utilisation >= CRITICAL_UTILISATION else "major"


def derive_alarms(link_ids: Sequence[str], link_up: np.ndarray, arc_labels: Sequence[str],
                  utilisation: np.ndarray, *, service_ids: Sequence[str] = (),
                  service_violated: np.ndarray | None = None,
                  service_worst_delay_s: np.ndarray | None = None,
                  admin_down: np.ndarray | None = None
                  ) -> tuple[dict[AlarmKey, str], dict[AlarmKey, str]]:
    """Every condition the state raises now: (key -> severity, key -> specific problem).
    ``admin_down``: links shut on purpose (no alarm)."""
    want: dict[AlarmKey, str] = {}
    text: dict[AlarmKey, str] = {}
    down = ~np.asarray(link_up, bool)
    if admin_down is not None:
        down &= ~np.asarray(admin_down, bool)
    for i in np.flatnonzero(down).tolist():
        want[link_ids[i], "CommunicationsAlarm"] = "critical"
        text[link_ids[i], "CommunicationsAlarm"] = "link down"
    util = np.nan_to_num(np.asarray(utilisation, float), nan=0.0)
    for a in np.flatnonzero(util >= MAJOR_UTILISATION).tolist():
        severity = utilisation_severity(float(util[a]))
        assert severity is not None
        want[arc_labels[a], "QualityOfServiceAlarm"] = severity
        text[arc_labels[a], "QualityOfServiceAlarm"] = f"utilisation {100 * util[a]:.0f} %"
    if service_violated is not None:
        for i in np.flatnonzero(service_violated).tolist():
            key = (service_ids[i], "slaViolation")
            want[key] = "major"
            worst = None if service_worst_delay_s is None else float(service_worst_delay_s[i])
            text[key] = "SLA violated, worst delay " + (
                f"{1e3 * worst:.1f} ms" if worst is not None and np.isfinite(worst)
                else "unbounded")
    return want, text


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _iso(t: float | None) -> str:
    if t is None or not np.isfinite(t):
        return _now()
    return datetime.fromtimestamp(t, UTC).isoformat()


@dataclass
class Alarm:
    id: str
    network_id: str
    object_id: str
    kind: str
    severity: str
    specific_problem: str
    raised: str = field(default_factory=_now)
    changed: str = field(default_factory=_now)
    cleared: str | None = None
    state: str = "raised"  # raised | updated | cleared
    ack_state: str = "unacknowledged"
    ack_user: str | None = None

    @property
    def alarm_type(self) -> str:
        return KINDS[self.kind].alarm_type

    @property
    def probable_cause(self) -> str:
        return KINDS[self.kind].probable_cause

    @property
    def object_type(self) -> str:
        return KINDS[self.kind].object_type


class AlarmBook:
    """The alarms of every mirrored network, with their history and acknowledgements.

    ``reconcile`` takes a twin's standing conditions (what ``TwinState`` derived, keyed by
    object and kind); listeners hear every alarm raised, updated, acknowledged or cleared."""

    def __init__(self) -> None:
        self.alarms: dict[str, Alarm] = {}
        self._active: dict[tuple[str, str, str], str] = {}  # (network, object, kind) -> id
        self.listeners: list[Callable[[Alarm], None]] = []
        self._lock = threading.RLock()

    def _tell(self, alarm: Alarm) -> None:
        for listener in list(self.listeners):
            listener(alarm)

    def reconcile(self, network_id: str, want: dict[AlarmKey, str], *,
                  problems: dict[AlarmKey, str] | None = None,
                  times: dict[AlarmKey, float] | None = None) -> None:
        """Make the network's standing alarms the conditions ``want`` (key -> severity):
        raise the new ones (and those cleared by hand whose condition persists), update a
        changed severity, clear the rest. The text of a standing alarm follows quietly."""
        problems, times = problems or {}, times or {}
        with self._lock:
            for (obj, kind), severity in want.items():
                key = (network_id, obj, kind)
                problem = problems.get((obj, kind), severity)
                when = _iso(times.get((obj, kind)))
                aid = self._active.get(key)
                if aid is None:
                    alarm = Alarm(uuid.uuid4().hex[:12], network_id, obj, kind, severity,
                                  problem, raised=when, changed=when)
                    self.alarms[alarm.id] = alarm
                    self._active[key] = alarm.id
                    self._tell(alarm)
                    continue
                alarm = self.alarms[aid]
                alarm.specific_problem = problem
                if alarm.severity != severity:
                    alarm.severity, alarm.state, alarm.changed = severity, "updated", when
                    self._tell(alarm)
            for key in [k for k in self._active if k[0] == network_id
                        and (k[1], k[2]) not in want]:
                alarm = self.alarms[self._active.pop(key)]
                alarm.state, alarm.severity = "cleared", "cleared"
                alarm.cleared = alarm.changed = _iso(times.get((key[1], key[2])))
                self._tell(alarm)

    def get(self, alarm_id: str) -> Alarm | None:
        return self.alarms.get(alarm_id)

    def acknowledge(self, alarm_id: str, user: str | None) -> Alarm:
        """Acknowledge (``user``) or take the acknowledgement back (None)."""
        alarm = self.alarms[alarm_id]
        alarm.ack_state = "acknowledged" if user is not None else "unacknowledged"
        alarm.ack_user = user
        alarm.changed = _now()
        self._tell(alarm)
        return alarm

    def clear(self, alarm_id: str) -> Alarm:
        """An operator cleared the alarm by hand: if its condition persists, the next batch
        raises a new alarm."""
        with self._lock:
            alarm = self.alarms[alarm_id]
            if alarm.state != "cleared":
                alarm.state, alarm.severity = "cleared", "cleared"
                alarm.cleared = alarm.changed = _now()
                for key, aid in list(self._active.items()):
                    if aid == alarm_id:
                        del self._active[key]
                self._tell(alarm)
        return alarm

    def of_network(self, network_id: str) -> list[Alarm]:
        return [a for a in self.alarms.values() if a.network_id == network_id]


def alarm_rows(alarms: dict[AlarmKey, str]) -> list[dict[str, Any]]:
    """The standing conditions as rows (object, type, severity), sorted."""
    return [{"object": k[0], "type": k[1], "severity": v} for k, v in sorted(alarms.items())]
