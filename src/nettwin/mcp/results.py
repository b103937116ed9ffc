"""Full answers kept for a while, so a compact tool result can point at its whole table
(``nettwin://results/{id}``) instead of flooding the agent's context."""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from typing import Any


class ResultStore:
    """The latest ``capacity`` full results, oldest dropped first."""

    def __init__(self, capacity: int = 64) -> None:
        self.capacity = capacity
        self._docs: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, kind: str, network_id: str, doc: dict[str, Any]) -> str:
        """Keep ``doc``; answer its resource URI."""
        rid = uuid.uuid4().hex[:12]
        with self._lock:
            self._docs[rid] = {"kind": kind, "network_id": network_id, "result": doc}
            while len(self._docs) > self.capacity:
                self._docs.popitem(last=False)
        return f"nettwin://results/{rid}"

    def get(self, rid: str) -> dict[str, Any] | None:
        with self._lock:
            return self._docs.get(rid)
