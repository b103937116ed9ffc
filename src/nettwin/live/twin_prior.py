"""The live twin's traffic-matrix prior (a part of ``LiveTwin``): learned from measured past
matrices (``use_history``), kept in the store so that a restart learns the same prior again
(read at start, learned at its first use), carried over from a history kept for an earlier
version of the network (``carry_history``), or forgotten (back to tomogravity). Priors come
only from measurements, never from the twin's own earlier estimates (that chain diverges)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from nettwin.errors import NettwinError
from nettwin.estimate import TmEstimate
from nettwin.estimate.history import (
    HistoryPrior,
    PriorChoice,
    TmHistory,
    prior_from_history,
)
from nettwin.estimate.tm import RoutingMatrix
from nettwin.live.fidelity import NETWORK_OBJECT
from nettwin.live.state import TwinState
from nettwin.live.store import Store
from nettwin.model import Network

log = logging.getLogger(__name__)


class TwinPrior:
    """The prior's part of ``LiveTwin``, which it is mixed into: the twin's state it reads
    and the locks it takes are declared here and kept by ``LiveTwin``."""

    name: str
    network: Network
    store: Store | None
    state: TwinState
    tm: TmEstimate | None
    _lock: threading.RLock
    _write_lock: threading.RLock
    routing: Callable[..., RoutingMatrix]
    _refuse_if_retired: Callable[[], None]

    def _init_prior(self) -> None:
        """No prior yet (``LiveTwin.__init__`` then reads the store's)."""
        # the measured matrices the prior is learned from; read from the store at start,
        # they are learned from at the prior's first use (seconds on large networks;
        # reading the state needs none of it): _history set, _prior still None
        self._history: TmHistory | None = None
        self._prior: HistoryPrior | None = None
        self._prior_choice: PriorChoice | None = None
        # "given" (use_history) or "store" (learned again from the kept matrices at start)
        self.prior_source: str | None = None
        # (key, matrices, write time) of histories kept for earlier versions of this network
        # (other ports, another key) when none is kept under this one, the most recently
        # written first: carry_history takes one over
        self._elsewhere: list[tuple[str, int, float | None]] = []
        # which of them carry_history took, and why that one (its key, when written)
        self.carried_from: str | None = None

    @property
    def prior(self) -> HistoryPrior | None:
        """The traffic-matrix prior learned from measured matrices (``use_history``, or
        the ones the store keeps), None for tomogravity's gravity prior."""
        self._learn_pending()
        return self._prior

    @property
    def prior_choice(self) -> PriorChoice | None:
        self._learn_pending()
        return self._prior_choice

    @property
    def prior_matrices(self) -> int:
        """How many measured matrices the prior is (or will be) learned from."""
        return 0 if self._history is None else self._history.n

    @property
    def prior_labels(self) -> tuple[str, ...]:
        """The matrices the prior is (or will be) learned from."""
        return () if self._history is None else self._history.labels

    @property
    def history_elsewhere(self) -> list[tuple[str, int]]:
        """(key, matrices) of the histories kept for earlier versions of this network, the
        most recently written first."""
        return [(key, n) for key, n, _w in self._elsewhere]

    def _restore_history(self, store: Store) -> None:
        """Read the matrices kept in the store (a restart keeps the prior); the prior is
        learned from them at its first use. A history that cannot be read or no longer
        fits is reported and left out."""
        if not store.has_tm_history(self.name):  # the usual case: no routing matrix built
            self._elsewhere = store.tm_histories_elsewhere(self.name)  # the newest first
            for key, n in self.history_elsewhere:
                log.warning("%s: gravity prior, while %d measured matrices are kept under %s "
                            "(an earlier version of the network): carry_history() takes "
                            "them over, forget_history() forgets them", self.name, n, key)
            return
        try:
            history = store.tm_history(self.name, self._pair_names())
        except (ValueError, NettwinError) as exc:
            log.warning("traffic history of %s not used: %s (PUT it again)", self.name, exc)
            return
        if history is not None:
            with self._lock:
                self._history, self.prior_source = history, "store"

    def _learn_pending(self) -> None:
        if self._prior is not None or self._history is None:
            return
        with self._lock:
            history = self._history
            if self._prior is not None or history is None:
                return
            try:
                self.use_history(history, keep=False)
                self.prior_source = "store"
            except (ValueError, NettwinError) as exc:
                log.warning("traffic history of %s not used: %s (PUT it again)", self.name,
                            exc)
                self._history, self.prior_source = None, None

    def use_history(self, history: TmHistory, keep: bool = True) -> PriorChoice:
        """Learn the traffic-matrix prior from measured past matrices (on the network's
        pairs, ``nettwin.io.load_tm_history``); every later estimate uses it. With a store
        the matrices are kept there (``keep``): a restart learns the same prior again."""
        if history.n == 0:
            raise NettwinError("no measured matrix in the history: give at least one "
                               "non-empty matrix (three or more to choose and calibrate)")
        rm = self.routing()
        if history.rate_bps.shape[1] != rm.src.size:
            raise NettwinError(f"the history has {history.rate_bps.shape[1]} pairs per "
                               f"matrix, the network {rm.src.size}: read it onto this "
                               "network's pairs (load_tm_history)")
        prior, choice = prior_from_history(history, rm, self.state.compiled.n_nodes,
                                           edge=False)
        with self._lock:
            self._history, self._prior, self._prior_choice = history, prior, choice
            self.prior_source = "given"
            self.tm = None  # the next check starts from an estimate with the new prior
        if keep and self.store is not None:
            with self._write_lock:
                self._refuse_if_retired()
                self.store.save_tm_history(self.name, history, self._pair_names())
        return choice

    def _pair_names(self) -> list[tuple[str, str]]:
        """(src, dst) node names of the routing matrix's pairs, in its column order."""
        rm, ids = self.routing(), self.network.node_ids
        return [(ids[a], ids[b]) for a, b in zip(rm.src.tolist(), rm.dst.tolist(),
                                                 strict=True)]

    def carry_history(self) -> PriorChoice:
        """Learn the prior from the matrices kept for an earlier version of this network
        (``history_elsewhere``: its links or ports changed, so its key did) and keep them
        under this network's key; the old key's copy is forgotten. Of several, the most
        recently written is taken; ``carried_from`` says which, and logs it."""
        if self.store is None or not self.history_elsewhere:
            raise NettwinError(f"no traffic history is kept for an earlier version of "
                               f"{self.name}: give measured matrices (ingest --prior-from "
                               "FILES)")
        key, _n, written = self._elsewhere[0]
        try:
            history = self.store.tm_history(key, self._pair_names())
        except ValueError as exc:
            raise NettwinError(f"the traffic history kept under {key} does not fit "
                               f"{self.name}: {exc}; learn the prior again (ingest "
                               "--prior-from FILES) or forget it (estimate-tm "
                               "--forget-prior)") from None
        if history is None:
            raise NettwinError(f"the traffic history kept under {key} is gone (forgotten "
                               "meanwhile?): give measured matrices (ingest --prior-from)")
        choice = self.use_history(history)
        with self._lock:  # kept in the store under this key now, as a restart reports it
            self.prior_source = "store"
        self.store.forget_tm_history(key)
        when = ("written before write times were kept" if written is None else
                f"written {datetime.fromtimestamp(written, UTC).isoformat(timespec='seconds')}")
        others = len(self.history_elsewhere) - 1
        self.carried_from = (f"{key} ({when}; the most recently written of {others + 1} "
                             "earlier versions' histories)" if others else f"{key} ({when})")
        log.info("%s: carried %d measured matrices over from %s", self.name, history.n,
                 self.carried_from)
        self._elsewhere = self._elsewhere[1:]
        return choice

    def forget_history(self) -> None:
        """Back to tomogravity (gravity prior); the histories kept for earlier versions of
        the network (``history_elsewhere``) are forgotten too."""
        with self._lock:
            self._history, self._prior, self._prior_choice = None, None, None
            self.prior_source = None
            self.tm = None
            self.state.alarms.pop((NETWORK_OBJECT, "modelDrift"), None)
        if self.store is not None:
            self.store.forget_tm_history(self.name)
            for key, _n, _w in self._elsewhere:
                self.store.forget_tm_history(key)
        self._elsewhere = []
