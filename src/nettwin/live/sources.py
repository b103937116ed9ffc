"""Where observations come from: small adapters behind one interface.

A source yields batches of ``Message`` (a payload, its position in the source when it has
one, and how to acknowledge it). The twin commits a batch to its store first and
acknowledges afterwards; with positions (JetStream stream sequence numbers, file line
numbers) a message at or below the stored cursor is skipped, so a crash between commit and
acknowledgement redelivers without double counting.

- ``InProcessSource``: an asyncio queue (the embedded default; tests and the lab feed it).
- ``FileReplaySource``: JSON lines or CSV, replayed at a chosen speed (0: as fast as read).
- ``NatsSource``: NATS JetStream durable pull consumer (explicit acks, resumable).
- ``MqttSource``: an MQTT subscription (QoS 1).
- ``PrometheusSource``: pulls counters through the Prometheus HTTP API with PromQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from nettwin.live.bus_sources import MqttSource, NatsSource
from nettwin.live.feed import Ack, InProcessSource, Message, Source
from nettwin.live.file_replay import FileReplaySource, file_identity
from nettwin.live.prometheus_source import PrometheusSource

# each adapter has its module; this one picks the source an address names, and keeps the
# import path every source had before
__all__ = ["Ack", "BusAddress", "FileReplaySource", "InProcessSource", "Message", "MqttSource",
           "NatsSource", "PrometheusSource", "Source", "file_identity", "parse_bus_url",
           "source_for"]


# --------------------------------------------------------------------------- addresses
BUS_SCHEMES = "a file (.jsonl/.csv/.parquet, or file:PATH), nats://HOST:PORT/SUBJECT, " \
              "mqtt://HOST:PORT/TOPIC or prometheus+http://HOST:PORT"


@dataclass(frozen=True)
class BusAddress:
    """Where observations travel: a file, a NATS subject, an MQTT topic or a Prometheus
    server (one parser for the sources and the lab's exporters)."""

    scheme: str  # file | nats | mqtt | prometheus
    host: str = ""
    port: int | None = None
    path: str = ""  # file path, NATS subject, MQTT topic, or the Prometheus base URL

    @property
    def nats_url(self) -> str:
        return f"nats://{self.host or '127.0.0.1'}:{self.port or 4222}"


def parse_bus_url(url: str, *, default_topic: str = "nettwin/obs/#",
                  default_subject: str = "nettwin.obs") -> BusAddress:
    """``url`` as a ``BusAddress``; ValueError naming the accepted forms otherwise."""
    from urllib.parse import urlparse

    parsed = urlparse(url)
    scheme = parsed.scheme
    if scheme in ("", "file") or (len(scheme) == 1 and url[1:3] == ":\\"):  # C:\ paths
        return BusAddress("file", path=url.removeprefix("file:"))
    if scheme == "nats":
        return BusAddress("nats", parsed.hostname or "127.0.0.1", parsed.port or 4222,
                          parsed.path.strip("/") or default_subject)
    if scheme == "mqtt":
        return BusAddress("mqtt", parsed.hostname or "127.0.0.1", parsed.port or 1883,
                          parsed.path.strip("/") or default_topic)
    if scheme.startswith("prometheus"):
        return BusAddress("prometheus", parsed.hostname or "", parsed.port,
                          url.removeprefix("prometheus+").removeprefix("prometheus:"))
    raise ValueError(f"source {url!r}: use {BUS_SCHEMES}")


def source_for(url: str, *, speed: float = 0.0, queries: dict[str, str] | None = None,
               stream: str = "NETTWIN", durable: str = "nettwin") -> Source:
    """The source that reads ``url`` (see ``parse_bus_url``)."""
    bus = parse_bus_url(url)
    if bus.scheme == "file":
        return FileReplaySource(bus.path, speed)
    if bus.scheme == "nats":
        return NatsSource(bus.nats_url, bus.path, stream, durable)
    if bus.scheme == "mqtt":  # mqtt://HOST:PORT/TOPIC?client_id=ID (a stable session per twin)
        from urllib.parse import parse_qsl, urlparse

        client_id = dict(parse_qsl(urlparse(url).query)).get("client_id", "nettwin-twin")
        return MqttSource(bus.host, bus.port or 1883, bus.path, client_id)
    if not queries:
        raise ValueError("a Prometheus source needs queries: out_octets=SELECTOR")
    return PrometheusSource(bus.path, queries)
