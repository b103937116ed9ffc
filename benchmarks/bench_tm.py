"""Traffic matrix from counters and measured history, on real measured matrices.

Protocol (no test day touches any choice): the matrices of each data set in time order;
the last ones are the test days (Abilene: the last 576 five-minute matrices, two days;
GEANT: the last 96 fifteen-minute matrices, one day; germany50: the last 7 daily
matrices). The rest is training. Choices (time-of-day bins, recency half-life, shares
traffic-weighted or per matrix, analog weighting width, fan-in, KL fit to node totals)
are made on the training part by rolling origins (``validation_origins``: at each origin a
prior learned on the training matrices before it, every later training matrix estimated;
the last third of training but at least 8 matrices validated, up to 8 origins, at most 64
estimates: ``validation_plan``; the option of lowest mean log error, averaged with those
the estimates cannot tell from it), then, on a history with dates holding weekdays and
weekend days (germany50), the day-type weight, then the counters' noise floor; the spread
calibration kappa there too (the 68th percentile of |error| / sd) and the drift alarm
(twice the 99th percentile of the validation innovations, or the estimate's standardised
misfit above its chi-square level: ``misfit_level``).
Then the prior is learned on the whole training part and every test matrix is routed on
the network (ECMP, the loader's metrics), its link loads and node totals handed to the
estimator, and the estimate scored against the truth: traffic-weighted |error|, coverage
of the +-1 sd interval (pairs carrying traffic) and wall/CPU time per estimate (the routing
matrix is computed once per network and reported apart), robustness (1 % counter noise,
a missing counter, no node totals; with the noise the estimate is told either the true one
or the one read from the counters' flow conservation, ``conservation_noise``) and the drift
alarm (false alarms; silent single link failures caught; both again with 1 % counter noise
read from the counters). Reference in the same run:
tomogravity (``estimate_tm``, gravity prior, bounded least squares) on the same matrices
(every 4th; on germany50 one matrix, only with ``--full``: over a minute each).

Run: ``make bench-tm`` or ``python benchmarks/bench_tm.py [--full] [--only NAME]``.
"""

from __future__ import annotations

import os

# small dense solves: one BLAS thread (on a shared machine threads thrash: 2.6 ms -> 200 ms)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nettwin.engine import compile_network
from nettwin.estimate import estimate_tm, estimation_errors, routing_matrix
from nettwin.estimate.history import (
    HistoryPrior,
    TmHistory,
    estimate_tm_with_prior,
    prior_from_history,
)
from nettwin.estimate.noise import conservation_noise
from nettwin.io import load_network
from nettwin.io.tm_history import load_tm_history

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@dataclass(frozen=True)
class Case:
    name: str
    topology: str
    folder: str
    n_test: int
    target: float  # traffic-weighted error target on the test days
    time_target_s: float | None
    reference_every: int  # tomogravity on every k-th test matrix (0: only with --full)


CASES = [
    Case("Abilene", "sndlib/xml/abilene.xml", "traffic/abilene-zhang-5min", 576, 0.15, None, 4),
    Case("GEANT", "sndlib/xml/geant.xml", "traffic/geant-uhlig-15min", 96, 0.12, 0.05, 4),
    Case("germany50", "sndlib/xml/germany50.xml", "traffic/germany50-dfn-1day", 7, 0.10, 1.0,
         0),
]


def _day(h: TmHistory, i: int) -> float | None:
    """Day of the week of matrix ``i`` (what the estimate is told besides its time)."""
    return None if h.day_of_week is None else float(h.day_of_week[i])


def _noisy(rng: np.random.Generator, x: np.ndarray, routing, c, noise: float  # type: ignore[no-untyped-def]
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Link loads and node totals of matrix ``x`` routed by ``routing``, each counter off
    by ``noise`` (relative, Gaussian)."""
    y = routing.a @ x
    out: np.ndarray = np.bincount(routing.src, x, c.n_nodes).astype(np.float64)
    inn: np.ndarray = np.bincount(routing.dst, x, c.n_nodes).astype(np.float64)
    if noise:
        y = y * (1 + noise * rng.standard_normal(y.size))
        out = out * (1 + noise * rng.standard_normal(out.size))
        inn = inn * (1 + noise * rng.standard_normal(inn.size))
    return y, out, inn


def _told(c, y: np.ndarray, out: np.ndarray, inn: np.ndarray, noise: float,  # type: ignore[no-untyped-def]
          read: bool) -> float:
    """The noise an estimate is told: the true one (at least 1e-3, the CLI default) or,
    with ``read``, the one read from the counters' flow conservation."""
    if not read:
        return max(noise, 1e-3)
    eta = conservation_noise(y, c.arc_src, c.arc_dst, out, inn)
    return max(eta, 1e-3) if np.isfinite(eta) else 1e-3


def _run(rm, c, prior: HistoryPrior, test: TmHistory, *,  # type: ignore[no-untyped-def]
         noise: float = 0.0, missing: bool = False, edge: bool = True, read: bool = False):
    """Route each test matrix, estimate it back, score it (optionally with counters off by
    ``noise`` (relative, Gaussian), one random counter missing, or no node totals; with
    ``read`` the estimate is told the noise read from the counters, not the true one)."""
    rng = np.random.default_rng(11)
    errs, cover, wall, cpu = [], [], [], []
    for i, (x, tod) in enumerate(zip(test.rate_bps, test.time_of_day_s, strict=True)):
        y, out, inn = _noisy(rng, x, rm, c, noise)
        if missing:
            y = y.copy()
            y[rng.integers(y.size)] = np.nan
        t0, p0 = time.perf_counter(), time.process_time()
        est = estimate_tm_with_prior(rm, y, prior, node_out_bps=out if edge else None,
                                     node_in_bps=inn if edge else None, time_of_day_s=tod,
                                     day_of_week=_day(test, i),
                                     noise=_told(c, y, out, inn, noise, read))
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - p0)
        errs.append(estimation_errors(x, est.rate_bps)["weighted_error"])
        assert est.std_bps is not None
        live = x > 0
        dev = np.abs(est.rate_bps - x)[live]
        sd = est.std_bps[live]
        cover.append(float(np.mean(dev <= sd)))
    return np.array(errs), np.array(cover), np.array(wall), np.array(cpu)


def _drift(c, rm, prior: HistoryPrior, test: TmHistory, *,  # type: ignore[no-untyped-def]
           noise: float = 0.0, read: bool = False) -> tuple[float, float, int]:
    """Drift alarm: share of test matrices flagged with the true routing (false alarms),
    and, for every single link failure that changes routing and keeps all pairs routed,
    the share flagged when the network routes around the failure and the twin does not
    know (up to 12 test matrices each); counters off by ``noise``, the estimate told the
    true noise or (``read``) the one read from the counters."""
    every = max(1, test.n // 12)
    sample = test.rate_bps[::every]
    tods = test.time_of_day_s[::every]
    days = [_day(test, i) for i in range(0, test.n, every)]
    rng = np.random.default_rng(12)

    def flagged(routing) -> list[bool]:  # type: ignore[no-untyped-def]
        hits = []
        for x, t, day in zip(sample, tods, days, strict=True):
            y, out, inn = _noisy(rng, x, routing, c, noise)
            hits.append(prior.drift(estimate_tm_with_prior(
                rm, y, prior, node_out_bps=out, node_in_bps=inn, time_of_day_s=float(t),
                day_of_week=day,
                noise=_told(c, y, out, inn, noise, read), with_std=False)))
        return hits

    normal = flagged(rm)
    hits: list[bool] = []
    failures = 0
    for link in range(c.n_arcs // 2):
        up = c.arc_up.copy()
        up[[2 * link, 2 * link + 1]] = False
        actual = routing_matrix(c, up)
        if not actual.routed[rm.routed].all() or np.allclose(actual.a, rm.a):
            continue
        failures += 1
        hits += flagged(actual)
    return float(np.mean(normal)), float(np.mean(hits)) if hits else float("nan"), failures


def evaluate(case: Case, full: bool) -> tuple[dict[str, float], str]:
    net = load_network(DATA / case.topology)
    c = compile_network(net)
    t0 = time.perf_counter()
    rm = routing_matrix(c)
    t_rm = time.perf_counter() - t0
    files = sorted((DATA / case.folder).glob("*.xml"))
    history = load_tm_history(files, list(net.node_ids), rm)
    skipped = len(files) - history.n
    n_train = history.n - case.n_test
    train, test = history.select(slice(0, n_train)), history.select(slice(n_train, None))
    t1, p1 = time.perf_counter(), time.process_time()
    prior, choice = prior_from_history(train, rm, c.n_nodes)
    learn_s, learn_cpu_s = time.perf_counter() - t1, time.process_time() - p1
    bins, hl, kappa = choice.bins, choice.half_life, choice.kappa
    fitted = choice.fit_totals
    fanin = choice.use_fanin
    tau = -1.0 if choice.analog_tau is None else choice.analog_tau
    validation = (f"{choice.origins} origins, {choice.validation_estimates} estimates of "
                  f"{choice.validation_matrices} matrices, median error "
                  f"{100 * choice.validation_error:.1f} %; noise floor {choice.noise_floor:g}; "
                  f"shares {'per matrix' if choice.per_matrix else 'traffic-weighted'}; "
                  f"{choice.members} option(s) averaged; day-type weight "
                  f"{choice.day_weight:g}; "
                  f"learned in {learn_s:.1f} s ({learn_cpu_s:.1f} s CPU)")
    errs, cover, wall, cpu = _run(rm, c, prior, test)
    false_alarms, caught, failures = _drift(c, rm, prior, test)
    noisy_alarms, noisy_caught, _ = _drift(c, rm, prior, test, noise=0.01, read=True)
    robust = {"false_alarm": false_alarms, "detected": caught, "failures": failures,
              "noisy_false_alarm": noisy_alarms, "noisy_detected": noisy_caught,
              "noise": float(np.median(_run(rm, c, prior, test, noise=0.01)[0])),
              "noise_read": float(np.median(_run(rm, c, prior, test, noise=0.01,
                                                 read=True)[0])),
              "missing": float(np.median(_run(rm, c, prior, test, missing=True)[0])),
              "no_edge": float(np.median(_run(rm, c, prior, test, edge=False)[0]))}
    every = case.reference_every or (case.n_test if full else 0)
    ref_err, ref_grav, ref_t = [], [], []
    if every:
        for x in test.rate_bps[::every]:
            y = rm.a @ x
            t1 = time.perf_counter()
            e = estimate_tm(rm, y, c.arc_src, c.arc_dst, c.n_nodes,
                            node_out_bps=np.bincount(rm.src, x, c.n_nodes),
                            node_in_bps=np.bincount(rm.dst, x, c.n_nodes))
            ref_t.append(time.perf_counter() - t1)
            ref_err.append(estimation_errors(x, e.rate_bps)["weighted_error"])
            ref_grav.append(estimation_errors(x, e.prior_bps)["weighted_error"])
    return {"pairs": rm.src.size, "train": n_train, "test": test.n, "skipped": skipped,
            "bins": bins, "fit_totals": float(fitted), "fanin": float(fanin), "tau": tau,
            "half_life": -1.0 if hl is None else hl, "kappa": kappa,
            "err_median": float(np.median(errs)), "err_mean": float(np.mean(errs)),
            "err_p90": float(np.percentile(errs, 90)), "coverage": float(np.mean(cover)),
            "wall_ms": 1e3 * float(np.median(wall)), "cpu_ms": 1e3 * float(np.median(cpu)),
            "rm_ms": 1e3 * t_rm,
            "ref_err": float(np.median(ref_err)) if ref_err else float("nan"),
            "ref_gravity": float(np.median(ref_grav)) if ref_grav else float("nan"),
            "ref_ms": 1e3 * float(np.median(ref_t)) if ref_t else float("nan"),
            "ref_n": len(ref_err), "target": case.target, **robust,
            "time_target_ms": 1e3 * case.time_target_s if case.time_target_s else float("nan")
            }, validation


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--full", action="store_true", help="tomogravity reference on "
                        "germany50 too (one matrix: over a minute)")
    parser.add_argument("--only", help="one data set: Abilene, GEANT or germany50")
    args = parser.parse_args()
    print("TM estimation on held-out days (train earlier, test later), node totals given")
    print(f"{'data set':10} {'pairs':>5} {'train/test':>10} {'ToD bins':>8} "
          f"{'error med (mean, p90)':>22} {'target':>6} {'±1sd cover':>10} "
          f"{'ms/est (cpu)':>12} {'tomogravity: error, ms':>24}")
    for case in CASES:
        if args.only and case.name.lower() != args.only.lower():
            continue
        if not (DATA / case.folder).exists():
            print(f"{case.name}: no data at {DATA / case.folder}")
            continue
        r, validation = evaluate(case, args.full)
        ref = (f"{100 * r['ref_err']:.1f} % ({r['ref_n']}), {r['ref_ms']:.0f} ms"
               if r["ref_n"] else "— (--full)")
        print(f"{case.name:10} {r['pairs']:>5} {r['train']:>4}/{r['test']:<5} "
              f"{r['bins']:>8} {100 * r['err_median']:>8.1f} % ({100 * r['err_mean']:.1f}, "
              f"{100 * r['err_p90']:.1f}) {100 * r['target']:>5.0f} % "
              f"{100 * r['coverage']:>9.1f} % {r['wall_ms']:>6.1f} ({r['cpu_ms']:.1f}) "
              f"{ref:>24}")
        hl = "none" if r["half_life"] < 0 else f"{r['half_life']:.0f} matrices"
        reference = (f"gravity prior alone {100 * r['ref_gravity']:.1f} %; speed-up vs "
                     f"tomogravity {r['ref_ms'] / r['wall_ms']:.0f}x" if r["ref_n"] else
                     "tomogravity reference: --full")
        tau = "off" if r["tau"] < 0 else f"tau {r['tau']:.2g}"
        print(f"{'':10} routing matrix {r['rm_ms']:.0f} ms once; kappa {r['kappa']:.2f}; "
              f"half-life {hl}; analog weighting {tau}; fan-in combined: "
              f"{bool(r['fanin'])}; KL-fitted to node totals: {bool(r['fit_totals'])}; "
              f"{r['skipped']} empty matrices skipped; {reference}")
        print(f"{'':10} chosen on training only: {validation}")
        print(f"{'':10} robustness (median error): 1 % counter noise {100 * r['noise']:.1f} % "
              f"(told; read from the counters' conservation: {100 * r['noise_read']:.1f} %), "
              f"one counter missing {100 * r['missing']:.1f} %, no node totals (counters "
              f"only, same prior) {100 * r['no_edge']:.1f} %")
        print(f"{'':10} drift alarm: {100 * r['false_alarm']:.0f} % false alarms; silent "
              f"single link failures ({r['failures']:.0f} that change routing) caught on "
              f"{100 * r['detected']:.0f} % of matrices; with 1 % counter noise read from "
              f"the counters {100 * r['noisy_false_alarm']:.0f} % false alarms, "
              f"{100 * r['noisy_detected']:.0f} % caught")


if __name__ == "__main__":
    main()
