#!/usr/bin/env python3
"""Where the GNNet 2020 mean-delay error comes from: per-pair error of ``io.gnnet.predict``
against the OMNeT++ results, per topology (model choices on NSFNET and the even-numbered
GEANT2 samples, the odd ones held out), broken down by what the path crosses. For iterating
on the queueing model; never run by the tests (they score NSFNET and the held-out GEANT2
samples: tests/validation/test_slow_validation.py).

    PYTHONPATH=src python tools/gnnet_error_breakdown.py            # every 4th sample
    PYTHONPATH=src python tools/gnnet_error_breakdown.py --step 1   # all 400 (about 30 s)
    PYTHONPATH=src python tools/gnnet_error_breakdown.py --held-out # add the odd GEANT2 ones

The held-out GEANT2 samples are scored only with ``--held-out`` (once per final candidate),
so that iterating on the choice set does not show them.

Each table: pairs, MAPE, bias (mean signed error: + the model is slow), median |error| and
the share of the topology's summed |error|, per group. Groups: the highest offered
utilisation of a port on the path, the scheduling policies on the path, the ToS, the hops,
whether the simulator lost packets of the pair, the policy of the ports on the path at an
offered load of 0.95 or more (the sources' rates, before losses) by ToS and by whether the
simulator lost packets of the pair (the pairs it did not lose for wait in a queue that is not
full: queueing, not the finite buffer), and for one-hop pairs (one port: a probe of
the port formulas) the policy by port utilisation and, at loads 0.5-0.95, by link rate. In
the data set every port has 32-packet buffers per class and every pair Poisson arrivals with
300/1700-bit packets, so buffer size and size law do not split the error.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from nettwin.io.gnnet import DELAY_HORIZON_S, iter_gnnet_samples, observed_delay_sd, predict

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "gnnet2020" / "train"
POLICIES = ("FIFO", "SP", "WFQ", "DRR")
UTIL_EDGES = (0.0, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0, 1.1, 1.5, np.inf)
RATE_EDGES_BPS = (15e3, 30e3, 60e3)  # the data set's links: 10, 25, 40 and 100 kbit/s


def _table(title: str, keys: list[str], group: np.ndarray, err: np.ndarray) -> None:
    total = np.abs(err).sum()
    print(f"  {title}")
    print(f"    {'group':<22}{'pairs':>8}{'MAPE %':>9}{'bias %':>9}{'median %':>10}{'share %':>9}")
    for i, key in enumerate(keys):
        e = err[group == i]
        if e.size:
            print(f"    {key:<22}{e.size:>8}{100 * np.abs(e).mean():>9.2f}{100 * e.mean():>9.2f}"
                  f"{100 * np.median(np.abs(e)):>10.2f}{100 * np.abs(e).sum() / total:>9.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--step", type=int, default=4, help="score every STEP-th sample")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--held-out", action="store_true",
                        help="also score the held-out (odd-numbered) GEANT2 samples")
    args = parser.parse_args()
    cols: dict[str, list[np.ndarray]] = {k: [] for k in (
        "nsf", "odd", "err", "util", "policies", "tos", "hops", "lost", "sd_err", "one_pol",
        "rate", "busy")}
    cpu = 0.0
    samples = [s for tar in sorted(args.data.glob("*.tar.gz")) for s in iter_gnnet_samples(tar)]
    order = {True: 0, False: 0}
    odd = []  # GEANT2's odd-numbered samples are held out
    for s in samples:
        odd.append(order[s.topology.n_nodes == 14] % 2 == 1)
        order[s.topology.n_nodes == 14] += 1
    for sample, held_out in zip(samples[::args.step], odd[::args.step], strict=True):
        t0 = time.process_time()
        pred = predict(sample, delay_horizon_s=DELAY_HORIZON_S)
        cpu += time.process_time() - t0
        topo = sample.topology
        lengths = np.diff(sample.path_ptr)
        owner = np.repeat(np.arange(lengths.size), lengths)
        policy = np.array([POLICIES.index(p) for p in topo.policy])[topo.src][sample.path_arc]
        mask = np.zeros(lengths.size, np.int64)
        np.bitwise_or.at(mask, owner, 1 << policy)
        n = lengths.size
        cols["nsf"].append(np.full(n, topo.n_nodes == 14))
        cols["odd"].append(np.full(n, held_out))
        cols["err"].append((pred.delay_s - sample.delay_s) / sample.delay_s)
        cols["util"].append(np.searchsorted(UTIL_EDGES, pred.path_utilisation, "left") - 1)
        cols["policies"].append(mask)
        cols["tos"].append(sample.tos)
        cols["hops"].append(lengths)
        cols["lost"].append((sample.drop_fraction > 1e-3).astype(np.int64))
        offered = np.bincount(sample.path_arc, weights=(sample.packets_per_s
                              * sample.size_mean_bits)[owner], minlength=topo.src.size)
        busy = np.zeros(lengths.size, np.int64)
        hot = offered[sample.path_arc] >= 0.95 * topo.bandwidth_bps[sample.path_arc]
        np.bitwise_or.at(busy, owner, np.where(hot, 1 << policy, 0))
        cols["busy"].append(busy)
        seen = sample.jitter_s > 0
        sd = observed_delay_sd(predict(sample).delay_s, pred.delay_var_s2, DELAY_HORIZON_S)
        cols["sd_err"].append(np.where(seen, np.abs(sd - np.sqrt(sample.jitter_s))
                                       / np.sqrt(np.where(seen, sample.jitter_s, 1.0)), np.nan))
        cols["one_pol"].append(np.where(lengths == 1, policy[sample.path_ptr[:-1]], -1))
        first = sample.path_arc[np.minimum(sample.path_ptr[:-1], sample.path_arc.size - 1)]
        cols["rate"].append(np.searchsorted(RATE_EDGES_BPS, topo.bandwidth_bps[first]))
    col = {k: np.concatenate(v) for k, v in cols.items()}
    used = len(samples[::args.step])
    print(f"{used} samples, predict {1000 * cpu / used:.1f} ms CPU per sample")
    masks = sorted(set(col["policies"].tolist()))
    util_keys = [f"({UTIL_EDGES[i]:g}, {UTIL_EDGES[i + 1]:g}]" for i in range(len(UTIL_EDGES) - 1)]
    groups = {"NSFNET": col["nsf"], "GEANT2 even samples (chosen on)": ~col["nsf"] & ~col["odd"],
              "GEANT2 odd samples (held out)": ~col["nsf"] & col["odd"]}
    if not args.held_out:
        del groups["GEANT2 odd samples (held out)"]
    for name, m in groups.items():
        err = col["err"][m]
        sd = col["sd_err"][m]
        print(f"\n{name}: {err.size} pairs, mean-delay MAPE "
              f"{100 * np.abs(err).mean():.3f} %, median {100 * np.median(np.abs(err)):.3f} %, "
              f"bias {100 * err.mean():+.3f} %; jitter (sd) MAPE {100 * np.nanmean(sd):.2f} %")
        _table("highest port utilisation on the path", util_keys, col["util"][m], err)
        names = ["+".join(p for i, p in enumerate(POLICIES) if k >> i & 1) for k in masks]
        _table("policies on the path", names, np.searchsorted(masks, col["policies"][m]), err)
        _table("ToS", [str(t) for t in range(3)], col["tos"][m], err)
        _table("hops", [str(h) for h in range(8)], col["hops"][m], err)
        _table("simulator lost packets of the pair", ["no", "yes"], col["lost"][m], err)
        hot = col["busy"][m] > 0
        busy = sorted(set(col["busy"][m][hot].tolist()))
        group = (np.searchsorted(busy, col["busy"][m][hot]) * 6 + col["tos"][m][hot] * 2
                 + col["lost"][m][hot])
        keys = ["+".join(p for i, p in enumerate(POLICIES) if k >> i & 1)
                + f" ToS {t} {'lost' if lost else 'no loss'}"
                for k in busy for t in range(3) for lost in (0, 1)]
        _table("through a port at offered load >= 0.95: its policy, ToS, simulator lost",
               keys, group, err[hot])
        one = col["one_pol"][m] >= 0
        group = col["one_pol"][m][one] * len(util_keys) + col["util"][m][one]
        keys = [f"{p} {u}" for p in POLICIES for u in util_keys]
        _table("one-hop pairs: port policy and utilisation", keys, group, err[one])
        rates = ("10k", "25k", "40k", "100k")
        busy = one & (col["util"][m] >= 2) & (col["util"][m] <= 5)  # loads 0.5-0.95
        group = col["one_pol"][m][busy] * len(rates) + col["rate"][m][busy]
        _table("one-hop pairs at loads 0.5-0.95: port policy and link rate (bit/s)",
               [f"{p} {r}" for p in POLICIES for r in rates], group, err[busy])


if __name__ == "__main__":
    main()
