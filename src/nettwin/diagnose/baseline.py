"""The correlation baseline a NOC's alarm console gives: the element with the most alarms
(ties: the earliest), its kind read from the alarm (link/node down; radio syslog -> rain
fade; utilisation/drops syslog -> capacity degraded); with no alarm at all, the arc whose
rate changed most (a metric change, or a surge when traffic grew)."""

from __future__ import annotations

import math

import numpy as np

from nettwin.diagnose.observed import ObservedWindow
from nettwin.model import Network
from nettwin.synth.faults import FaultKind


def correlate(network: Network, obs: ObservedWindow, top: int = 3
              ) -> list[tuple[FaultKind, str]]:
    """Ranked (kind, element) by alarm count, then by the earliest alarm."""
    count: dict[tuple[FaultKind, str], int] = {}
    first: dict[tuple[FaultKind, str], float] = {}
    radio = set(obs.radio_links)
    for e in obs.events:
        if e.event in ("link_up", "node_up") or e.severity in ("cleared", "info"):
            continue
        if e.event == "node_down":
            key = (FaultKind.NODE_DOWN, e.object_id)
        elif e.event == "link_down":
            key = (FaultKind.LINK_DOWN, e.object_id)
        elif e.object_id in radio and "modulation" in e.message:
            key = (FaultKind.RAIN_FADE, e.object_id)
        else:
            key = (FaultKind.CAPACITY_DEGRADED, e.object_id)
        count[key] = count.get(key, 0) + 1
        first[key] = min(first.get(key, math.inf), e.time)
    ranked = sorted(count, key=lambda k: (-count[k], first[k]))
    if len(ranked) < top:  # no alarm: the arc whose rate moved most
        r = obs.carried_bps
        half = r.shape[0] // 2
        seen = np.isfinite(r)
        before = np.nansum(r[:half], axis=0) / np.maximum(seen[:half].sum(axis=0), 1)
        after = np.nansum(r[half:], axis=0) / np.maximum(seen[half:].sum(axis=0), 1)
        change = np.nan_to_num(np.abs(after - before) / np.maximum(before, 1.0))
        links = tuple(network.links)
        grew = float(np.nansum(after)) > 1.1 * float(np.nansum(before))
        for a in np.argsort(-change).tolist():
            key = (FaultKind.TRAFFIC_SURGE, network.links[links[a // 2]].b) if grew else \
                (FaultKind.METRIC_CHANGED, links[a // 2])
            if key not in ranked:
                ranked.append(key)
            if len(ranked) >= top:
                break
    return ranked[:top] or [(FaultKind.NONE, "")]
