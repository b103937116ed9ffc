"""Uploaded networks and jobs in the service's store, so they survive a restart.

The same database as the live twin's history (``Settings.history_url``: SQLite ``twin.db`` in
the data folder by default, PostgreSQL when configured), opened through ``live.store.Store``
so engine and URL handling live in one place. Networks are kept as their native document
(``io.native``); jobs with their state and, once done, their results.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, delete, select
from sqlalchemy.exc import SQLAlchemyError

from nettwin.api.jobs import Job, JobState
from nettwin.errors import NettwinError, StoreError
from nettwin.io.native import network_to_document, parse_document
from nettwin.live.store import Store, forget_network_rows
from nettwin.model import Network

log = logging.getLogger(__name__)
metadata = MetaData()
networks = Table("api_networks", metadata, Column("id", String(64), primary_key=True),
                 Column("created", Float, nullable=False),
                 Column("document", Text, nullable=False))
# what an uploaded file gave beside the network (SNDlib capacity modules, as modules.yaml)
network_modules = Table("api_network_modules", metadata,
                        Column("id", String(64), primary_key=True),
                        Column("document", Text, nullable=False))
jobs = Table("api_jobs", metadata, Column("id", String(64), primary_key=True),
             Column("kind", String(40), nullable=False),
             Column("network_id", String(200), nullable=False),
             Column("owner", String(200), nullable=False),
             Column("state", String(20), nullable=False),
             Column("created", String(40), nullable=False),
             Column("finished", Float), Column("done", Integer), Column("total", Integer),
             Column("error", Text), Column("result", Text))
proposals = Table("api_proposals", metadata, Column("id", String(64), primary_key=True),
                  Column("network_id", String(200), nullable=False, index=True),
                  Column("agent", String(200), nullable=False),
                  Column("owner", String(200), nullable=False),
                  Column("time", Float, nullable=False),
                  Column("record", Text, nullable=False))


class ServiceStore:
    """Networks and jobs of one service, in the store at ``url``."""

    def __init__(self, url: str) -> None:
        self.store = Store(url)
        self.engine = self.store.engine
        metadata.create_all(self.engine)

    def close(self) -> None:
        self.store.close()

    # ------------------------------------------------------------------ networks
    def save_network(self, nid: str, network: Network,
                     modules: dict[str, Any] | None = None) -> None:
        """Keep a network, and the capacity modules its file gave (``modules``; None keeps
        those stored with it: a network stored again after a change, PUT .../slices, still
        has its file's modules; ``delete_network`` forgets them)."""
        doc = json.dumps(network_to_document(network))
        with self.engine.begin() as conn:
            conn.execute(delete(networks).where(networks.c.id == nid))
            conn.execute(networks.insert().values(id=nid, created=time.time(), document=doc))
            if modules is not None:
                conn.execute(delete(network_modules).where(network_modules.c.id == nid))
                conn.execute(network_modules.insert().values(id=nid,
                                                             document=json.dumps(modules)))

    def delete_network(self, nid: str) -> None:
        """Delete a network and everything kept for it (its live twin's rows: the hub's
        store is this database; its shadow proposals; its modules) in one transaction: a
        store that fails any step leaves all of it, and raises StoreError."""
        try:
            with self.engine.begin() as conn:
                forget_network_rows(conn, nid)
                conn.execute(delete(proposals).where(proposals.c.network_id == nid))
                conn.execute(delete(network_modules).where(network_modules.c.id == nid))
                conn.execute(delete(networks).where(networks.c.id == nid))
        except SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc  # the driver's own error, not the SQL
            # the driver's text (a database host, user, path, or a row's values) is for the
            # server's log, not for the client: the answer names the kind of failure only
            log.warning("the store failed to delete network %r: %s: %s", nid,
                        type(cause).__name__, cause)
            raise StoreError(f"the store failed to delete network {nid!r} "
                             f"({type(cause).__name__}): nothing was deleted, the "
                             "network is as it was; try again") from exc

    def load_modules(self) -> dict[str, dict[str, Any]]:
        """The capacity modules kept beside stored networks, by network id."""
        with self.engine.connect() as conn:
            rows = list(conn.execute(select(network_modules.c.id, network_modules.c.document)))
        return {nid: json.loads(doc) for nid, doc in rows}

    def load_networks(self) -> dict[str, Network]:
        """Every stored network by id, oldest first."""
        with self.engine.connect() as conn:
            rows = list(conn.execute(select(networks.c.id, networks.c.document)
                                     .order_by(networks.c.created)))
        out = {}
        for nid, doc in rows:
            try:
                out[nid] = parse_document(json.loads(doc), f"stored network {nid}")
            except (NettwinError, ValueError) as exc:  # one bad record never stops the service
                log.warning("stored network %s not loaded (kept in the store): %s", nid, exc)
        return out

    # ------------------------------------------------------------------ proposals
    def save_proposal(self, nid: str, owner: str, record: dict[str, Any]) -> None:
        """A shadow-mode record (``validate.shadow.ShadowRecord.document``)."""
        with self.engine.begin() as conn:
            conn.execute(proposals.insert().values(
                id=record["id"], network_id=nid, agent=record["agent"], owner=owner,
                time=record["time"], record=json.dumps(record)))

    def load_proposals(self, nid: str, agent: str | None = None,
                       limit: int = 1000) -> list[dict[str, Any]]:
        """A network's shadow records, oldest first (the latest ``limit``), one agent's
        when ``agent`` is given."""
        q = select(proposals.c.record).where(proposals.c.network_id == nid)
        if agent is not None:
            q = q.where(proposals.c.agent == agent)
        with self.engine.connect() as conn:
            rows = [r for (r,) in conn.execute(
                q.order_by(proposals.c.time.desc(), proposals.c.id).limit(limit))]
        return [json.loads(r) for r in reversed(rows)]

    # ------------------------------------------------------------------ jobs
    def save_job(self, job: Job) -> None:
        row: dict[str, Any] = {
            "id": job.id, "kind": job.kind, "network_id": job.network_id,
            "owner": job.owner, "state": job.state.value, "created": job.created,
            "finished": job.finished_at, "done": job.done, "total": job.total,
            "error": job.error,
            "result": None if job.result is None else json.dumps(job.result)}
        with self.engine.begin() as conn:
            conn.execute(delete(jobs).where(jobs.c.id == job.id))
            conn.execute(jobs.insert().values(**row))

    def delete_jobs(self, ids: list[str]) -> None:
        if ids:
            with self.engine.begin() as conn:
                conn.execute(delete(jobs).where(jobs.c.id.in_(ids)))

    def load_jobs(self) -> list[Job]:
        """Stored jobs; one that was queued or running when the service stopped is failed
        (a sweep cannot resume half-way: submit it again)."""
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(select(jobs))]
        out = []
        for r in rows:
            job = Job(r["id"], r["kind"], r["network_id"], r["owner"],
                      state=JobState(r["state"]), done=r["done"] or 0, total=r["total"] or 0,
                      error=r["error"], created=r["created"],
                      result=None if r["result"] is None else json.loads(r["result"]),
                      finished_at=r["finished"])
            if job.state in (JobState.QUEUED, JobState.RUNNING):
                job.state, job.finished_at = JobState.FAILED, time.time()
                job.error = "interrupted by a restart of the service: submit it again"
                self.save_job(job)
            out.append(job)
        return out
