"""Bursty whole-network queueing against packet-level ns-3 (``make validate-bursty``).

Scores the stored ns3gt runs (``tests/validation/data/ns3_bursty``, made by
``tools/bursty_groundtruth.py``) with three models side by side: ``bursty`` (per-demand MMPP
arrivals, engine.arrivals), ``poisson`` (the same machinery, Poisson arrivals) and ``qna``
(the per-class engine's FIFO ports before bursty arrivals). Tuning and held-out scenarios are
reported apart; only the held-out ones measure the model (t01-t05 were the first tuning
networks, t06-t15 were added to choose among model changes). Prints the model's time per run
as a ratio to the QNA model's in the same process. ``--breakdown``: the bursty model's link
wait error by the kind of link (mostly Poisson or on-off load; entered by its flows only
there, partly, or mostly transit; load below 0.5, 0.5-0.75, above), where the error lives.

Where a second run of the scenarios is stored (``results-run2``: ``tools/bursty_groundtruth.py
run --run 2``, the same scenarios on independent random streams), it also scores ns-3 against
itself (run 2 as a model, run 1 the truth: the spread of two runs, which carries both runs'
noise, so about sqrt(2) times what a perfect model would score against one run) and the
bursty model against both runs pooled (``pool_runs``: the truth with half the sampling
variance).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from nettwin.io.ns3gt import (
    Ns3Case,
    Prediction,
    Scores,
    link_mix,
    load_cases,
    pool_runs,
    predict_case,
    score_case,
    scored_links,
)

DATA = Path(__file__).resolve().parents[1] / "tests" / "validation" / "data" / "ns3_bursty"
MODELS = ("bursty", "poisson", "qna")


def _fmt(s: dict[str, float]) -> str:
    return (f"wait MAPE {100 * s['link_wait_mape']:5.1f} % (bias {100 * s['link_wait_bias']:+5.1f}"
            f" %, {int(s['links'])} links) | flow queueing MAPE "
            f"{100 * s['flow_queueing_mape']:5.1f} % ({int(s['flows'])}) | loss within 30 %: "
            f"{100 * s['loss_within_30']:5.1f} % of {int(s['lossy_links'])}, median |err| "
            f"{100 * s['loss_median_abs']:5.1f} %, pred/true x{s['loss_ratio_geomean']:.2f}")


def _merge(scores: list[Scores]) -> Scores:
    return Scores(*(np.concatenate([getattr(s, f) for s in scores]) if scores else np.zeros(0)
                    for f in ("link_wait", "flow_queueing", "link_loss")))


def _breakdown(cases: list[Ns3Case]) -> None:
    """Link wait error of the bursty model by kind of link, per split."""
    for split in ("tuning", "heldout"):
        rows: dict[tuple[str, str, str], list[float]] = {}
        for case in (c for c in cases if c.split == split):
            pred = predict_case(case, "bursty")
            ok = scored_links(case)
            rho, transit, onoff = (v[ok] for v in link_mix(case))
            err = pred.link_wait_s[ok] / case.link_wait_s[ok] - 1.0
            for e, r, t, o in zip(err, rho, transit, onoff, strict=True):
                key = ("on-off" if o > 0.5 else "poisson",
                       "first hop" if t == 0 else "transit<50%" if t < 0.5 else "transit>=50%",
                       "rho<.5" if r < 0.5 else "rho<.75" if r < 0.75 else "rho>=.75")
                rows.setdefault(key, []).append(float(e))
        for key in sorted(rows):
            e = np.array(rows[key])
            print(f"{split:7s} {key[0]:7s} {key[1]:12s} {key[2]:8s} links {e.size:3d} "
                  f"wait MAPE {100 * np.abs(e).mean():5.1f} % bias {100 * e.mean():+6.1f} % "
                  f"worst {100 * e[np.argmax(np.abs(e))]:+6.0f} %")


def _against_itself(cases: list[Ns3Case], again: list[Ns3Case]) -> None:
    """ns-3's run 2 scored as a model against run 1, and the bursty model against both
    runs pooled, per split, over the scenarios run twice (the model against run 1 alone is
    the table above)."""
    second = {c.name: c for c in again}
    rows: dict[tuple[str, str], list[Scores]] = {}
    for case in (c for c in cases if c.name in second):
        both = pool_runs(case, second[case.name])
        spread = score_case(case, Prediction.from_run(second[case.name]))
        model = score_case(both, predict_case(both, "bursty"))
        for split in (case.split, "all"):
            rows.setdefault((split, "ns-3 run 2 against run 1"), []).append(spread)
            rows.setdefault((split, "bursty against runs 1+2"), []).append(model)
    print(f"ns-3 against itself ({len(second)} scenarios run twice, independent streams):")
    for key in sorted(rows, key=lambda k: (("tuning", "heldout", "all").index(k[0]),
                                           k[1].startswith("bursty"))):
        print(f"  {key[0]:7s} {key[1]:26s} {_fmt(_merge(rows[key]).summary())}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--per-case", action="store_true")
    ap.add_argument("--breakdown", action="store_true")
    ap.add_argument("--rerun", default="results-run2",
                    help="folder (under --data) of a second run of the same scenarios")
    a = ap.parse_args()
    cases = load_cases(a.data)
    if a.breakdown:
        _breakdown(cases)
    times = dict.fromkeys(MODELS, 0.0)
    cpu = dict.fromkeys(MODELS, 0.0)
    scored: dict[tuple[str, str, str], list[Scores]] = {}
    for case in cases:
        traffic = ("poisson" if case.onoff_share == 0 else "onoff" if case.onoff_share == 1
                   else "mixed")
        for m in MODELS:
            t0, c0 = time.perf_counter(), time.process_time()
            pred = predict_case(case, m)
            times[m] += time.perf_counter() - t0
            cpu[m] += time.process_time() - c0
            s = score_case(case, pred)
            for key in ((case.split, "all", m), (case.split, traffic, m)):
                scored.setdefault(key, []).append(s)
            if a.per_case:
                print(f"{case.name:4s} {traffic:7s} {m:8s} {_fmt(s.summary())}")
    for split in ("tuning", "heldout"):
        for traffic in ("all", "poisson", "onoff", "mixed"):
            for m in MODELS:
                if (split, traffic, m) in scored:
                    merged = _merge(scored[split, traffic, m]).summary()
                    print(f"{split:7s} {traffic:7s} {m:8s} {_fmt(merged)}")
    print(f"{len(cases)} cases; wall s per model: "
          + ", ".join(f"{m} {times[m]:.3f} (CPU {cpu[m]:.3f})" for m in MODELS)
          + f"; bursty / qna {times['bursty'] / max(times['qna'], 1e-9):.1f}x")
    if (a.data / a.rerun).is_dir():
        _against_itself(cases, load_cases(a.data, a.rerun))


if __name__ == "__main__":
    main()
