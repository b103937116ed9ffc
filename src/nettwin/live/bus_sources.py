"""Observations from a message bus: a NATS JetStream durable pull consumer (explicit acks,
stream sequence numbers as positions: resumable) and an MQTT subscription (QoS 1)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

from nettwin.live.feed import Ack, Message


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
