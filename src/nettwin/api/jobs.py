"""Long work (sweeps) as jobs: submitted, progressing, cancellable, with paginated results."""

from __future__ import annotations

import enum
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


class JobState(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobCancelledError(Exception):
    """Raised inside a job's progress callback once cancellation is asked for."""


@dataclass
class Job:
    id: str
    kind: str
    network_id: str
    owner: str
    state: JobState = JobState.QUEUED
    done: int = 0
    total: int = 0
    error: str | None = None
    result: dict[str, Any] | None = None
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    cancel: threading.Event = field(default_factory=threading.Event)

    def status(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "network_id": self.network_id,
                "owner": self.owner, "state": self.state.value, "done": self.done,
                "total": self.total, "error": self.error, "created": self.created}


class JobManager:
    """A small worker pool; jobs report progress through a callback that also cancels."""

    def __init__(self, workers: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nettwin-job")
        self.jobs: dict[str, Job] = {}

    def submit(self, kind: str, network_id: str, owner: str,
               work: Callable[[Callable[[int, int], None]], dict[str, Any]]) -> Job:
        job = Job(uuid.uuid4().hex[:12], kind, network_id, owner)
        self.jobs[job.id] = job

        def progress(done: int, total: int) -> None:
            if job.cancel.is_set():
                raise JobCancelledError
            job.done, job.total = done, total

        def run() -> None:
            if job.cancel.is_set():
                job.state = JobState.CANCELLED
                return
            job.state = JobState.RUNNING
            try:
                job.result = work(progress)
                job.state = JobState.DONE
            except JobCancelledError:
                job.state = JobState.CANCELLED
            except Exception as exc:  # a job failure is reported, never crashes the service
                job.state = JobState.FAILED
                job.error = f"{type(exc).__name__}: {exc}"

        self._pool.submit(run)
        return job

    def shutdown(self) -> None:
        for job in self.jobs.values():
            job.cancel.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
