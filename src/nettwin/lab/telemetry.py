"""What the lab's routers report, as a network's telemetry: interface counters every
sample, and a ``link_down`` / ``link_up`` event when a link's ports change status (as a
router's trap or syslog line would say it). Records in the observation format that
``nettwin ingest`` and ``nettwin diagnose`` read."""

from __future__ import annotations

from typing import Any

from nettwin.lab.frr import Lab


class Telemetry:
    """Successive samples of one lab; remembers link status to report its changes."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.link_up: dict[str, bool] = {}

    def sample(self) -> list[dict[str, Any]]:
        records = self.lab.counters()
        status: dict[str, bool] = {}
        for r in records:  # a link is down when either end says so
            status[r["interface"]] = status.get(r["interface"], True) and \
                r["oper_status"] == "up"
        t = max((r["time"] for r in records), default=0.0)
        for link, up in status.items():
            was = self.link_up.get(link)
            if was is not None and was != up:
                records.append({"kind": "event", "time": t, "object": link,
                                "event": "link_up" if up else "link_down",
                                "severity": "cleared" if up else "critical",
                                "message": f"interface {link} {'up' if up else 'down'}"})
        self.link_up = status
        return records
