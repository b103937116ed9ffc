"""Long work (sweeps) as jobs: submitted, progressing, cancellable, with paginated results.

Bounded: at most ``queue_max`` jobs queued or running (``per_owner`` per caller), more are
refused with 429 and a Retry-After estimated from recent run times; a finished job is kept
``ttl_s`` (and at most ``keep_max`` of them), then removed with its results. Cancelling a
queued job is immediate; a running one stops at its next progress report (sweeps report
after every chunk of a fraction of a second). With a store, every state change is saved and
finished jobs come back after a restart.
"""

from __future__ import annotations

import enum
import math
import os
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from fastapi import HTTPException

from nettwin.api.auth import Principal, Role

if TYPE_CHECKING:
    from nettwin.api.security import AuditLog
    from nettwin.api.settings import Settings
    from nettwin.model import Network


class JobState(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


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
    started_at: float | None = None  # epoch seconds
    finished_at: float | None = None

    def status(self, ttl_s: float | None = None) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": self.id, "kind": self.kind, "network_id": self.network_id,
            "owner": self.owner, "state": self.state.value, "done": self.done,
            "total": self.total, "error": self.error, "created": self.created,
            "cancel_requested": self.cancel.is_set()}
        if self.finished_at is not None:
            doc["finished"] = datetime.fromtimestamp(self.finished_at, UTC).isoformat()
            if ttl_s is not None:
                doc["expires"] = datetime.fromtimestamp(self.finished_at + ttl_s,
                                                        UTC).isoformat()
        return doc


class JobRecorder(Protocol):
    """Where jobs are saved (``api.persistence.ServiceStore``)."""

    def save_job(self, job: Job) -> None: ...
    def delete_jobs(self, ids: list[str]) -> None: ...
    def load_jobs(self) -> list[Job]: ...


class JobManager:
    """A small worker pool; jobs report progress through a callback that also cancels."""

    def __init__(self, workers: int, *, queue_max: int = 16, per_owner: int = 4,
                 ttl_s: float = 3600.0, keep_max: int = 200,
                 recorder: JobRecorder | None = None, audit: AuditLog | None = None) -> None:
        self.workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nettwin-job")
        self.jobs: dict[str, Job] = {}
        self.queue_max, self.per_owner = queue_max, per_owner
        self.ttl_s, self.keep_max = ttl_s, keep_max
        self.recorder = recorder
        self.audit = audit
        self._lock = threading.Lock()
        self._durations: list[float] = []  # recent run times, for Retry-After
        if recorder is not None:
            for job in recorder.load_jobs():
                self.jobs[job.id] = job
            self.purge()

    @classmethod
    def of(cls, settings: Settings, recorder: JobRecorder | None = None,
           audit: AuditLog | None = None) -> JobManager:
        return cls(settings.job_workers, queue_max=settings.job_queue_max,
                   per_owner=settings.job_queue_per_owner, ttl_s=settings.job_ttl_s,
                   keep_max=settings.job_keep_max, recorder=recorder, audit=audit)

    def _finished(self, job: Job) -> None:
        """Save a job that ended, and audit how it ended (the call that started it was
        audited when it was accepted)."""
        self._save(job)
        if self.audit is not None:
            entry: dict[str, Any] = {
                "who": job.owner, "what": f"job {job.kind} ended", "route": "job",
                "ids": {"job_id": job.id, "network_id": job.network_id},
                "status": None, "outcome": job.state.value, "done": job.done,
                "total": job.total}
            if job.error:
                entry["detail"] = job.error[:300]
            self.audit.write(entry)

    def _save(self, job: Job) -> None:
        if self.recorder is not None:
            self.recorder.save_job(job)

    def purge(self, now: float | None = None) -> list[str]:
        """Remove finished jobs past their TTL, and the oldest beyond ``keep_max``."""
        now = time.time() if now is None else now
        with self._lock:
            done = sorted((j for j in self.jobs.values() if j.finished_at is not None),
                          key=lambda j: j.finished_at or 0.0)
            gone = [j.id for j in done if now - (j.finished_at or now) > self.ttl_s]
            alive = [j for j in done if j.id not in gone]
            gone += [j.id for j in alive[:max(0, len(alive) - self.keep_max)]]
            for jid in gone:
                del self.jobs[jid]
        if gone and self.recorder is not None:
            self.recorder.delete_jobs(gone)
        return gone

    def get(self, job_id: str) -> Job | None:
        self.purge()
        return self.jobs.get(job_id)

    def _retry_after_s(self, pending: int) -> int:
        mean = sum(self._durations) / len(self._durations) if self._durations else 10.0
        return max(1, min(3600, math.ceil(mean * max(1, pending) / self.workers)))

    def submit(self, kind: str, network_id: str, owner: str,
               work: Callable[[Callable[[int, int], None]], dict[str, Any]]) -> Job:
        """Queue ``work``; 429 (with Retry-After) when the queue or the caller's share of it
        is full."""
        self.purge()
        with self._lock:
            pending = [j for j in self.jobs.values() if j.state not in FINISHED]
            mine = sum(j.owner == owner for j in pending)
            if len(pending) >= self.queue_max or mine >= self.per_owner:
                whose = ("the job queue is full" if len(pending) >= self.queue_max
                         else f"{owner!r} already has {mine} jobs queued or running")
                raise HTTPException(429, detail=(
                    f"{whose} (limits: {self.queue_max} in all, {self.per_owner} per caller); "
                    "retry later or cancel a job"),
                    headers={"Retry-After": str(self._retry_after_s(len(pending)))})
            job = Job(uuid.uuid4().hex[:12], kind, network_id, owner)
            self.jobs[job.id] = job
        self._save(job)

        def progress(done: int, total: int) -> None:
            if job.cancel.is_set():
                raise JobCancelledError
            job.done, job.total = done, total

        def run() -> None:
            if job.cancel.is_set() or job.state is not JobState.QUEUED:
                return
            _lower_thread_priority()
            job.state, job.started_at = JobState.RUNNING, time.time()
            self._save(job)
            try:
                result = work(progress)
                # Done means all of it: work whose progress is a share of a budget (the
                # optimisers report elapsed / time limit) ends below its total otherwise.
                job.done = max(job.done, job.total)
                job.result, job.state = result, JobState.DONE
            except JobCancelledError:
                job.state = JobState.CANCELLED
            except Exception as exc:  # a job failure is reported, never crashes the service
                job.state = JobState.FAILED
                job.error = f"{type(exc).__name__}: {exc}"
            job.finished_at = time.time()
            self._durations = [*self._durations[-19:], job.finished_at - job.started_at]
            self._finished(job)

        self._pool.submit(run)
        return job

    def cancel(self, job: Job) -> Job:
        """Ask ``job`` to stop: a queued one is cancelled now, a running one at its next
        progress report."""
        with self._lock:
            job.cancel.set()
            changed = job.state is JobState.QUEUED
            if changed:
                job.state, job.finished_at = JobState.CANCELLED, time.time()
        if changed:
            self._finished(job)
        return job

    def shutdown(self) -> None:
        """Stop: queued jobs are cancelled, running ones stop at their next progress
        report (and are saved as cancelled)."""
        for job in list(self.jobs.values()):
            if job.state not in FINISHED:
                self.cancel(job)
        self._pool.shutdown(wait=True, cancel_futures=True)


def _lower_thread_priority(nice: int = 10) -> None:
    """Let requests go first: raise this worker thread's nice value (Linux applies it per
    thread; numba threads it starts inherit it). Elsewhere, or if refused, nothing."""
    try:
        tid = threading.get_native_id()
        if os.getpriority(os.PRIO_PROCESS, tid) < nice:
            os.setpriority(os.PRIO_PROCESS, tid, nice)
    except (AttributeError, OSError):
        pass


def count_sweep_cases(network: Network, *, links: bool, nodes: bool, srlgs: bool,
                      link_pairs: bool, max_pairs: int) -> int:
    """How many failure cases a sweep evaluates (link pairs: at most ``max_pairs``)."""
    n_links = len(network.links)
    n_srlgs = len({g for link in network.links.values() for g in link.srlgs})
    return (n_links * links + len(network.nodes) * nodes + n_srlgs * srlgs
            + min(max_pairs, n_links * (n_links - 1) // 2) * link_pairs)


def check_may_cancel(who: Principal, job: Job) -> Job:
    """Only a job's owner, or an admin, may cancel it (403 otherwise)."""
    if who.name != job.owner and who.role < Role.ADMIN:
        raise HTTPException(403, detail=f"job {job.id} belongs to {job.owner!r}: only its "
                                        "owner or an admin may cancel it")
    return job


def check_sweep_size(who: Principal, cases: int, n_arcs: int, settings: Settings) -> None:
    """Refuse (403) a sweep larger than the caller's role may run, in failure cases x arcs."""
    limit = (settings.sweep_max_work_admin if who.role >= Role.ADMIN
             else settings.sweep_max_work_planner)
    work = cases * max(1, n_arcs)
    if work > limit:
        raise HTTPException(403, detail=(
            f"a sweep of {cases:,} failure cases on {n_arcs:,} arcs ({work:.3g} case-arcs) "
            f"exceeds the {who.role.name.lower()} limit of {limit:.3g}; sweep fewer element "
            "kinds, lower max_pairs, or ask an admin (NETTWIN_SWEEP_MAX_WORK_PLANNER / _ADMIN)"))
