"""Lab fault episodes kept as data and diagnosed again: each episode's records go through
the live twin (what ``nettwin ingest`` does: decode, dead letters, history store), the
window is read back from the twin's history as ``nettwin diagnose --since`` reads it, plus
the drop counters of the same records (the history store keeps rates, not drops), and
the counterfactual ranking and the correlation baseline are scored against the label.

File format (gzip JSON lines): a first line ``{"network": <native network document>}``
(the lab as built: the twin knows nothing of the faults), then one line per episode
``{"label": {...}, "records": [...]}``."""

from __future__ import annotations

import gzip
import json
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nettwin.diagnose import Diagnoser, ObservedWindow, history_window, observe
from nettwin.diagnose.baseline import correlate
from nettwin.model import Network
from nettwin.synth.faults import FaultKind


@dataclass(frozen=True)
class Scored:
    label: dict[str, Any]
    got: tuple[tuple[FaultKind, str], ...]  # the ranking, best first
    baseline: tuple[tuple[FaultKind, str], ...]
    seconds: float  # wall time of the diagnosis
    cpu_s: float
    baseline_s: float
    dead_letters: int

    def hit(self, k: int, baseline: bool = False) -> bool:
        want = (FaultKind(self.label["kind"]), self.label["element"])
        return want in (self.baseline if baseline else self.got)[:k]


def write_episodes(path: Path, network: Network, episodes: list[dict[str, Any]]) -> None:
    from nettwin.io.native import network_to_document

    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(json.dumps({"network": network_to_document(network)}) + "\n")
        for ep in episodes:
            fh.write(json.dumps(ep, separators=(",", ":")) + "\n")


def read_episodes(path: Path) -> tuple[Network, list[dict[str, Any]]]:
    from nettwin.io.native import parse_document

    with gzip.open(path, "rt", encoding="utf-8") as fh:
        lines = [json.loads(line) for line in fh if line.strip()]
    return parse_document(lines[0]["network"], str(path)), lines[1:]


def ingested_window(network: Network, records: list[dict[str, Any]]) -> ObservedWindow:
    """The records through a live twin into a history store, and the window back from it
    with the drop rates of the same records (which the store does not keep)."""
    from nettwin.live import LiveTwin, Message, Store

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/twin.db"
        store = Store(url)
        try:
            twin = LiveTwin(network, store)
            twin.process([Message(r) for r in records], source="lab")
            key = twin.name
        finally:
            store.close()
        start = min(r["time"] for r in records)
        window = history_window(network, url, start - 1, name=key)
    return _with_drops(window, observe(network, records))


def _with_drops(window: ObservedWindow, direct: ObservedWindow) -> ObservedWindow:
    """The history's window with the records' drop rates and port status at its instants
    (the history keeps a link's status changes, the records every port's report)."""
    import dataclasses

    k = np.searchsorted(direct.times, window.times)
    k = np.minimum(k, direct.n_steps - 1)
    same = direct.times[k] == window.times
    dropped = np.where(same[:, None], direct.dropped_bps[k], np.nan)
    oper = np.where(same[:, None] & (direct.oper_up[k] >= 0), direct.oper_up[k],
                    window.oper_up).astype(np.int8)
    return dataclasses.replace(window, dropped_bps=dropped, oper_up=oper,
                               dead_letters=direct.dead_letters)


def diagnose_episodes(network: Network, episodes: list[dict[str, Any]],
                      through_ingest: bool = True) -> Iterator[Scored]:
    """Every episode diagnosed (top 3) and correlated, in the same process."""
    diag = Diagnoser(network)
    for ep in episodes:
        records = ep["records"]
        obs = ingested_window(network, records) if through_ingest else \
            observe(network, records)
        w0, c0 = time.perf_counter(), time.process_time()
        result = diag.diagnose(obs, top=3)
        w1, c1 = time.perf_counter(), time.process_time()
        base = correlate(network, obs, top=3)
        w2 = time.perf_counter()
        yield Scored(ep["label"], tuple((c.kind, c.element) for c in result.causes),
                     tuple(base), w1 - w0, c1 - c0, w2 - w1, obs.dead_letters)
