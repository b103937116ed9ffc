"""The one interface every source of observations implements (``Source``: batches of
``Message``, each batch with how to acknowledge it), and its in-process stand-in (an asyncio
queue: the embedded default; tests and the lab feed it)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol


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
