"""Observations pulled from a Prometheus server: counters through its HTTP API with PromQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from nettwin.live.feed import Ack, Message


# --------------------------------------------------------------------------- Prometheus
class PrometheusSource:
    """Pulls interface counters from a Prometheus server every ``interval_s``.

    ``queries`` maps observation fields to PromQL series selectors of counters (e.g.
    ``{"out_octets": 'ifHCOutOctets{job="routers"}', "oper_status": "ifOperStatus"}``).
    Each poll reads the raw samples of the last few intervals (``selector[window]``), so
    every sample keeps its own scrape timestamp: an instant query would stamp the value with
    the query time and skew rates. Samples already seen are dropped by the twin as
    duplicates. An oper_status series is up when its value is 1."""

    def __init__(self, url: str, queries: dict[str, str], *, device_label: str = "device",
                 interface_label: str = "interface", interval_s: float = 1.0) -> None:
        if "out_octets" not in queries and "oper_status" not in queries:
            raise ValueError("queries need out_octets (and optionally oper_status, "
                             "out_packets, out_drops in packets): e.g. {'out_octets': "
                             "'ifHCOutOctets', 'out_drops': 'ifOutDiscards'}")
        self.url = url.rstrip("/")
        self.queries, self.interval_s = queries, interval_s
        self.device_label, self.interface_label = device_label, interface_label
        self.name = f"prometheus:{self.url}"

    async def poll(self, client: Any) -> list[Message]:
        """One round of queries. A failed query or a malformed series becomes a record with
        an ``error`` (a dead letter with that reason); the next round polls again."""
        import httpx

        merged: dict[tuple[str, str, float], dict[str, Any]] = {}
        errors: list[Message] = []
        window = f"{max(5, round(3 * self.interval_s))}s"
        for field_name, selector in self.queries.items():
            try:
                r = await client.get(f"{self.url}/api/v1/query",
                                     params={"query": f"{selector}[{window}]"})
                r.raise_for_status()
                result = r.json()["data"]["result"]
                if not isinstance(result, list):
                    raise TypeError(f"data.result is a {type(result).__name__}")
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                errors.append(Message({"error": f"Prometheus query {selector!r} failed: "
                                                f"{type(exc).__name__}: {str(exc)[:200]}"}))
                continue
            for series in result:
                try:
                    self._merge(merged, field_name, series)
                except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as exc:
                    errors.append(Message({"error": f"Prometheus {field_name} series "
                                                    f"{str(series)[:200]}: {exc}"}))
        return [Message(rec) for rec in merged.values()] + errors

    def _merge(self, merged: dict[tuple[str, str, float], dict[str, Any]], field_name: str,
               series: Any) -> None:
        labels = series["metric"]
        rows = [(float(ts), float(value)) for ts, value in series.get("values") or []]
        for ts, number in rows:  # converted first: a bad value leaves no half record
            key = (str(labels.get(self.device_label, "")),
                   str(labels.get(self.interface_label, "")), ts)
            rec = merged.setdefault(key, {"kind": "counter", "time": ts,
                                          "device": key[0], "interface": key[1]})
            if field_name == "oper_status":
                rec["oper_status"] = "up" if number == 1.0 else "down"
            else:
                rec[field_name] = number

    async def batches(self, max_batch: int = 10_000, max_wait_s: float = 0.05
                      ) -> AsyncIterator[tuple[list[Message], Ack | None]]:
        import httpx

        async with httpx.AsyncClient(timeout=10) as client:
            while True:
                started = time.monotonic()
                batch = await self.poll(client)
                if batch:
                    yield batch, None
                await asyncio.sleep(max(0.0, self.interval_s - (time.monotonic() - started)))

    async def close(self) -> None:
        return None
