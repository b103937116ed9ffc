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
        """One poll of every router, stamped with the poll's start (as a collector stamps
        a cycle: the ~50 ms the routers take to read would otherwise make eleven sample
        instants of one)."""
        records = self.lab.counters()
        if records:
            t0 = min(r["time"] for r in records)
            for r in records:
                r["time"] = t0
        status: dict[str, bool] = {}
        for r in records:  # a link is down when either end says so
            status[r["interface"]] = status.get(r["interface"], True) and \
                r["oper_status"] == "up"
        t = records[0]["time"] if records else 0.0
        for link, up in status.items():
            was = self.link_up.get(link)
            if was is not None and was != up:
                records.append({"kind": "event", "time": t, "object": link,
                                "event": "link_up" if up else "link_down",
                                "severity": "cleared" if up else "critical",
                                "message": f"interface {link} {'up' if up else 'down'}"})
        self.link_up = status
        return records
