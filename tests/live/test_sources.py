"""Sources against real servers on loopback: NATS JetStream (durable consumer, redelivery
after a crash), Mosquitto (MQTT), a Prometheus started by the test scraping an exporter the
test runs; and file replay (JSON lines, CSV, speed)."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import dataclasses
import json
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nettwin import compile_network, simulate
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.live import (
    FileReplaySource,
    LiveTwin,
    Message,
    MqttSource,
    NatsSource,
    PrometheusSource,
    Store,
)
from nettwin.live.simulated import counter_records

NET = load_network(example_path())
RATE = simulate(compile_network(NET)).arc_load_bps
T0 = 1.7e9


def _records(steps: int = 3, interval_s: float = 60.0) -> list[dict]:
    return [r for s in counter_records(NET, RATE, start=T0, interval_s=interval_s,
                                       steps=steps) for r in s]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _run_until(twin: LiveTwin, source: object, samples: int, timeout: float = 20.0
                     ) -> None:
    stop = asyncio.Event()

    def check(t: LiveTwin) -> None:
        if t.state.samples >= samples:
            stop.set()

    task = asyncio.create_task(twin.run(source, stop=stop, progress=check,  # type: ignore[arg-type]
                                        max_wait_s=0.05))
    await asyncio.wait_for(task, timeout)


# --------------------------------------------------------------------------- files
def test_file_replay_jsonl_and_csv_give_the_same_state(tmp_path: Path) -> None:
    recs = _records()
    jsonl = tmp_path / "obs.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in recs) + "garbage\n")
    with (tmp_path / "obs.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, ["kind", "time", "device", "interface", "out_octets",
                                "oper_status"])
        w.writeheader()
        w.writerows(recs)
    twins = []
    for path in (jsonl, tmp_path / "obs.csv"):
        twin = LiveTwin(NET, Store(f"sqlite:///{tmp_path / (path.suffix + '.db')}"))
        asyncio.run(twin.run(FileReplaySource(path)))
        np.testing.assert_allclose(twin.state.arc_rate_bps, RATE, rtol=1e-9)
        twins.append(twin)
    assert twins[0].dead == 1 and twins[1].dead == 0


def test_file_replay_speed(tmp_path: Path) -> None:
    """Paced replay delivers every record once, in file order, and pauses only between
    instants (each pause ends a batch); as fast as possible it is one batch. Counts and
    order, not the wall clock (which flakes on shared cores)."""
    recs = _records(steps=4, interval_s=1.0)  # 5 instants, 1 s apart
    path = tmp_path / "obs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))

    async def collect(source: FileReplaySource) -> list[list[Message]]:
        return [batch async for batch, _ack in source.batches()]

    paced = asyncio.run(collect(FileReplaySource(path, speed=4.0)))
    flat = [m for batch in paced for m in batch]
    assert [m.position for m in flat] == list(range(1, len(recs) + 1))
    assert [json.loads(m.payload)["time"] for m in flat] == [r["time"] for r in recs]
    times = [{json.loads(m.payload)["time"] for m in batch} for batch in paced]
    assert all(len(t) == 1 for t in times)  # a pause never falls inside an instant
    assert len(paced) >= 2  # it did pause (at 4x, a quarter second before each instant)
    fast = asyncio.run(collect(FileReplaySource(path)))
    assert len(fast) == 1 and [m.position for m in fast[0]] == [m.position for m in flat]
    twin = LiveTwin(NET)
    asyncio.run(twin.run(FileReplaySource(path, speed=8.0)))
    np.testing.assert_allclose(twin.state.arc_rate_bps, RATE, rtol=1e-9)
    assert twin.state.time == recs[-1]["time"]


# --------------------------------------------------------------------------- NATS
@pytest.fixture
def jetstream() -> Iterator[tuple[str, str]]:
    if not _port_open(4222):
        pytest.skip("NATS on 127.0.0.1:4222 is not running")
    name = f"NTTEST{uuid.uuid4().hex[:8].upper()}"
    yield name, f"nttest.{name.lower()}"

    async def drop() -> None:
        import nats

        nc = await nats.connect("nats://127.0.0.1:4222")
        try:
            for stream in (name, f"{name}_DEAD", f"KV_{name}_ATTEMPTS"):
                with contextlib.suppress(Exception):
                    await nc.jetstream().delete_stream(stream)
        finally:
            await nc.close()

    asyncio.run(drop())


async def _publish(subject: str, stream: str, payloads: list[bytes]) -> None:
    import nats

    nc = await nats.connect("nats://127.0.0.1:4222")
    js = nc.jetstream()
    try:
        await js.stream_info(stream)
    except Exception:
        await js.add_stream(name=stream, subjects=[subject])
    for p in payloads:
        await js.publish(subject, p)
    await nc.close()


def test_jetstream_redelivers_after_a_crash_without_double_counting(
        jetstream: tuple[str, str], tmp_path: Path) -> None:
    stream, subject = jetstream
    net = dataclasses.replace(NET, name=stream)
    payloads = [json.dumps(r).encode() for r in _records(steps=4)]
    store = Store(f"sqlite:///{tmp_path / 'twin.db'}")

    async def scenario() -> LiveTwin:
        await _publish(subject, stream, payloads)
        # first life: one batch committed, then the process dies before acknowledging it
        first = LiveTwin(net, store)
        source = NatsSource(subject=subject, stream=stream, durable="twin", ack_wait_s=1.0)
        gen = source.batches(max_batch=50, max_wait_s=0.5)
        messages, _ack = await gen.__anext__()
        first.process(messages, source.name)
        await gen.aclose()
        await source.close()
        # second life: the consumer redelivers the unacknowledged batch and the rest
        second = LiveTwin(net, store)
        await _run_until(second, NatsSource(subject=subject, stream=stream, durable="twin",
                                            ack_wait_s=1.0),
                         samples=len(payloads) - 50, timeout=30)
        return second

    twin = asyncio.run(scenario())
    np.testing.assert_allclose(twin.state.arc_rate_bps, RATE, rtol=1e-9)
    assert store.count(twin.name) == 4 * 2 * len(NET.links)  # every rate exactly once
    assert store.cursor(twin.name, f"nats:{stream}/twin") == len(payloads)


def test_a_poison_message_goes_to_the_dead_letter_subject_and_the_rest_flows(
        jetstream: tuple[str, str], tmp_path: Path) -> None:
    """A twin that dies on one message, again and again: after max_attempts that message is
    on the dead-letter subject with the reason, and the messages after it are applied."""
    stream, subject = jetstream
    net = dataclasses.replace(NET, name=stream)
    good = [json.dumps(r).encode() for r in _records(steps=2)]
    poison = b'{"kind": "counter", "POISON": true}'
    payloads = [*good[:5], poison, *good[5:]]
    store = Store(f"sqlite:///{tmp_path / 'twin.db'}")

    class CrashError(RuntimeError):
        pass

    async def life() -> tuple[LiveTwin, NatsSource]:
        """Process batches until the poison is in one: then die without acknowledging."""
        twin = LiveTwin(net, store)
        source = NatsSource(subject=subject, stream=stream, durable="twin", ack_wait_s=1.0,
                            max_attempts=3)
        gen = source.batches(max_batch=4, max_wait_s=0.3)
        try:
            while (store.cursor(twin.name, source.name) or 0) < len(payloads):
                messages, ack = await asyncio.wait_for(gen.__anext__(), 10)
                if any(m.payload == poison for m in messages):
                    raise CrashError
                twin.process(messages, source.name)
                assert ack is not None
                await ack()
        finally:
            await gen.aclose()
            await source.close()
        return twin, source

    async def scenario() -> tuple[LiveTwin, NatsSource, int, list[Any]]:
        await _publish(subject, stream, payloads)
        crashes = 0
        while True:
            try:
                twin, source = await life()
                break
            except CrashError:
                crashes += 1
                assert crashes < 10, "the poison message blocks the stream"
        import nats

        nc = await nats.connect("nats://127.0.0.1:4222")
        sub = await nc.jetstream().pull_subscribe(source.dead_subject, stream=f"{stream}_DEAD")
        dead = await sub.fetch(5, timeout=5)
        await nc.close()
        return twin, source, crashes, dead

    twin, source, crashes, dead = asyncio.run(scenario())
    # its batch (twice: the message before it is then handed over alone and passes), then
    # at its own floor: its batch once and alone twice; the 4th start moves it away
    assert crashes == 6
    assert [m.data for m in dead] == [poison]
    assert dead[0].headers["Nettwin-Stream-Seq"] == "6"
    assert "failed 3 time(s)" in dead[0].headers["Nettwin-Reason"]
    assert source.dead_lettered == 1
    np.testing.assert_allclose(twin.state.arc_rate_bps, RATE, rtol=1e-9)
    assert store.count(twin.name) == 2 * 2 * len(NET.links)  # every rate once, none lost


# --------------------------------------------------------------------------- MQTT
def test_mqtt_persistent_session_keeps_what_was_published_while_down() -> None:
    """QoS 1 messages published while the twin is down arrive when it comes back under the
    same client id (Mosquitto keeps the session)."""
    if not _port_open(1883):
        pytest.skip("Mosquitto on 127.0.0.1:1883 is not running")
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    topic = f"nettwin-test/{uuid.uuid4().hex[:8]}"
    client_id = f"nt-persist-{uuid.uuid4().hex[:6]}"
    payloads = [json.dumps(r) for r in _records()]

    async def first_life() -> None:
        source = MqttSource(topic=f"{topic}/#", client_id=client_id)
        task = asyncio.ensure_future(source.batches().__anext__())
        for _ in range(200):
            if source.ready.is_set():
                break
            await asyncio.sleep(0.05)
        assert source.ready.is_set(), "the twin never subscribed"
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await source.close()

    asyncio.run(first_life())
    pub = mqtt.Client(CallbackAPIVersion.VERSION2)
    pub.connect("127.0.0.1", 1883)
    pub.loop_start()
    for p in payloads:  # the twin is down
        pub.publish(f"{topic}/counters", p, qos=1).wait_for_publish(5)
    pub.loop_stop()
    pub.disconnect()
    twin = LiveTwin(NET)
    asyncio.run(_run_until(twin, MqttSource(topic=f"{topic}/#", client_id=client_id),
                           len(payloads)))
    assert twin.state.samples == len(payloads)
    np.testing.assert_allclose(twin.state.arc_rate_bps, RATE, rtol=1e-9)
def test_mqtt_subscription(tmp_path: Path) -> None:
    if not _port_open(1883):
        pytest.skip("Mosquitto on 127.0.0.1:1883 is not running")
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    topic = f"nettwin-test/{uuid.uuid4().hex[:8]}"
    payloads = [json.dumps(r) for r in _records()]
    source = MqttSource(topic=f"{topic}/#", client_id=f"nt-{uuid.uuid4().hex[:6]}")

    def publish() -> None:
        assert source.ready.wait(10), "the twin never subscribed"
        pub = mqtt.Client(CallbackAPIVersion.VERSION2)
        pub.connect("127.0.0.1", 1883)
        pub.loop_start()
        for p in payloads:
            pub.publish(f"{topic}/counters", p, qos=1).wait_for_publish(5)
        pub.loop_stop()
        pub.disconnect()

    twin = LiveTwin(NET)
    thread = threading.Thread(target=publish)
    thread.start()
    asyncio.run(_run_until(twin, source, len(payloads)))
    thread.join()
    np.testing.assert_allclose(twin.state.arc_rate_bps, RATE, rtol=1e-9)


# --------------------------------------------------------------------------- Prometheus
@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[tuple[str, float]]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("prometheus not installed (Debian package 'prometheus'; make test "
                    "installs it)")
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.core import CounterMetricFamily

    rate_bps = 2.4e9
    started = time.time()

    class Router:
        """An exporter whose counter grows at exactly rate_bps, each sample stamped with
        the instant it was read (Prometheus keeps exposed timestamps): stamped at the
        scrape's start instead, a collect delayed by a loaded machine skewed the rate by
        10 % and more."""

        def collect(self) -> Iterator[CounterMetricFamily]:
            fam = CounterMetricFamily("router_out_octets", "octets sent",
                                      labels=["device", "interface"])
            now = time.time()
            fam.add_metric(["Denver", "Denver--Kansas-City"],
                           rate_bps / 8 * (now - started), timestamp=now)
            yield fam

    registry = CollectorRegistry()
    registry.register(Router())  # type: ignore[arg-type]
    exporter_port, prom_port = _free_port(), _free_port()
    server, _thread = start_http_server(exporter_port, addr="127.0.0.1", registry=registry)
    config = tmp_path / "prometheus.yml"
    config.write_text(f"global:\n  scrape_interval: 1s\nscrape_configs:\n"
                      f"- job_name: routers\n  static_configs:\n"
                      f"  - targets: ['127.0.0.1:{exporter_port}']\n")
    proc = subprocess.Popen([binary, f"--config.file={config}",
                             f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{prom_port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not _port_open(prom_port) and time.monotonic() < deadline:
            time.sleep(0.2)
        yield f"http://127.0.0.1:{prom_port}", rate_bps
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        server.shutdown()


def test_prometheus_counters_pulled_by_promql(prometheus: tuple[str, float]) -> None:
    url, rate_bps = prometheus
    source = PrometheusSource(url, {"out_octets": "router_out_octets_total"},
                              interval_s=0.5)
    twin = LiveTwin(NET)
    asyncio.run(_run_until(twin, source, samples=5, timeout=40))
    arc = 2 * list(NET.links).index("Denver--Kansas-City")
    assert twin.state.arc_rate_bps[arc] == pytest.approx(rate_bps, rel=0.05)
