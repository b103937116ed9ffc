"""The live twin: source -> decode -> state -> store, then acknowledge; traffic matrix from the
counters, model fidelity and drift alarms, scenarios as of a past instant.

The traffic matrix is estimated from the measured arc rates: tomogravity (a gravity prior
projected onto the counters) until the operator gives measured past matrices (flow exports,
uploaded matrices); from then on the prior is learned from them (``use_history``: fan-out
shares per time of day, chosen and calibrated on the history's own later part) and every
estimate, the live basis of what-ifs and the drift check use it. Times of day and days of
the week are read in the operator's ``timezone`` (an IANA name, default UTC), the zone the
history's dates are written in. Priors come only from
measurements, never from the twin's own earlier estimates (that chain diverges); the
prior's part of the twin is ``twin_prior.TwinPrior``.

Drift is checked every ``drift_every_s`` of data time while telemetry flows (``maybe_check``):
the accepted matrix routed as the twin believes the network routes against the counters
(per arc), and, with a history prior, the innovation of the counters given the prior (the
whole network: a silent failure or metric change makes the counters inconsistent with the
twin's routing and the history). The matrix is then re-estimated and accepted."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from nettwin.errors import NettwinError, NetworkGoneError, StoreError
from nettwin.estimate import TmEstimate, routing_matrix
from nettwin.estimate.projection import misfit_level
from nettwin.estimate.tm import RoutingMatrix
from nettwin.live.fidelity import Fidelity, compare_rates, drift_alarms, fit_level
from nettwin.live.live_network import (
    COUNTER_NOISE,
    estimate_matrix,
    live_network,
    with_link_states,
)
from nettwin.live.observations import DeadLetter, Decoder
from nettwin.live.sources import Ack, Message, Source
from nettwin.live.state import Changes, TwinState
from nettwin.live.store import PastState, Store, default_store_url, history_key
from nettwin.live.topology import apply_topology
from nettwin.live.twin_prior import TwinPrior
from nettwin.model import Network
from nettwin.timezones import check_timezone, operator_zone

# LiveTwin, and the names that lived here before fidelity, live_network and the store's
# default took them (their old import path keeps working)
__all__ = ["Fidelity", "LiveTwin", "default_store_url", "fit_level", "live_network"]

log = logging.getLogger(__name__)

DRIFT_THRESHOLD = 0.2
DRIFT_EVERY_S = 60.0  # data time between drift checks (and matrix refreshes)
# the dense routing matrix (arcs x node pairs, float64) the estimate needs, above which the
# live twin does not estimate the matrix on its own (the engine still simulates the plan)
MAX_ROUTING_CELLS = 25_000_000  # 200 MB; germany50: 88 arcs x 2,450 pairs = 0.2 M
# pauses before a failed store commit is tried again while ingesting (a database restart or
# a dropped connection outlasts a few hundred ms; a broken store is reported within ~8 s)
COMMIT_RETRY_S = (0.2, 1.0, 2.0, 5.0)
# The cursor rows numbering the batches that carry no source position and may be tried again
# (``run``'s, from a source without offsets), one per twin object (two processes may write
# one network's history: neither must take the other's number for its own): a commit tried
# again after its answer was lost finds its number there and is not written twice.
# Parentheses: no source is named so.
UNPOSITIONED = "(unpositioned {})"
# a decoded and applied batch, to commit: its changes, dead letters, source position and
# the network it was applied to (restored if the store fails the batch)
Prepared = tuple[Changes, list[DeadLetter], tuple[str, int] | None, Network]


class LiveTwin(TwinPrior):
    def __init__(self, network: Network, store: Store | None = None, *,
                 drift_threshold: float = DRIFT_THRESHOLD, assess_services: bool = False,
                 name: str | None = None, network_id: str | None = None,
                 drift_every_s: float | None = DRIFT_EVERY_S,
                 counter_noise: float = COUNTER_NOISE, timezone: str | None = None) -> None:
        if not 0.0 < counter_noise <= 0.5:
            raise NettwinError(f"counter_noise {counter_noise!r}: the counters' relative "
                               "error, above 0 and at most 0.5 (0.01 for 1 %)")
        # the operator's IANA zone (default UTC): the counters' epoch times are read in it
        # for the prior's time-of-day bin and day type, as the history's dates are written
        self.timezone = check_timezone(timezone)
        self.zone = operator_zone(self.timezone)
        self.network = network
        # the counters' relative error every estimate is told (the drift alarm's unit)
        self.counter_noise = counter_noise
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
        self._unpositioned = (UNPOSITIONED.format(secrets.token_hex(4)), 0)  # row, last number
        self.dead = 0
        self.batches = 0
        self.commit_failures = 0  # store commits that failed (each tried again or raised)
        # a batch the store failed was applied here: the counters and cursors are read from
        # the store again before the next batch (``_resync``), the network before it restored
        self._stale = False
        self._undo_network: Network | None = None
        self.latencies_s: list[float] = []  # receive -> state applied, per batch
        self.listeners: list[Callable[[Changes], None]] = []  # after each committed batch
        self.tm: TmEstimate | None = None  # the accepted estimate the twin predicts with
        self._init_prior()
        self.drift_every_s = drift_every_s
        self._checked_at = -np.inf  # data time of the last drift check
        self.last_innovation = float("nan")
        self.last_misfit = float("nan")  # the drift statistic of the last check
        self._rm: tuple[tuple[int, bytes], RoutingMatrix] | None = None
        self._lock = threading.RLock()  # batches may come from several threads (API, feed)
        # held while a batch (or anything else kept for the network) is written: ``retire``
        # takes it, so once it returns no write is in flight and none follows
        self._write_lock = threading.RLock()
        self.retired = False
        if store is not None:
            self.state.restore_counters(store.counters(self.name))
            self._restore_history(store)

    # ------------------------------------------------------------------ ingestion
    def process(self, messages: list[Message], source: str = "in-process",
                received: float | None = None) -> Changes:
        """Decode, apply and commit one batch (skipping what the store already has)."""
        received = time.time() if received is None else received
        prepared = self._prepare(messages, source)
        self._commit(*prepared, received)
        return prepared[0]

    def _prepare(self, messages: list[Message], source: str
                 ) -> Prepared:
        with self._lock:
            return self._prepare_locked(messages, source)

    def _prepare_locked(self, messages: list[Message], source: str
                        ) -> Prepared:
        self._refuse_if_retired()
        if self._stale:
            self._resync()
        before = self.network
        if source not in self._cursor:
            self._cursor[source] = (self.store.cursor(self.name, source)
                                    if self.store is not None else None)
        done = self._cursor[source]
        if done is not None:
            messages = [m for m in messages if m.position is None or m.position > done]
        batch = self.decoder.decode((m.payload for m in messages), source)
        changes = self.state.apply(batch)
        drift = self.maybe_check()
        if drift is not None:
            changes.alarms_raised += drift.alarms_raised
            changes.alarms_cleared += drift.alarms_cleared
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
        return changes, batch.dead, cursor, before

    def _resync(self) -> None:
        """After a batch the store failed: the counters and source positions as the store
        has them (what a restart reads), so that the batch, sent again, is taken again."""
        assert self.store is not None
        try:
            rows = self.store.counters(self.name)
        except Exception as exc:  # the database's own: still down
            raise StoreError(f"{self.name}: the history store failed a batch and cannot be "
                             f"read again ({_driver_words(exc)}); fix the store and send the "
                             "batch again") from exc
        if self._undo_network is not None and self._undo_network is not self.network:
            self._reshape(self._undo_network)  # its topology updates were not kept either
        self.state.rewind_counters(rows)
        self._cursor.clear()
        self._stale, self._undo_network = False, None

    def _mark_stale(self, before: Network) -> None:
        """A batch applied here on the network ``before`` was not written."""
        with self._lock:
            self._stale = True
            if self._undo_network is None:
                self._undo_network = before

    def _retopologize(self, change: dict[str, Any]) -> None:
        """The mirrored network changes shape; measured state carries over."""
        self._reshape(apply_topology(self.network, change))

    def _reshape(self, network: Network) -> None:
        """Mirror ``network`` from now on, the measured state carried over."""
        state = TwinState(network, assess_services=self.assess_services)
        state.carry_over(self.state)
        self.network, self.state = network, state
        self.decoder = Decoder(state.ports)

    def _commit(self, changes: Changes, dead: list[DeadLetter],
                cursor: tuple[str, int] | None, before: Network, received: float,
                retry_s: tuple[float, ...] = ()) -> None:
        """Write one batch to the store (atomically: a failed commit wrote none of it, unless
        only its answer was lost), then tell the listeners. A store that fails is tried again
        after each pause of ``retry_s`` (a dropped database connection comes back on the
        next try; a batch whose source position the store already holds is not written
        twice, one without a position numbered for that under ``UNPOSITIONED``), each
        failure logged and counted in ``commit_failures``; after the last, StoreError, and
        the next batch first reads the store again (``_resync``). The write lock is held
        through the pauses: ``retire`` waits for them (up to ~8 s with ``COMMIT_RETRY_S``)."""
        with self._write_lock:
            self._refuse_if_retired()
            given = cursor  # the source's own position (errors name it)
            if cursor is None and retry_s:  # numbered only where a retry may look it up
                row, last = self._unpositioned
                cursor = self._unpositioned = row, last + 1
            for attempt in range(len(retry_s) + 1):
                if self.store is None:
                    break
                try:
                    if attempt and cursor is not None and (
                            self.store.cursor(self.name, cursor[0]) or 0) >= cursor[1]:
                        break  # the failed try did commit (its answer was lost): not twice
                    self.store.commit(self.name, changes, dead, cursor, received=received)
                    break
                except NettwinError:
                    raise
                except Exception as exc:  # the database's own (connection, lock, disk)
                    self.commit_failures += 1
                    upto = f" up to position {given[1]} of {given[0]}" if given else ""
                    where = (f"{self.name}: the history store failed to commit the batch"
                             f"{upto} (data time {changes.time:.0f}; {_driver_words(exc)})")
                    if attempt == len(retry_s):
                        self._mark_stale(before)  # applied here: read the store again
                        raise StoreError(
                            f"{where}, {attempt + 1} tries: nothing of the batch was written"
                            " and its source was not acknowledged; fix the store (is the "
                            "database up, its disk full, its schema dropped?) and run again:"
                            " a durable source sends the batch again") from exc
                    log.warning("%s; trying again in %.1f s", where, retry_s[attempt])
                    time.sleep(retry_s[attempt])
            self.latencies_s.append(time.time() - received)
            with self._lock:  # listeners hear a batch once it is in the history
                for listener in self.listeners:
                    listener(changes)

    def retire(self) -> None:
        """Take nothing more (the network is being deleted): waits for a write in flight,
        then every later batch or kept history raises NetworkGoneError, so nothing is
        written under the network's key once its rows are deleted."""
        with self._write_lock, self._lock:
            self.retired = True

    def reopen(self) -> None:
        """Take batches again (the delete that retired the twin failed)."""
        with self._write_lock, self._lock:
            self.retired = False

    def _refuse_if_retired(self) -> None:
        if self.retired:
            raise NetworkGoneError(f"the network of {self.name} is being deleted or was: "
                                   "nothing more is taken for it")

    async def run(self, source: Source, *, stop: asyncio.Event | None = None,
                  max_batch: int = 10_000, max_wait_s: float = 0.05,
                  progress: Callable[[LiveTwin], None] | None = None,
                  retry_s: tuple[float, ...] = COMMIT_RETRY_S) -> None:
        """Ingest until the source ends or ``stop`` is set. Batch k commits in a writer
        thread while batch k+1 is decoded (the database releases the GIL, so both cores
        work); a batch is acknowledged to its source only after its commit. A commit the
        store fails is tried again after each pause of ``retry_s``; then StoreError ends the
        run (the batch unacknowledged)."""
        loop = asyncio.get_running_loop()
        writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nettwin-store")
        pending: tuple[asyncio.Future[None], Ack | None] | None = None
        submitted: list[asyncio.Future[None]] = []
        failed: list[StoreError] = []

        def commit(prepared: Prepared, received: float) -> None:
            # the writer takes batches in order: none is written after one that failed
            # (its cursor would skip the failed batch's messages on the next run)
            if failed:  # it was applied here (maybe after a resync): read the store again
                self._mark_stale(prepared[3])
                raise StoreError(f"{self.name}: batch not written after an earlier one "
                                 "failed") from failed[0]
            try:
                self._commit(*prepared, received, retry_s)
            except StoreError as exc:
                failed.append(exc)
                raise

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
                fut = loop.run_in_executor(writer, commit, prepared, received)
                submitted.append(fut)
                await settle()
                del submitted[:-1]
                pending = (fut, ack)
                if progress is not None:
                    progress(self)
                if stop is not None and stop.is_set():
                    break
            await settle()
        finally:
            writer.shutdown(wait=True)
            for f in submitted:  # a commit after the one that raised: its error is read
                f.add_done_callback(lambda f: f.cancelled() or f.exception())
            await source.close()

    # ------------------------------------------------------------------ traffic matrix
    def can_estimate(self) -> bool:
        """Whether the network is small enough for the dense routing matrix of the estimate
        (``MAX_ROUTING_CELLS``)."""
        c = self.state.compiled
        return c.n_arcs * c.n_nodes * (c.n_nodes - 1) <= MAX_ROUTING_CELLS

    def routing(self, up: np.ndarray | None = None) -> RoutingMatrix:
        """The routing matrix of the network with these arcs up (default: the plan's),
        kept for the last link state asked (a drift check, the estimate and its fidelity
        share one)."""
        up = self.state.compiled.arc_up if up is None else up
        key = (id(self.state.compiled), up.tobytes())
        if self._rm is None or self._rm[0] != key:
            self._rm = (key, self._routing(up))
        return self._rm[1]

    def _routing(self, up: np.ndarray) -> RoutingMatrix:
        if not self.can_estimate():
            c = self.state.compiled
            raise NettwinError(
                f"traffic-matrix estimation on {c.n_nodes} nodes / {c.n_arcs} arcs needs a "
                f"{c.n_arcs * c.n_nodes * (c.n_nodes - 1) * 8 / 1e9:.1f} GB routing matrix "
                f"(limit {MAX_ROUTING_CELLS * 8 / 1e9:.1f} GB): use the plan's demands")
        return routing_matrix(self.state.compiled, up)

    def estimate_tm(self, *, arc_rate_bps: np.ndarray | None = None,
                    arc_up: np.ndarray | None = None, mu: float = 0.01,
                    at: float | None = None) -> TmEstimate:
        """Traffic matrix from the current (or given) arc rates, routed as the network is:
        with the history prior when one is learned (``use_history``), else tomogravity."""
        rates = self.state.arc_rate_bps if arc_rate_bps is None else arc_rate_bps
        up = self.state.arc_up() if arc_up is None else arc_up
        rm = self.routing(up)
        return estimate_matrix(rm, np.where(up, rates, np.nan), self.state.compiled,
                               self.prior, self.state.time if at is None else at, mu,
                               self.counter_noise, self.zone)

    def refresh_tm(self) -> TmEstimate:
        """Estimate the matrix from the counters now and predict with it from here on."""
        self.tm = self.estimate_tm()
        return self.tm

    def maybe_check(self) -> Changes | None:
        """Every ``drift_every_s`` of data time: the drift check against the accepted
        matrix, then a fresh estimate accepted unless the twin drifts (the first time only
        the estimate). The
        alarm changes are returned, not committed (the batch that triggered the check
        carries them). None when it is not time yet, the network is too large to
        estimate, or nothing is measured."""
        if self.drift_every_s is None or not np.isfinite(self.state.time):
            return None
        if self.state.time - self._checked_at < self.drift_every_s or not self.can_estimate():
            return None
        if not np.isfinite(self.state.arc_rate_bps).any():
            return None
        self._checked_at = self.state.time
        est = self.estimate_tm()
        changes = None if self.tm is None else self._drift(self.fidelity(), est)
        # a matrix estimated while the twin mispredicts is fitted to the wrong routing:
        # keep the last good one until the drift is explained (the twin is told)
        if not any(kind == "modelDrift" for _obj, kind in self.state.alarms):
            self.tm = est
        return changes

    def fidelity(self, est: TmEstimate | None = None) -> Fidelity:
        """How well the twin reproduces the counters: the accepted matrix (``refresh_tm``;
        else one estimated now) routed as the twin believes the network routes, its level
        fitted to the counters (one factor), against the measured rates. A matrix estimated
        from the same counters explains them by construction, so drift shows against an
        earlier estimate: when the network changes in a way the twin was not told (a silent
        failure, a metric change), the prediction and the counters part."""
        est = est or self.tm or self.estimate_tm()
        rm = self.routing(self.state.arc_up())
        return compare_rates(rm.a @ est.rate_bps, self.state.arc_rate_bps, self.state.compiled,
                             self.drift_threshold)

    def check_drift(self, fidelity: Fidelity | None = None, *,
                    estimate: TmEstimate | None = None) -> Changes:
        """Raise a drift alarm on every arc the twin mispredicts and, with a history prior,
        on the network when the counters are inconsistent with the twin's routing and the
        history (``estimate``: the counters' estimate now, made if not given); clear those
        that recovered. Committed to the store."""
        ch = self._drift(fidelity or self.fidelity(), estimate)
        if self.store is not None and (ch.alarms_raised or ch.alarms_cleared):
            with self._write_lock:
                self._refuse_if_retired()
                self.store.commit(self.name, ch, received=time.time())
        return ch

    def _drift(self, fid: Fidelity, estimate: TmEstimate | None) -> Changes:
        network_problem = None
        if self.prior is not None and self.can_estimate():
            est = estimate or self.estimate_tm()
            self.last_innovation = est.innovation
            self.last_misfit = est.misfit
            if self.prior.drift(est):
                network_problem = (
                    f"counters inconsistent with the twin's routing and the measured history "
                    f"(innovation {est.innovation:.3g}, alarm above "
                    f"{self.prior.alarm_innovation:.3g}; misfit {est.misfit:.3g} counter noise "
                    f"units, alarm above {misfit_level(est.measured_arcs.size):.3g}): "
                    "a silent failure or metric change?")
        return drift_alarms(self.state, fid, self.drift_threshold, network_problem)

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
        return live_network(shaped, past.link_up, past.arc_rate_bps, mu, prior=self.prior,
                            at=at, noise=self.counter_noise, zone=self.zone)

    def network_now(self, mu: float = 0.01) -> Network | None:
        """The network as it is now (link states as observed, traffic estimated from the
        measured rates), or None before any rate is measured. A network too large for the
        matrix estimate (``can_estimate``) carries the plan's demands scaled to the measured
        level instead (one factor fitted to the counters)."""
        if not np.isfinite(self.state.arc_rate_bps).any():
            return None
        up = dict(zip(self.state.link_ids, self.state.link_up.tolist(), strict=True))
        if not self.can_estimate():
            return self._plan_at_measured_level(up)
        return live_network(self.network, up, self.state.arc_rate_bps, mu, prior=self.prior,
                            at=self.state.time, noise=self.counter_noise, zone=self.zone)

    def _plan_at_measured_level(self, link_up: dict[str, bool]) -> Network:
        from nettwin.engine import simulate

        network = with_link_states(self.network, link_up)
        arc_up = self.state.arc_up()
        planned = simulate(self.state.compiled, arc_up=arc_up).arc_load_bps
        level = fit_level(np.where(arc_up, planned, np.nan), self.state.arc_rate_bps)
        level = 1.0 if level is None else max(level, 0.0)
        d = network.demands
        return network.with_demands(dataclasses.replace(
            d, rate_bps=d.rate_bps * level,
            arrivals=None if d.arrivals is None else d.arrivals.rerated(d.rate_bps,
                                                                        d.rate_bps * level)),
            network.services)

    def summary(self) -> dict[str, Any]:
        lat = np.array(self.latencies_s) if self.latencies_s else np.zeros(1)
        return {"network": self.name, "samples": self.state.samples, "dead_letters": self.dead,
                "batches": self.batches, "commit_failures": self.commit_failures,
                "time": self.state.time,
                "latency_p50_s": float(np.percentile(lat, 50)),
                "latency_p99_s": float(np.percentile(lat, 99))}


def _driver_words(exc: BaseException) -> str:
    """A store failure in the database driver's own words (SQLAlchemy wraps them with the
    statement and its parameters), cut to a line's length."""
    cause = getattr(exc, "orig", None) or exc
    return f"{type(cause).__name__}: {str(cause)[:200]}"
