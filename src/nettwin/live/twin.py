"""The live twin: source -> decode -> state -> store, then acknowledge; traffic matrix from the
counters, model fidelity and drift alarms, scenarios as of a past instant."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nettwin.engine import compile_network
from nettwin.errors import NettwinError
from nettwin.estimate import TmEstimate, estimate_tm, routing_matrix
from nettwin.live.observations import DeadLetter, Decoder
from nettwin.live.sources import Ack, Message, Source
from nettwin.live.state import Changes, TwinState
from nettwin.live.store import PastState, Store, history_key
from nettwin.live.topology import apply_topology
from nettwin.model import Network
from nettwin.model.demands import DEFAULT_CLASS, DemandTable
from nettwin.paths import data_dir

DRIFT_THRESHOLD = 0.2


def default_store_url(folder: Path | None = None) -> str:
    """Embedded SQLite file ``twin.db`` in ``folder`` (default: the data folder,
    NETTWIN_DATA_DIR or ~/.local/share/nettwin), created if missing."""
    folder = folder or data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'twin.db'}"


@dataclass(frozen=True)
class Fidelity:
    """Measured vs predicted rate per arc, from the estimated matrix routed by the twin."""

    arc_error: np.ndarray  # |predicted - measured| / max(measured, 1 % capacity); nan: none
    score: float  # 1 - traffic-weighted mean relative error, in [0, 1]
    drifting: list[str]  # arcs whose error exceeds the threshold


class LiveTwin:
    def __init__(self, network: Network, store: Store | None = None, *,
                 drift_threshold: float = DRIFT_THRESHOLD, assess_services: bool = False,
                 name: str | None = None, network_id: str | None = None) -> None:
        self.network = network
        self.base_network = network  # before any topology update (history replays them)
        # The store's key: the network id + a fingerprint of its ports (never another
        # network's history under the same name), unless a name is given.
        self.name = name or history_key(network, network_id)
        self.assess_services = assess_services
        self.state = TwinState(network, assess_services=assess_services)
        self.decoder = Decoder(self.state.ports)
        self.store = store
        self.drift_threshold = drift_threshold
        self._cursor: dict[str, int | None] = {}
        self.dead = 0
        self.batches = 0
        self.latencies_s: list[float] = []  # receive -> state applied, per batch
        self.listeners: list[Callable[[Changes], None]] = []  # after each committed batch
        self.tm: TmEstimate | None = None  # the accepted estimate the twin predicts with
        self._lock = threading.RLock()  # batches may come from several threads (API, feed)
        if store is not None:
            self.state.restore_counters(store.counters(self.name))

    # ------------------------------------------------------------------ ingestion
    def process(self, messages: list[Message], source: str = "in-process",
                received: float | None = None) -> Changes:
        """Decode, apply and commit one batch (skipping what the store already has)."""
        received = time.time() if received is None else received
        prepared = self._prepare(messages, source)
        self._commit(*prepared, received)
        return prepared[0]

    def _prepare(self, messages: list[Message], source: str
                 ) -> tuple[Changes, list[DeadLetter], tuple[str, int] | None]:
        with self._lock:
            return self._prepare_locked(messages, source)

    def _prepare_locked(self, messages: list[Message], source: str
                        ) -> tuple[Changes, list[DeadLetter], tuple[str, int] | None]:
        if source not in self._cursor:
            self._cursor[source] = (self.store.cursor(self.name, source)
                                    if self.store is not None else None)
        done = self._cursor[source]
        if done is not None:
            messages = [m for m in messages if m.position is None or m.position > done]
        batch = self.decoder.decode((m.payload for m in messages), source)
        changes = self.state.apply(batch)
        for t, change, raw in batch.topology:
            try:
                self._retopologize(change)
            except NettwinError as exc:
                batch.dead.append(DeadLetter(source, raw, str(exc)))
                continue
            changes.events.append((t, "network", "topology", "info", json.dumps(change)))
        positions = [m.position for m in messages if m.position is not None]
        cursor = (source, max(positions)) if positions else None
        if cursor is not None:
            self._cursor[source] = cursor[1]
        self.dead += len(batch.dead)
        self.batches += 1
        return changes, batch.dead, cursor

    def _retopologize(self, change: dict[str, Any]) -> None:
        """The mirrored network changes shape; measured state carries over."""
        network = apply_topology(self.network, change)
        state = TwinState(network, assess_services=self.assess_services)
        state.carry_over(self.state)
        self.network, self.state = network, state
        self.decoder = Decoder(state.ports)

    def _commit(self, changes: Changes, dead: list[DeadLetter],
                cursor: tuple[str, int] | None, received: float) -> None:
        if self.store is not None:
            self.store.commit(self.name, changes, dead, cursor, received=received)
        self.latencies_s.append(time.time() - received)
        with self._lock:  # listeners hear a batch once it is in the history
            for listener in self.listeners:
                listener(changes)

    async def run(self, source: Source, *, stop: asyncio.Event | None = None,
                  max_batch: int = 10_000, max_wait_s: float = 0.05,
                  progress: Callable[[LiveTwin], None] | None = None) -> None:
        """Ingest until the source ends or ``stop`` is set. Batch k commits in a writer
        thread while batch k+1 is decoded (the database releases the GIL, so both cores
        work); a batch is acknowledged to its source only after its commit."""
        loop = asyncio.get_running_loop()
        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nettwin-store")
        pending: tuple[asyncio.Future[None], Ack | None] | None = None

        async def settle() -> None:
            nonlocal pending
            if pending is not None:
                fut, ack = pending
                pending = None
                await fut
                if ack is not None:
                    await ack()

        try:
            async for messages, ack in source.batches(max_batch, max_wait_s):
                received = time.time()
                prepared = self._prepare(messages, source.name)
                fut = loop.run_in_executor(writer, self._commit, *prepared, received)
                await settle()
                pending = (fut, ack)
                if progress is not None:
                    progress(self)
                if stop is not None and stop.is_set():
                    break
            await settle()
        finally:
            writer.shutdown(wait=True)
            await source.close()

    # ------------------------------------------------------------------ traffic matrix
    def estimate_tm(self, *, arc_rate_bps: np.ndarray | None = None,
                    arc_up: np.ndarray | None = None, mu: float = 0.01) -> TmEstimate:
        """Traffic matrix from the current (or given) arc rates, routed as the network is."""
        rates = self.state.arc_rate_bps if arc_rate_bps is None else arc_rate_bps
        up = self.state.arc_up() if arc_up is None else arc_up
        c = self.state.compiled
        rm = routing_matrix(c, up)
        return estimate_tm(rm, np.where(up, rates, np.nan), c.arc_src, c.arc_dst, c.n_nodes,
                           mu=mu)

    def refresh_tm(self) -> TmEstimate:
        """Estimate the matrix from the counters now and predict with it from here on."""
        self.tm = self.estimate_tm()
        return self.tm

    def fidelity(self, est: TmEstimate | None = None) -> Fidelity:
        """How well the twin reproduces the counters: the accepted matrix (``refresh_tm``;
        else one estimated now) routed as the twin believes the network routes, against the
        measured rates. A matrix estimated from the same counters explains them by
        construction, so drift shows against an earlier estimate: when the network changes
        in a way the twin was not told (a silent failure, a metric change), the prediction
        and the counters part."""
        est = est or self.tm or self.estimate_tm()
        c = self.state.compiled
        rm = routing_matrix(c, self.state.arc_up())
        predicted = rm.a @ est.rate_bps
        measured = self.state.arc_rate_bps
        floor = 0.01 * c.arc_capacity_bps
        err = np.abs(predicted - measured) / np.maximum(measured, floor)
        ok = np.isfinite(err)
        weights = np.where(ok, np.nan_to_num(measured), 0.0)
        score = (1.0 - float(np.average(np.where(ok, err, 0.0), weights=weights))
                 if weights.sum() > 0 else 1.0)
        drifting = [c.arc_label(int(a))
                    for a in np.flatnonzero(ok & (err > self.drift_threshold))]
        return Fidelity(np.where(ok, err, np.nan), max(0.0, min(1.0, score)), drifting)

    def check_drift(self, fidelity: Fidelity | None = None) -> Changes:
        """Raise a drift alarm on every arc the twin mispredicts; clear those that recovered."""
        fid = fidelity or self.fidelity()
        ch = Changes(time=self.state.time)
        want = {(arc, "modelDrift"): "major" for arc in fid.drifting}
        have = {k: v for k, v in self.state.alarms.items() if k[1] == "modelDrift"}
        for key, sev in want.items():
            if key not in have:
                ch.alarms_raised.append((key[0], key[1], sev))
        for key in set(have) - set(want):
            ch.alarms_cleared.append(key)
        self.state.alarms = {k: v for k, v in self.state.alarms.items()
                             if k[1] != "modelDrift"} | want
        if self.store is not None and (ch.alarms_raised or ch.alarms_cleared):
            self.store.commit(self.name, ch, received=time.time())
        return ch

    # ------------------------------------------------------------------ history
    def state_at(self, at: float) -> PastState:
        if self.store is None:
            raise ValueError("history needs a store")
        return self.store.state_at(self.name, self.state.compiled.n_arcs, at)

    def network_at(self, at: float, mu: float = 0.01) -> Network:
        """The network as it was at ``at``: link states then, traffic estimated from the
        rates measured then. Any scenario can run on it."""
        past = self.state_at(at)
        shaped = self.base_network
        if self.store is not None:
            for change in self.store.topology_changes(self.name, at):
                shaped = apply_topology(shaped, change)
        return live_network(shaped, past.link_up, past.arc_rate_bps, mu)

    def network_now(self, mu: float = 0.01) -> Network | None:
        """The network as it is now (link states as observed, traffic estimated from the
        measured rates), or None before any rate is measured."""
        if not np.isfinite(self.state.arc_rate_bps).any():
            return None
        up = dict(zip(self.state.link_ids, self.state.link_up.tolist(), strict=True))
        return live_network(self.network, up, self.state.arc_rate_bps, mu)

    def summary(self) -> dict[str, Any]:
        lat = np.array(self.latencies_s) if self.latencies_s else np.zeros(1)
        return {"network": self.name, "samples": self.state.samples, "dead_letters": self.dead,
                "batches": self.batches, "time": self.state.time,
                "latency_p50_s": float(np.percentile(lat, 50)),
                "latency_p99_s": float(np.percentile(lat, 99))}


def live_network(shaped: Network, link_up: dict[str, bool], arc_rate_bps: np.ndarray,
                 mu: float = 0.01) -> Network:
    """``shaped`` with these link states and the traffic matrix estimated (tomogravity)
    from these arc rates. The plan's demands and services are kept, re-rated: the estimate
    of each node pair is split over the plan's demands of that pair in proportion to their
    planned rates (an unplanned pair becomes a demand of its own), so what-ifs on it still
    check every SLA."""
    links = {lid: dataclasses.replace(lk, oper_up=link_up.get(lid, lk.oper_up))
             for lid, lk in shaped.links.items()}
    network = dataclasses.replace(shaped, links=links)
    up = np.repeat([lk.is_up for lk in links.values()], 2)
    c = compile_network(network)
    rm = routing_matrix(c, up)
    rates = arc_rate_bps[: c.n_arcs] if arc_rate_bps.size >= c.n_arcs else np.concatenate(
        [arc_rate_bps, np.full(c.n_arcs - arc_rate_bps.size, np.nan)])
    est = estimate_tm(rm, np.where(up, rates, np.nan), c.arc_src, c.arc_dst, c.n_nodes, mu=mu)
    n = c.n_nodes
    pair_est = np.zeros(n * n)
    np.add.at(pair_est, est.src.astype(np.int64) * n + est.dst, est.rate_bps)
    plan = network.demands
    plan_pair = plan.src.astype(np.int64) * n + plan.dst
    pair_plan = np.bincount(plan_pair, plan.rate_bps, n * n)
    pair_count = np.bincount(plan_pair, minlength=n * n)
    share = np.where(pair_plan[plan_pair] > 0, plan.rate_bps / np.where(
        pair_plan[plan_pair] > 0, pair_plan[plan_pair], 1.0), 1.0 / pair_count[plan_pair])
    rate = pair_est[plan_pair] * share
    extra = np.flatnonzero((pair_est > 0) & (pair_count == 0))
    src = np.concatenate([plan.src, (extra // n).astype(plan.src.dtype)])
    dst = np.concatenate([plan.dst, (extra % n).astype(plan.dst.dtype)])
    ids = None if plan.ids is None else plan.ids + tuple(
        f"{network.node_ids[e // n]}->{network.node_ids[e % n]}" for e in extra.tolist())
    classes = np.concatenate([plan.class_index, np.full(extra.size, plan.class_names.index(
        DEFAULT_CLASS) if DEFAULT_CLASS in plan.class_names else 0, plan.class_index.dtype)])
    names = plan.class_names if DEFAULT_CLASS in plan.class_names or not extra.size \
        else (*plan.class_names, DEFAULT_CLASS)
    if DEFAULT_CLASS not in plan.class_names and extra.size:
        classes[len(plan):] = len(plan.class_names)
    demands = DemandTable(src.astype(np.int32), dst.astype(np.int32),
                          np.concatenate([rate, pair_est[extra]]), classes.astype(np.int16),
                          names, ids)
    return network.with_demands(demands, network.services)
