"""Packet-level ground truth from ns-3 (``ns3gt`` results, compact copies made by
``tools/bursty_groundtruth.py``) and the bursty queueing model scored against it.

A case is one whole network: directed links with DropTail buffers (K = queue + 1 packets),
flows on explicit paths with Poisson or on-off (interrupted Poisson) arrivals and their
exact wire-size moments. Scores: per-link mean wait (links busy >= 10 % with >= 1,000
packets), per-flow queueing delay (flows with >= 1,000 packets received whose queueing is
>= 5 % of their delay), and loss on links that lose > 0.1 % of their packets.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nettwin.engine.arrivals import evaluate_paths
from nettwin.engine.bursts import Bursts, onoff_bursts
from nettwin.engine.mg1k import SizeLaw
from nettwin.engine.qos import PathDemands, Scheduler, simulate_paths
from nettwin.engine.queueing import ArrivalModel
from nettwin.errors import ImportFormatError


@dataclass(frozen=True, eq=False)
class Ns3Case:
    """One ns-3 run as arrays: links are ports, flows follow ``path_arc``."""

    name: str
    split: str  # tuning or heldout
    onoff_share: float
    capacity_bps: np.ndarray
    queue_packets: np.ndarray
    path_ptr: np.ndarray
    path_arc: np.ndarray
    packets_per_s: np.ndarray
    size_mean_bits: np.ndarray
    size_second_moment_bits2: np.ndarray
    bursts: Bursts
    size_law: SizeLaw  # per flow, the law ns3gt samples (``scenario_size_law``)
    onoff: np.ndarray  # per flow
    # measured
    link_wait_s: np.ndarray
    link_wait_ci_s: np.ndarray
    link_utilisation: np.ndarray
    link_tx_packets: np.ndarray
    link_loss: np.ndarray
    link_drops: np.ndarray
    link_offered_packets: np.ndarray  # drops over these: link_loss
    flow_queueing_s: np.ndarray
    flow_delay_s: np.ndarray
    flow_rx_packets: np.ndarray
    flow_tx_packets: np.ndarray  # sent; (tx - rx) / tx is flow_loss
    flow_loss: np.ndarray


def scenario_size_law(sizes: list[dict[str, Any]], mean_bits: np.ndarray,
                      second_moment_bits2: np.ndarray) -> SizeLaw:
    """Each flow's packet-size law as ns3gt draws it: fixed, bimodal and empirical laws
    exactly, an exponential one as an exponential of the mean ns3gt reports (its rounding
    to whole bytes and clamp to [30, 65535] move the mean by under 0.1 %); anything else
    (or no law given) the two-moment fit of the reported moments."""
    fit = SizeLaw.two_moment(mean_bits, second_moment_bits2)
    prob: list[float] = []
    fixed: list[float] = []
    expo: list[float] = []
    ptr = [0]
    for i, (size, mean) in enumerate(zip(sizes, mean_bits, strict=True)):
        kind = size.get("type")
        if kind == "fixed":
            parts = [(1.0, 8.0 * size["bytes"], 0.0)]
        elif kind == "bimodal":
            parts = [(size["p_small"], 8.0 * size["small_bytes"], 0.0),
                     (1.0 - size["p_small"], 8.0 * size["large_bytes"], 0.0)]
        elif kind == "empirical":
            total = float(sum(size["probs"]))
            parts = [(p / total, 8.0 * v, 0.0) for p, v in zip(size["probs"], size["values"],
                                                               strict=True)]
        elif kind == "exponential":
            parts = [(1.0, 0.0, float(mean))]
        else:
            c = range(int(fit.ptr[i]), int(fit.ptr[i + 1]))
            parts = [(float(fit.prob[j]), float(fit.fixed_bits[j]), float(fit.exp_bits[j]))
                     for j in c]
        prob += [p for p, _, _ in parts]
        fixed += [v for _, v, _ in parts]
        expo += [e for _, _, e in parts]
        ptr.append(len(prob))
    return SizeLaw(np.array(ptr, np.int64), np.array(prob), np.array(fixed), np.array(expo))


def load_case(result: Path, scenario: Path | None = None) -> Ns3Case:
    """Read a compact ns3gt result and its scenario (``../scenarios/NAME.json`` by default)."""
    try:
        res: dict[str, Any] = json.loads(result.read_text())
        scenario = scenario or result.parent.parent / "scenarios" / f"{res['scenario']}.json"
        sc: dict[str, Any] = json.loads(scenario.read_text())
        links = res["links"]
        index = {link["id"]: i for i, link in enumerate(links)}
        flows = res["flows"]
        paths = [[index[lid] for lid in f["path_links"]] for f in flows]
        spec = {f["id"]: f for f in sc["flows"]}
    except (OSError, ValueError, KeyError) as exc:
        raise ImportFormatError(str(result), f"not a compact ns3gt result ({exc}); make it "
                                             "with tools/bursty_groundtruth.py") from None
    ptr = np.zeros(len(paths) + 1, np.int64)
    ptr[1:] = np.cumsum([len(p) for p in paths])
    arrival = [f.get("arrival") or {"type": "poisson"} for f in flows]
    onoff = np.array([a.get("type") == "onoff" for a in arrival])
    on = np.array([a.get("on_mean_s", 1.0) for a in arrival], float)
    off = np.array([a.get("off_mean_s", 1.0) for a in arrival], float)
    b_on = onoff_bursts(on, off)
    pois = Bursts.poisson(len(flows))
    bursts = Bursts(*(np.where(onoff, getattr(b_on, f), getattr(pois, f))
                      for f in ("high_ratio", "low_ratio", "high_s", "low_s")))

    def col(rows: list[dict[str, Any]], key: str) -> np.ndarray:
        return np.array([r[key] or 0.0 for r in rows], float)

    mean_b = col(flows, "size_mean_bytes")
    return Ns3Case(
        name=res["scenario"], split=sc["provenance"]["split"],
        onoff_share=float(sc["provenance"]["onoff_share"]),
        capacity_bps=col(links, "capacity_bps"), queue_packets=col(links, "queue_pkts"),
        path_ptr=ptr, path_arc=np.array([a for p in paths for a in p], np.int64),
        packets_per_s=col(flows, "rate_bps") / (8.0 * mean_b), size_mean_bits=8.0 * mean_b,
        size_second_moment_bits2=64.0 * col(flows, "size_m2_bytes2"), bursts=bursts,
        size_law=scenario_size_law([spec[f["id"]].get("size", {}) for f in flows],
                                   8.0 * mean_b, 64.0 * col(flows, "size_m2_bytes2")),
        onoff=onoff,
        link_wait_s=col(links, "mean_wait_s"),
        # ns3gt's key, and the one the compact copies of 2026 were written with (none)
        link_wait_ci_s=np.array([r.get("mean_wait_s_ci95_halfwidth")
                                 or r.get("mean_wait_ci95_halfwidth_s") or 0.0
                                 for r in links], float),
        link_utilisation=col(links, "utilisation"), link_tx_packets=col(links, "tx_packets"),
        link_loss=col(links, "loss_ratio"), link_drops=col(links, "drops"),
        link_offered_packets=col(links, "offered_packets"),
        flow_queueing_s=np.array([f["delay"]["mean_queueing_s"] or 0.0 for f in flows]),
        flow_delay_s=np.array([f["delay"]["mean_s"] or 0.0 for f in flows]),
        flow_rx_packets=col(flows, "rx_packets"), flow_tx_packets=col(flows, "tx_packets"),
        flow_loss=col(flows, "loss_ratio"))


def load_cases(folder: Path, results: str = "results") -> list[Ns3Case]:
    """Every compact result in ``folder/results`` (sorted by name); ``results``: another
    run's folder (``results-run2``: the same scenarios on independent random streams)."""
    return [load_case(p) for p in sorted((folder / results).glob("*.json"))]


def pool_runs(a: Ns3Case, b: Ns3Case) -> Ns3Case:
    """Two runs of one scenario (equal windows, independent streams) as one: waits and
    delays averaged over both runs' packets (ns3gt's means are over transmitted and
    received packets), losses as both runs' drops over both runs' offered or sent packets.
    Either run alone is the pooled truth plus its own sampling error, so this is the
    reference with less of it."""
    if a.name != b.name or a.capacity_bps.size != b.capacity_bps.size or not np.array_equal(
            a.path_arc, b.path_arc):
        raise ValueError(f"runs {a.name} and {b.name} are not of one scenario: pool runs of "
                         "the same scenario file")

    def mean(x: np.ndarray, y: np.ndarray, wx: np.ndarray, wy: np.ndarray) -> np.ndarray:
        w = wx + wy
        out: np.ndarray = np.where(w > 0, (x * wx + y * wy) / np.maximum(w, 1), 0.5 * (x + y))
        return out

    offered = a.link_offered_packets + b.link_offered_packets
    drops = a.link_drops + b.link_drops
    sent, received = a.flow_tx_packets + b.flow_tx_packets, a.flow_rx_packets + b.flow_rx_packets
    return dataclasses.replace(
        a,
        link_wait_s=mean(a.link_wait_s, b.link_wait_s, a.link_tx_packets, b.link_tx_packets),
        link_wait_ci_s=np.hypot(a.link_wait_ci_s, b.link_wait_ci_s) / 2.0,
        link_utilisation=0.5 * (a.link_utilisation + b.link_utilisation),
        link_tx_packets=a.link_tx_packets + b.link_tx_packets,
        link_loss=drops / np.maximum(offered, 1.0), link_drops=drops,
        link_offered_packets=offered,
        flow_queueing_s=mean(a.flow_queueing_s, b.flow_queueing_s, a.flow_rx_packets,
                             b.flow_rx_packets),
        flow_delay_s=mean(a.flow_delay_s, b.flow_delay_s, a.flow_rx_packets,
                          b.flow_rx_packets),
        flow_rx_packets=received, flow_tx_packets=sent,
        flow_loss=np.where(sent > 0, 1.0 - received / np.maximum(sent, 1.0), 0.0))


@dataclass(frozen=True)
class Prediction:
    link_wait_s: np.ndarray
    link_loss: np.ndarray
    flow_queueing_s: np.ndarray
    flow_loss: np.ndarray

    @classmethod
    def from_run(cls, case: Ns3Case) -> Prediction:
        """A run's own measurements, to be scored like a model against another run of the
        same scenario: the reference's spread, the floor under any model's error."""
        return cls(case.link_wait_s, case.link_loss, case.flow_queueing_s, case.flow_loss)


def predict_case(case: Ns3Case, model: str = "bursty") -> Prediction:
    """The model's per-link waits and losses and per-flow queueing: ``bursty`` (this
    engine's arrivals), ``poisson`` (the same with Poisson arrivals), ``qna`` (the per-class
    engine's FIFO ports with QNA smoothing, the model before bursty arrivals)."""
    k = case.queue_packets + 1.0
    if model == "qna":
        n = case.capacity_bps.size
        res = simulate_paths(
            PathDemands(case.path_ptr, case.path_arc, np.zeros(case.packets_per_s.size, int),
                        case.packets_per_s, case.size_mean_bits, case.size_second_moment_bits2),
            case.capacity_bps, np.full(n, int(Scheduler.FIFO)), np.ones((n, 1)),
            case.queue_packets[:, None])
        lengths = np.diff(case.path_ptr)
        owner = np.repeat(np.arange(lengths.size), lengths)
        hop = res.queues.waiting_s[case.path_arc, 0]
        return Prediction(res.queues.waiting_s[:, 0], res.queues.loss[:, 0],
                          np.bincount(owner, weights=hop, minlength=lengths.size), res.loss)
    arrivals = ArrivalModel.BURSTY if model == "bursty" else ArrivalModel.POISSON
    out = evaluate_paths(case.path_ptr, case.path_arc, case.packets_per_s, case.size_mean_bits,
                         case.size_second_moment_bits2, case.bursts, case.capacity_bps, k,
                         arrivals, size_law=case.size_law)
    return Prediction(out.port_waiting_s, out.port_loss, out.queueing_s, out.loss)


@dataclass(frozen=True)
class Scores:
    """Relative errors (prediction / truth - 1) of the scored links and flows."""

    link_wait: np.ndarray
    flow_queueing: np.ndarray
    link_loss: np.ndarray

    def summary(self) -> dict[str, float]:
        def mape(e: np.ndarray) -> float:
            return float(np.abs(e).mean()) if e.size else float("nan")

        return {"link_wait_mape": mape(self.link_wait),
                "link_wait_bias": float(self.link_wait.mean()) if self.link_wait.size else 0.0,
                "flow_queueing_mape": mape(self.flow_queueing),
                "loss_within_30": float((np.abs(self.link_loss) <= 0.3).mean())
                if self.link_loss.size else float("nan"),
                "loss_median_abs": float(np.median(np.abs(self.link_loss)))
                if self.link_loss.size else float("nan"),
                # predicted / measured loss, geometric mean over the lossy links
                "loss_ratio_geomean": float(np.exp(np.mean(np.log(np.maximum(
                    1.0 + self.link_loss, 1e-6))))) if self.link_loss.size else float("nan"),
                "links": float(self.link_wait.size), "flows": float(self.flow_queueing.size),
                "lossy_links": float(self.link_loss.size)}


def scored_links(case: Ns3Case) -> np.ndarray:
    """The links whose mean wait is scored (busy >= 10 %, >= 1,000 packets, some wait)."""
    links: np.ndarray = (case.link_utilisation >= 0.1) & (case.link_tx_packets >= 1000) & (
        case.link_wait_s > 0)
    return links


def link_mix(case: Ns3Case) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per link, from the scenario: offered load / capacity, the share of its flows that
    entered the network at another link (transit) and the share of its load from on-off
    flows."""
    lengths = np.diff(case.path_ptr)
    owner = np.repeat(np.arange(lengths.size), lengths)
    first = np.zeros(case.path_arc.size, bool)
    first[case.path_ptr[:-1][lengths > 0]] = True
    n = case.capacity_bps.size
    bits = (case.packets_per_s * case.size_mean_bits)[owner]
    load = np.bincount(case.path_arc, weights=bits, minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        transit = np.bincount(case.path_arc, weights=~first, minlength=n) / np.maximum(
            np.bincount(case.path_arc, minlength=n), 1)
        onoff = np.where(load > 0, np.bincount(case.path_arc, weights=bits * case.onoff[owner],
                                               minlength=n) / load, 0.0)
    return load / case.capacity_bps, transit, onoff


def score_case(case: Ns3Case, pred: Prediction) -> Scores:
    """Which links and flows are scored: see the module notes."""
    links = scored_links(case)
    flows = (case.flow_rx_packets >= 1000) & (case.flow_queueing_s
                                              >= 0.05 * case.flow_delay_s)
    lossy = case.link_loss > 1e-3
    return Scores(pred.link_wait_s[links] / case.link_wait_s[links] - 1.0,
                  pred.flow_queueing_s[flows] / case.flow_queueing_s[flows] - 1.0,
                  pred.link_loss[lossy] / case.link_loss[lossy] - 1.0)
