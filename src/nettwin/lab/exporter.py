"""Exports a running lab's interface counters (and link status changes as events) to
where the twin ingests them:
``python -m nettwin.lab.exporter --lab DIR --to URL [--interval S]``.

``URL``: ``file:PATH`` (JSON lines, appended), ``nats://HOST:PORT/SUBJECT`` (JetStream
publish; the stream is created when missing) or ``mqtt://HOST:PORT/TOPIC``."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from nettwin.lab.frr import Lab, LabError
from nettwin.lab.telemetry import Telemetry
from nettwin.live.sources import parse_bus_url

Publish = Callable[[list[dict[str, Any]]], Awaitable[None]]


async def sink(url: str, stream: str = "NETTWIN") -> tuple[Publish, Callable[[], Any]]:
    """A publisher for ``url`` and its closer."""
    try:
        bus = parse_bus_url(url, default_topic="nettwin/obs/lab")
    except ValueError:
        bus = None
    if bus is not None and bus.scheme == "file":
        path = Path(bus.path)

        async def to_file(recs: list[dict[str, Any]]) -> None:
            with path.open("a", encoding="utf-8") as fh:
                fh.writelines(json.dumps(r) + "\n" for r in recs)

        async def nothing() -> None:
            return None

        return to_file, nothing
    if bus is not None and bus.scheme == "nats":
        import nats

        subject = bus.path
        nc = await nats.connect(bus.nats_url)
        js = nc.jetstream()
        try:
            await js.stream_info(stream)
        except Exception:
            await js.add_stream(name=stream, subjects=[subject])

        async def to_nats(recs: list[dict[str, Any]]) -> None:
            for r in recs:
                await js.publish(subject, json.dumps(r).encode())

        return to_nats, nc.close
    if bus is not None and bus.scheme == "mqtt":
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        client = mqtt.Client(CallbackAPIVersion.VERSION2)
        client.connect(bus.host, bus.port or 1883)
        client.loop_start()
        topic = bus.path

        async def to_mqtt(recs: list[dict[str, Any]]) -> None:
            for r in recs:
                client.publish(topic, json.dumps(r), qos=1)

        async def close_mqtt() -> None:
            client.loop_stop()
            client.disconnect()

        return to_mqtt, close_mqtt
    raise LabError(f"export target {url!r}: use file:PATH, nats://HOST:PORT/SUBJECT or "
                   "mqtt://HOST:PORT/TOPIC")


async def export(lab: Lab, url: str, interval_s: float, count: int | None = None) -> None:
    publish, close = await sink(url)
    telemetry = Telemetry(lab)
    try:
        n = 0
        while count is None or n < count:
            started = time.monotonic()
            await publish(telemetry.sample())
            n += 1
            await asyncio.sleep(max(0.0, interval_s - (time.monotonic() - started)))
    finally:
        await close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lab", required=True, type=Path)
    parser.add_argument("--to", required=True)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args()
    asyncio.run(export(Lab.load(args.lab), args.to, args.interval))


if __name__ == "__main__":
    main()
