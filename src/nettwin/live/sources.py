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

import asyncio
import csv
import hashlib
import json
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from nettwin.errors import ImportFormatError
from nettwin.extras import require


@dataclass
class Message:
    payload: bytes | str | dict[str, Any]
    position: int | None = None


Ack = Callable[[], Awaitable[None]]


class Source(Protocol):
    name: str

    def batches(self, max_batch: int, max_wait_s: float
                ) -> AsyncIterator[tuple[list[Message], Ack | None]]: ...

    async def close(self) -> None: ...


async def _no_ack() -> None:
    return None


# --------------------------------------------------------------------------- in-process
class InProcessSource:
    """Observations put in by the same process (``put`` / ``put_many``); ``end()`` stops."""

    name = "in-process"
    _END = object()

    def __init__(self, maxsize: int = 1_000_000) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue(maxsize)

    async def put(self, payload: bytes | str | dict[str, Any]) -> None:
        await self.queue.put(Message(payload))

    async def put_many(self, payloads: list[Any]) -> None:
        """One queue entry for a whole list: the fast path for high sample rates."""
        await self.queue.put([Message(p) for p in payloads])

    async def end(self) -> None:
        await self.queue.put(self._END)

    async def batches(self, max_batch: int = 10_000, max_wait_s: float = 0.05
                      ) -> AsyncIterator[tuple[list[Message], Ack | None]]:
        while True:
            item = await self.queue.get()
            if item is self._END:
                return
            batch = list(item) if isinstance(item, list) else [item]
            deadline = time.monotonic() + max_wait_s
            ended = False
            while len(batch) < max_batch:
                try:
                    item = self.queue.get_nowait()
                except asyncio.QueueEmpty:
                    if time.monotonic() >= deadline:
                        break
                    await asyncio.sleep(0.001)
                    continue
                if item is self._END:
                    ended = True
                    break
                batch.extend(item if isinstance(item, list) else [item])
            yield batch, None
            if ended:
                return

    async def close(self) -> None:
        return None


# --------------------------------------------------------------------------- file replay
HEAD_BYTES = 4096  # what identifies a replay file's content, with its inode


def file_identity(path: Path) -> str:
    """A replay file by content, not by name: device, inode and a hash of its first 4 KiB.
    A rotated file with the same name is another file (new inode, new head) and is replayed;
    the same file grown by appending keeps its identity and resumes after its last line."""
    st = path.stat()
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES)
    digest = hashlib.sha256(head).hexdigest()[:16]
    return f"{st.st_dev:x}:{st.st_ino:x}:{digest}"


class FileReplaySource:
    """JSON lines (``.jsonl``/``.json``), CSV (header: kind,time,device,interface,
    out_octets,... as in the JSON form) or Parquet (a table with those columns, e.g. ``nettwin
    synth --parquet``; nulls are absent fields, read a row group at a time) replayed at
    ``speed`` x real time (0: as fast as possible). Positions are line (row) numbers of *this
    content* (the source's name carries the file's identity, see ``file_identity``), so a
    replay into a store resumes after the last committed line of the same file, and a new
    file under an old name is read in full."""

    def __init__(self, path: str | Path, speed: float = 0.0) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ImportFormatError(str(self.path), "no such file")
        if speed < 0:
            raise ValueError(f"speed {speed} must be >= 0 (0: as fast as possible)")
        self.speed = speed
        if self.path.suffix.lower() == ".parquet":
            _parquet_columns(self.path)  # unreadable or not observations: refused now
        self.identity = file_identity(self.path)
        self.name = f"file:{self.path.name[:80]}@{self.identity}"

    def resume_note(self, committed_line: int | None) -> str:
        """What a replay will do given the store's cursor for this source (say it when
        lines are skipped)."""
        if committed_line is None:
            return f"{self.path.name}: new content ({self.identity}), replayed from line 1"
        return (f"{self.path.name}: lines 1..{committed_line} of this content "
                f"({self.identity}) are already committed and are skipped; replay resumes "
                f"at line {committed_line + 1}")

    def _lines(self) -> Iterator[tuple[int, Any]]:
        if self.path.suffix.lower() == ".parquet":
            pq = require("pyarrow.parquet")

            i = 0
            for rows in pq.ParquetFile(self.path).iter_batches(batch_size=10_000):
                for row in rows.to_pylist():
                    i += 1
                    yield i, {k: v for k, v in row.items() if v is not None}
            return
        if self.path.suffix.lower() == ".csv":
            with self.path.open(newline="", encoding="utf-8") as fh:
                for i, row in enumerate(csv.DictReader(fh), start=2):
                    yield i, {k: _csv_value(k, v) for k, v in row.items() if v not in ("", None)}
        else:
            with self.path.open("rb") as fh:
                for i, line in enumerate(fh, start=1):
                    if line.strip():
                        yield i, line

    async def batches(self, max_batch: int = 10_000, max_wait_s: float = 0.05
                      ) -> AsyncIterator[tuple[list[Message], Ack | None]]:
        batch: list[Message] = []
        t0_data: float | None = None
        t0_wall = time.monotonic()
        for pos, payload in self._lines():
            if self.speed > 0:
                t = _peek_time(payload)
                if t is not None:
                    t0_data = t if t0_data is None else t0_data
                    wait = (t - t0_data) / self.speed - (time.monotonic() - t0_wall)
                    if wait > 0:
                        if batch:
                            yield batch, None
                            batch = []
                        await asyncio.sleep(wait)
            batch.append(Message(payload, pos))
            if len(batch) >= max_batch:
                yield batch, None
                batch = []
                await asyncio.sleep(0)
        if batch:
            yield batch, None

    async def close(self) -> None:
        return None


def _parquet_columns(path: Path) -> list[str]:
    """The columns of a Parquet observation table; a clear error for anything else."""
    pa = require("pyarrow")
    pq = require("pyarrow.parquet")

    try:
        names = list(pq.ParquetFile(path).schema_arrow.names)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ImportFormatError(str(path), f"not a readable Parquet file ({exc})") from None
    missing = {"kind", "time"} - set(names)
    if missing:
        raise ImportFormatError(str(path), f"no column(s) {', '.join(sorted(missing))}: an "
                                           "observation table has kind, time and the fields "
                                           "of each kind (see nettwin synth --parquet)")
    return names


def _csv_value(key: str, value: str) -> Any:
    if key in ("kind", "device", "interface", "link", "object", "event", "severity",
               "message", "modulation", "oper_status"):
        return value
    try:
        return float(value)
    except ValueError:
        return value


def _peek_time(payload: Any) -> float | None:
    from nettwin.live.observations import parse_time

    try:
        doc = json.loads(payload) if isinstance(payload, bytes | str) else payload
        return parse_time(doc.get("time"))
    except (ValueError, AttributeError, TypeError):
        return None


# --------------------------------------------------------------------------- NATS
class NatsSource:
    """A durable JetStream pull consumer on ``subject`` (stream created when missing).

    Messages are acknowledged after the twin committed them (explicit acks), in stream
    order; a restart resumes from the consumer's acknowledgement floor and the stored cursor
    (the stream sequence) drops what had been committed already: nothing lost, nothing
    counted twice.

    A message that cannot be processed at all (the twin dies on it: a poison message) would
    otherwise come back first after every restart and block the stream for ever. Each start
    at the same acknowledgement floor counts as a failed attempt on the message there (kept
    in the JetStream key-value bucket ``<stream>_ATTEMPTS``, so counts survive restarts);
    after a failure messages are handed over one at a time, so the culprit is isolated;
    after ``max_attempts`` it is published to ``dead_subject`` (stream ``<stream>_DEAD``,
    with the reason and original sequence in its headers) and acknowledged, and what
    follows flows again. Records that decode badly never get this far: they are dead
    letters in the store and acknowledged with their batch."""

    def __init__(self, url: str = "nats://127.0.0.1:4222", subject: str = "nettwin.obs",
                 stream: str = "NETTWIN", durable: str = "nettwin-twin",
                 ack_wait_s: float = 30.0, max_attempts: int = 3,
                 dead_subject: str | None = None) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts {max_attempts} must be at least 1")
        self.url, self.subject, self.stream, self.durable = url, subject, stream, durable
        self.ack_wait_s, self.max_attempts = ack_wait_s, max_attempts
        self.dead_subject = dead_subject or f"{subject}.dead"
        self.name = f"nats:{stream}/{durable}"
        self._nc: Any = None
        self._js: Any = None
        self._single = 0  # messages still to hand over one at a time after a failure
        self.dead_lettered = 0

    async def _connect(self) -> Any:
        import nats
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
        from nats.js.errors import NotFoundError

        self._nc = await nats.connect(self.url, connect_timeout=5, max_reconnect_attempts=3)
        js = self._js = self._nc.jetstream()
        for name, subjects in ((self.stream, [self.subject]),
                               (f"{self.stream}_DEAD", [self.dead_subject])):
            try:
                await js.stream_info(name)
            except NotFoundError:
                await js.add_stream(name=name, subjects=subjects)
        # Resume in stream order from the first message not acknowledged: JetStream would
        # otherwise hand out new messages first and redeliver the dead consumer's pending
        # ones only after ack_wait, out of order, which a high-water-mark cursor cannot
        # tell from duplicates. Messages committed but not acknowledged come back first
        # and are skipped by the stored cursor.
        start = 1
        resumed = False
        try:
            info = await js.consumer_info(self.stream, self.durable)
            # a consumer that acknowledged nothing reports floor 0: it started where told
            start = max(int(info.ack_floor.stream_seq) + 1,
                        int(getattr(info.config, "opt_start_seq", None) or 1))
            resumed = int(info.num_ack_pending) > 0 or int(info.delivered.stream_seq) >= start
            await js.delete_consumer(self.stream, self.durable)
        except NotFoundError:
            pass
        attempts = await self._count_attempt(start) if resumed else 0
        config = ConsumerConfig(durable_name=self.durable, ack_policy=AckPolicy.EXPLICIT,
                                max_ack_pending=-1, ack_wait=self.ack_wait_s,
                                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                                opt_start_seq=start)
        sub = await js.pull_subscribe(self.subject, durable=self.durable, stream=self.stream,
                                      config=config)
        if attempts > self.max_attempts:
            await self._bury(sub, start, attempts - 1)
        elif attempts > 1:
            self._single = 1  # isolate: the message at the floor goes alone
        return sub

    async def _attempts_bucket(self) -> Any:
        from nats.js.errors import BucketNotFoundError

        try:
            return await self._js.key_value(f"{self.stream}_ATTEMPTS")
        except BucketNotFoundError:
            return await self._js.create_key_value(bucket=f"{self.stream}_ATTEMPTS")

    async def _count_attempt(self, seq: int) -> int:
        """One more (re)start at acknowledgement floor ``seq``; returns the count there."""
        from nats.js.errors import KeyNotFoundError

        kv = await self._attempts_bucket()
        try:
            entry = await kv.get(self.durable)
            last = json.loads(entry.value or b"{}")
        except (KeyNotFoundError, ValueError):
            last = {}
        count = int(last.get("attempts", 0)) + 1 if last.get("seq") == seq else 1
        await kv.put(self.durable, json.dumps({"seq": seq, "attempts": count}).encode())
        return count

    async def _bury(self, sub: Any, seq: int, failures: int) -> None:
        """Move the poison message at ``seq`` to the dead-letter subject and acknowledge it."""
        from nats.errors import TimeoutError as NatsTimeout

        try:
            (msg,) = await sub.fetch(1, timeout=5)
        except (TimeoutError, NatsTimeout):
            return
        if int(msg.metadata.sequence.stream) != seq:  # it was acknowledged meanwhile
            return
        reason = (f"the twin failed {failures} time(s) on this message (stream {self.stream} "
                  f"sequence {seq}); moved here after max_attempts={self.max_attempts}")
        await self._js.publish(self.dead_subject, msg.data, headers={
            "Nettwin-Reason": reason, "Nettwin-Stream": self.stream,
            "Nettwin-Stream-Seq": str(seq), "Nettwin-Subject": msg.subject})
        await msg.ack()
        self.dead_lettered += 1

    async def batches(self, max_batch: int = 10_000, max_wait_s: float = 0.2
                      ) -> AsyncIterator[tuple[list[Message], Ack | None]]:
        from nats.errors import TimeoutError as NatsTimeout

        sub = await self._connect()
        while True:
            size = 1 if self._single > 0 else max_batch
            try:
                msgs = await sub.fetch(size, timeout=max_wait_s)
            except (TimeoutError, NatsTimeout):
                continue
            self._single = max(0, self._single - len(msgs))
            batch = [Message(m.data, int(m.metadata.sequence.stream)) for m in msgs]

            async def ack(msgs: list[Any] = msgs) -> None:
                await asyncio.gather(*(m.ack() for m in msgs))

            yield batch, ack

    async def close(self) -> None:
        if self._nc is not None:
            await self._nc.close()


# --------------------------------------------------------------------------- MQTT
class MqttSource:
    """An MQTT subscription at QoS 1 in a persistent session (paho client in its own thread,
    MQTT 3.1.1 ``clean_session=False``).

    The broker keeps the session of ``client_id`` (its subscription and the QoS 1 messages
    published meanwhile) while the twin is down, and hands them over when it comes back; so
    the client id must be stable per twin and distinct between twins. paho acknowledges a
    message when it is received (acknowledging after the commit would stall: the broker
    sends at most its in-flight window, ~20 messages, unacknowledged, and the twin
    acknowledges a batch once the next one arrives), so a crash loses at most the batch
    being committed."""

    def __init__(self, host: str = "127.0.0.1", port: int = 1883,
                 topic: str = "nettwin/obs/#", client_id: str = "nettwin-twin") -> None:
        if not client_id or len(client_id) > 128:
            raise ValueError(f"MQTT client id {client_id!r}: give 1..128 characters")
        self.host, self.port, self.topic, self.client_id = host, port, topic, client_id
        self.name = f"mqtt:{topic}"
        self._client: Any = None
        self.ready = threading.Event()

    async def batches(self, max_batch: int = 10_000, max_wait_s: float = 0.05
                      ) -> AsyncIterator[tuple[list[Message], Ack | None]]:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Message] = asyncio.Queue()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id,
                             clean_session=False)

        def on_connect(c: Any, _u: Any, flags: Any, _rc: Any, _p: Any) -> None:
            # a resumed session still has its subscription; subscribing again is harmless
            c.subscribe(self.topic, qos=1)

        def on_subscribe(*_args: Any) -> None:
            self.ready.set()

        def on_message(_c: Any, _u: Any, msg: Any) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, Message(bytes(msg.payload)))

        client.on_connect, client.on_message = on_connect, on_message
        client.on_subscribe = on_subscribe
        client.connect(self.host, self.port)
        client.loop_start()
        self._client = client
        while True:
            first = await queue.get()
            batch = [first]
            deadline = time.monotonic() + max_wait_s
            while len(batch) < max_batch and time.monotonic() < deadline:
                try:
                    batch.append(queue.get_nowait())
                except asyncio.QueueEmpty:
                    await asyncio.sleep(0.002)
            yield batch, None

    async def close(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()


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
