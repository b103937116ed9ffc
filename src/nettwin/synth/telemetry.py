"""From a per-step network state to what routers report: counters (out_octets, out_packets,
out_drops, oper status) per port, radio readings, events and threshold alarms, with realistic noise.

Counters are the engine's carried rate integrated over each interval: carried = offered x
(1 - loss) and drops = offered x loss on every arc, as the engine's queueing model gives them
(with the default fluid model, an arc over capacity carries its capacity and drops the rest).
Each arc is counted where it leaves its node (device = sending node, interface = link id),
the convention of ``live.observations``: octets in bytes, ``out_packets`` and ``out_drops`` in
packets (as SNMP ifHCOutUcastPkts / ifOutDiscards count them) of the engine's mean packet
size."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nettwin.engine import CompiledNetwork, SimulationOptions

UTILISATION_ALARM = 0.9  # a "high utilisation" syslog when an arc crosses it upward
DROP_ALARM = 1e-3  # an "output drops" syslog when the dropped fraction crosses it


@dataclass(frozen=True)
class Noise:
    """Measurement noise. All zero gives counters exactly equal to the engine's loads."""

    counter_jitter: float = 0.01  # relative, per port and sample (polling jitter)
    demand_jitter: float = 0.03  # relative, per demand and step (traffic burstiness)
    missing_samples: float = 0.01  # probability a counter sample is lost
    event_delay_s: float = 20.0  # mean (exponential) delay of an event behind its cause
    event_loss: float = 0.05  # probability a syslog/trap is lost (UDP)
    counter_resets: float = 0.1  # probability per episode that one port's counters reset
    rsl_jitter_db: float = 0.3  # receiver level reading noise

    @classmethod
    def off(cls) -> Noise:
        return cls(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


class PortCounters:
    """Cumulative out_octets (bytes), out_packets and out_drops (packets) per arc, reported
    by its sending node. Packets are ``packet_bytes`` long (the engine's mean packet size)."""

    def __init__(self, compiled: CompiledNetwork,
                 packet_bytes: float = SimulationOptions.mean_packet_bytes) -> None:
        self.compiled = compiled
        self.packet_bytes = packet_bytes
        self.octets = np.zeros(compiled.n_arcs)
        self.packets = np.zeros(compiled.n_arcs)
        self.drop_packets = np.zeros(compiled.n_arcs)
        self.device = [compiled.node_ids[s] for s in compiled.arc_src.tolist()]
        self.interface = [compiled.link_ids[a // 2] for a in range(compiled.n_arcs)]

    def advance(self, interval_s: float, carried_bps: np.ndarray, dropped_bps: np.ndarray
                ) -> None:
        carried = np.maximum(carried_bps, 0.0) * interval_s / 8.0
        self.octets += carried
        self.packets += carried / self.packet_bytes
        self.drop_packets += np.maximum(dropped_bps, 0.0) * interval_s / 8.0 / self.packet_bytes

    def reset(self, arc: int) -> None:
        self.octets[arc] = 0.0
        self.packets[arc] = 0.0
        self.drop_packets[arc] = 0.0

    def records(self, t: float, arc_up: np.ndarray, reporting: np.ndarray,
                rng: np.random.Generator, missing: float) -> list[dict[str, Any]]:
        """One counter record per arc whose sending node reports (and whose sample is not
        lost). Counts are whole numbers, as on a router."""
        keep = reporting & (rng.random(self.octets.size) >= missing) if missing else reporting
        octets = np.floor(self.octets).tolist()
        packets = np.floor(self.packets).tolist()
        drops = np.floor(self.drop_packets).tolist()
        up = arc_up.tolist()
        return [{"kind": "counter", "time": t, "device": self.device[a],
                 "interface": self.interface[a], "out_octets": octets[a],
                 "out_packets": packets[a], "out_drops": drops[a],
                 "oper_status": "up" if up[a] else "down",
                 "counter_bits": 64}
                for a in np.flatnonzero(keep).tolist()]


def event(t: float, obj: str, kind: str, severity: str, message: str) -> dict[str, Any]:
    return {"kind": "event", "time": t, "object": obj, "event": kind, "severity": severity,
            "message": message}


def threshold_alarms(compiled: CompiledNetwork, t: float, util_before: np.ndarray,
                     util_now: np.ndarray, loss_before: np.ndarray, loss_now: np.ndarray
                     ) -> list[dict[str, Any]]:
    """Syslog alarms of arcs crossing the utilisation or drop thresholds upward."""
    out = []
    for a in np.flatnonzero((util_now > UTILISATION_ALARM)
                            & (util_before <= UTILISATION_ALARM)).tolist():
        out.append(event(t, compiled.link_ids[a // 2], "syslog", "warning",
                         f"{compiled.arc_label(a)}: utilisation {100 * util_now[a]:.0f} % "
                         f"above {100 * UTILISATION_ALARM:.0f} %"))
    for a in np.flatnonzero((loss_now > DROP_ALARM) & (loss_before <= DROP_ALARM)).tolist():
        out.append(event(t, compiled.link_ids[a // 2], "syslog", "major",
                         f"{compiled.arc_label(a)}: output drops {100 * loss_now[a]:.2g} %"))
    return out
