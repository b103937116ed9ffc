"""Bursty whole-network queueing against packet-level ns-3 (stored runs, held-out set).

The runs (``data/ns3_bursty``; scenarios, generator and command in
``tools/bursty_groundtruth.py``) were split into tuning and held-out scenarios before the
model was compared with any of them; only the held-out ones are asserted here. Tolerances
are the measured figures with a small margin, so a regression fails; ns-3 itself never runs
in the test suite.
"""

from __future__ import annotations

import dataclasses
import json
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nettwin.io.ns3gt import (
    Ns3Case,
    Prediction,
    Scores,
    load_case,
    load_cases,
    pool_runs,
    predict_case,
    score_case,
)

DATA = Path(__file__).resolve().parent / "data" / "ns3_bursty"
# measured on the 8 held-out networks (this model, FIFO-share clipping, back-to-back
# clipped bursts with the train's own wait, sources by upstream port capped at its FIFO
# share, losses shortening clipped bursts, light-traffic tandem pairs and size-keeping
# trains from busy ports, spacing kept through faster ports, clipped to the port's own
# MMPP/M/1/K high-phase rate, the M/G/1/K size term with the streams' own size laws and
# by phase of the port's chain, the FIFO-share cap beside u's load less the source's own
# drops): link wait MAPE 7.37 %, flow queueing MAPE 4.94 %, 83.9 % of the 87 links losing
# > 0.1 % within +-30 % (before the last 7.57, 5.01, 82.8 %; with the size laws alone 7.83,
# 5.07, 83.9 %; before them 7.93, 5.19, 83.9 %; before the 2026-12-07 changes 8.85 %, 4.86 %,
# 83.9 %; with the first of them 8.03, 5.00, 83.9 %; before the queue_room clip 7.66,
# 5.04, 83.9 %; before the tandem terms: 9.8 %, 5.3 %, 83.9 %; before the clipping
# changes: 9.2 %, 5.3 %, 79.3 %; the QNA model, bench_bursty.py on 2026-12-07: 33.0 %,
# 32.8 %, 13.8 %); tolerances at the figures with a small margin
# Session 2026-12-07 (issue 21) added a fresh held-out set, h09-h12 (the generator's
# networks under new names, run once and scored once, at the end of that session, with the
# model before and after its change; h01-h08 had been scored in many sessions). Measured,
# before / after that session's change (on-off groups from a port no faster lose their own
# queueing at j): h01-h08 7.36 / 4.92 / 85.1 % -> 7.35 / 4.93 / 85.1 %; h09-h12 7.74 /
# 5.02 / 83.3 % of 42 -> 7.78 / 5.06 / 83.3 %; all twelve 7.48 / 4.95 / 84.5 % of 129 ->
# 7.49 / 4.97 / 84.5 %. Tolerances at the last figures with a small margin (about one
# link's or flow's worth). The eighth session's residual floor beside clipped trains:
# h01-h08 7.35 / 4.93 / 85.1 % unchanged, h09-h12 7.69 / 5.07 / 83.3 %, all twelve 7.46 /
# 4.98 / 84.5 % (tolerances kept). The ninth session's packet-train terms on each flow's
# own size law (not its two-moment fit): h01-h08 7.35 / 4.95 / 83.9 % (one lossy link fewer
# within +-30 %), h09-h12 7.40 / 5.02 / 83.3 %, all twelve 7.37 / 4.97 / 83.7 % (the fresh
# set's link wait tolerance tightened to the new figure with the same margin). The tenth
# session's exact tandem for Poisson transit groups (``engine.tandem_exact``): h01-h08 6.57 /
# 4.57 / 81.6 % (two lossy links fewer within +-30 %), h09-h12 6.42 / 4.80 / 81.0 % (one
# fewer), all twelve 6.52 / 4.65 / 81.4 %: wait tolerances tightened, the loss one lowered
# to what was measured (a recorded trade, docs/bursty-calibration.md). The eleventh
# session's finite-buffer loss ratio from the same sample path: h01-h08 6.56 / 4.58 / 85.1 %
# (three lossy links more within +-30 %), h09-h12 6.45 / 4.88 / 81.0 %, all twelve 6.52 /
# 4.68 / 83.7 %: the first set's loss tolerance raised to 83 % (two links' margin).
WAIT_MAPE, FLOW_MAPE, LOSS_WITHIN = 0.070, 0.050, 0.83
FRESH = {f"h{i:02d}" for i in range(9, 13)}
# The review's fixes to the sample (carried rates behind an overloaded port, a ratio on a
# light group's few packets moved only part of its way from 1, a generator per port pair),
# measured before the finite-buffer loss: h01-h08 6.62 / 4.56 / 82.8 %, h09-h12 6.44 / 4.78
# / 78.6 %, all twelve 6.57 / 4.63 / 81.4 %; both together: h01-h08 6.61 / 4.57 / 86.2 %,
# h09-h12 6.49 / 4.84 / 81.0 %, all twelve 6.57 / 4.66 / 84.5 % (tolerances kept).
FRESH_WAIT_MAPE, FRESH_FLOW_MAPE, FRESH_LOSS_WITHIN = 0.070, 0.052, 0.78
HELDOUT = {f"h{i:02d}" for i in range(1, 9)} | FRESH


def _merge(scores: list[Scores]) -> dict[str, float]:
    return Scores(*(np.concatenate([getattr(s, f) for s in scores])
                    for f in ("link_wait", "flow_queueing", "link_loss"))).summary()


@pytest.fixture(scope="module")
def cases() -> list[Ns3Case]:
    return load_cases(DATA)


@pytest.fixture(scope="module")
def heldout(cases: list[Ns3Case]) -> list[Ns3Case]:
    return [c for c in cases if c.split == "heldout"]


def test_the_held_out_set_stays_held_out(cases: list[Ns3Case]) -> None:
    # tuning networks were added later (t06-t15); the held-out ones never move to tuning
    assert {c.name for c in cases if c.split == "heldout"} == HELDOUT
    assert all(c.name.startswith("t") for c in cases if c.split == "tuning")
    assert sum(c.split == "tuning" for c in cases) >= 11


def test_the_runs_are_consistent_packet_counts(cases: list[Ns3Case]) -> None:
    # ns-3's own books: the fluid load the scenario asked for is what the links carried
    for case in cases:
        lengths = np.diff(case.path_ptr)
        owner = np.repeat(np.arange(lengths.size), lengths)
        offered = np.bincount(case.path_arc, weights=case.packets_per_s[owner]
                              * case.size_mean_bits[owner], minlength=case.capacity_bps.size)
        busy = case.link_tx_packets > 10_000
        carried = case.link_utilisation[busy] * case.capacity_bps[busy]
        assert (carried <= offered[busy] * 1.02).all()


def test_heldout_networks_within_the_measured_errors(heldout: list[Ns3Case]) -> None:
    s = _merge([score_case(c, predict_case(c, "bursty")) for c in heldout])
    assert s["link_wait_mape"] < WAIT_MAPE
    assert s["flow_queueing_mape"] < FLOW_MAPE
    assert s["loss_within_30"] >= LOSS_WITHIN


def test_fresh_heldout_networks_within_the_measured_errors(heldout: list[Ns3Case]) -> None:
    s = _merge([score_case(c, predict_case(c, "bursty")) for c in heldout
                if c.name in FRESH])
    assert s["link_wait_mape"] < FRESH_WAIT_MAPE
    assert s["flow_queueing_mape"] < FRESH_FLOW_MAPE
    assert s["loss_within_30"] >= FRESH_LOSS_WITHIN


@pytest.mark.parametrize("traffic", ["onoff", "mixed"])
def test_bursty_arrivals_beat_the_poisson_and_qna_models(heldout: list[Ns3Case],
                                                         traffic: str) -> None:
    mine = [c for c in heldout if (c.onoff_share == 1.0) == (traffic == "onoff")
            and c.onoff_share > 0]
    got = {m: _merge([score_case(c, predict_case(c, m)) for c in mine])
           for m in ("bursty", "poisson", "qna")}
    for other in ("poisson", "qna"):
        assert got["bursty"]["link_wait_mape"] < 0.5 * got[other]["link_wait_mape"]
        assert got["bursty"]["loss_median_abs"] < 0.5 * got[other]["loss_median_abs"]


def test_the_textbook_switch_gives_m_g_1_k_at_first_hops(heldout: list[Ns3Case]) -> None:
    # ports that only carry traffic entering there see Poisson arrivals in a Poisson
    # network: the textbook model is exact for them, so it must match ns-3 there
    errors = []
    for case in heldout:
        if case.onoff_share:
            continue
        lengths = np.diff(case.path_ptr)
        first = np.zeros(case.path_arc.size, bool)
        first[case.path_ptr[:-1]] = True
        transit = np.bincount(case.path_arc, weights=~first, minlength=case.capacity_bps.size)
        pred = predict_case(case, "poisson")
        ok = (transit == 0) & (case.link_tx_packets > 10_000) & (case.link_wait_s > 0)
        errors.append(pred.link_wait_s[ok] / case.link_wait_s[ok] - 1.0)
        assert lengths.size
    err = np.concatenate(errors)
    assert err.size >= 10
    assert np.abs(err).mean() < 0.03


def test_first_hop_poisson_losses_follow_the_size_law(cases: list[Ns3Case]) -> None:
    # ports whose every stream is Poisson and enters the network there are M/G/1/K with the
    # mixture of the streams' own size laws (engine.mg1k), no parameter chosen on any run;
    # the two-moment fit of that mixture was up to +80 % off where the loss is small
    errors = []
    for case in (c for c in cases if c.split == "tuning"):
        lengths = np.diff(case.path_ptr)
        owner = np.repeat(np.arange(lengths.size), lengths)
        first = np.zeros(case.path_arc.size, bool)
        first[case.path_ptr[:-1]] = True
        other = np.bincount(case.path_arc, weights=~first | case.onoff[owner],
                            minlength=case.capacity_bps.size)
        pred = predict_case(case, "poisson")
        ok = (other == 0) & (case.link_loss > 0.001) & (case.link_drops >= 100)
        errors.append(pred.link_loss[ok] / case.link_loss[ok] - 1.0)
    err = np.concatenate(errors)
    assert err.size >= 15
    assert np.abs(err).max() < 0.3
    assert np.abs(err).mean() < 0.08


# -- a second run of every scenario (``results-run2``: the same scenarios and seed, ns-3's
# run number 2, so independent random streams): the reference's own spread


@pytest.fixture(scope="module")
def second_runs() -> dict[str, Ns3Case]:
    return {c.name: c for c in load_cases(DATA, "results-run2")}


def test_every_scenario_was_run_twice(cases: list[Ns3Case],
                                      second_runs: dict[str, Ns3Case]) -> None:
    assert set(second_runs) == {c.name for c in cases}
    for case in cases:
        again = second_runs[case.name]
        assert np.array_equal(again.path_arc, case.path_arc)
        assert not np.array_equal(again.link_drops, case.link_drops)  # other streams


def _both_runs(docs: list[dict[str, Any]], kind: str, *keys: str) -> np.ndarray:
    """Per link or flow (``kind``), the value at ``keys`` in each run's JSON (rows x 2)."""
    def get(row: Any) -> float:
        for k in keys:
            row = row[k]
        return float(row or 0.0)

    return np.array([(get(x), get(y)) for x, y in zip(docs[0][kind], docs[1][kind],
                                                       strict=True)])


def test_pooled_runs_count_both_runs_packets(second_runs: dict[str, Ns3Case]) -> None:
    # the oracle: the stored JSON's own packet books, read apart from load_case
    for name in ("t03", "h04"):
        both = pool_runs(load_case(DATA / "results" / f"{name}.json"), second_runs[name])
        docs = [json.loads((DATA / folder / f"{name}.json").read_text())
                for folder in ("results", "results-run2")]
        pair = partial(_both_runs, docs)
        offered, drops = pair("links", "offered_packets"), pair("links", "drops")
        sent = offered.sum(axis=1) > 0
        assert np.allclose(both.link_loss[sent], drops.sum(axis=1)[sent]
                           / offered.sum(axis=1)[sent], rtol=1e-12)
        tx, waits = pair("links", "tx_packets"), pair("links", "mean_wait_s")
        busy = tx.sum(axis=1) > 0
        assert np.allclose(both.link_wait_s[busy],
                           (waits * tx).sum(axis=1)[busy] / tx.sum(axis=1)[busy], rtol=1e-12)
        rx, f_tx = pair("flows", "rx_packets"), pair("flows", "tx_packets")
        assert np.allclose(both.flow_loss, 1.0 - rx.sum(axis=1) / f_tx.sum(axis=1), rtol=1e-12,
                           atol=1e-15)
        for field, key in (("flow_delay_s", "mean_s"), ("flow_queueing_s", "mean_queueing_s")):
            v = pair("flows", "delay", key)
            assert np.allclose(getattr(both, field), (v * rx).sum(axis=1) / rx.sum(axis=1),
                               rtol=1e-12)


def test_a_run_that_lost_a_flow_whole_still_counts_its_sent_packets(
        cases: list[Ns3Case]) -> None:
    # run 1 sends 100 packets of a flow and loses all; run 2 sends 100 and delivers 50:
    # 150 of 200 lost
    a = cases[0]
    lost = dataclasses.replace(a, flow_tx_packets=np.full(a.flow_loss.size, 100.0),
                               flow_rx_packets=np.zeros(a.flow_loss.size),
                               flow_loss=np.ones(a.flow_loss.size))
    half = dataclasses.replace(lost, flow_rx_packets=np.full(a.flow_loss.size, 50.0),
                               flow_loss=np.full(a.flow_loss.size, 0.5))
    assert np.allclose(pool_runs(lost, half).flow_loss, 0.75)


def test_pooling_refuses_runs_of_different_scenarios(cases: list[Ns3Case]) -> None:
    with pytest.raises(ValueError, match="not of one scenario"):
        pool_runs(cases[0], cases[1])


def test_the_two_runs_agree_within_their_batch_means_intervals(
        cases: list[Ns3Case]) -> None:
    # ns3gt's 95 % batch-means intervals of each flow's mean delay (the stored copies of the
    # links keep none: tools/bursty_groundtruth.py asked for the wrong key): the two runs'
    # difference lies within the intervals' combined half-width for about 95 % of flows, as
    # for independent runs of one system (too few: intervals too narrow or runs not of one
    # system; nearly all: intervals too wide, or one run twice)
    inside, total = 0, 0
    for case in cases:
        runs = [json.loads((DATA / folder / f"{case.name}.json").read_text())["flows"]
                for folder in ("results", "results-run2")]
        for a, b in zip(*runs, strict=True):
            if min(a["rx_packets"], b["rx_packets"]) < 1000:
                continue
            gap = abs(a["delay"]["mean_s"] - b["delay"]["mean_s"])
            inside += gap <= float(np.hypot(a["delay"]["mean_ci95_halfwidth_s"],
                                            b["delay"]["mean_ci95_halfwidth_s"]))
            total += 1
    assert total >= 500
    assert 0.88 <= inside / total <= 0.99


# measured against both runs pooled (thirteenth session, docs/bursty-calibration.md): held
# out 6.33 / 4.49 / 85.2 % of 128 lossy links (against run 1 alone 6.57 / 4.66 / 84.5 % of
# 129); ns-3's run 2 against run 1 1.2 / 1.1 / 96.1 %: the tolerances at the model's
# figures with a small margin
POOLED_WAIT_MAPE, POOLED_FLOW_MAPE, POOLED_LOSS_WITHIN = 0.066, 0.047, 0.84


def test_heldout_networks_against_both_runs_pooled(
        heldout: list[Ns3Case], second_runs: dict[str, Ns3Case]) -> None:
    both = [pool_runs(c, second_runs[c.name]) for c in heldout]
    s = _merge([score_case(c, predict_case(c, "bursty")) for c in both])
    assert s["link_wait_mape"] < POOLED_WAIT_MAPE
    assert s["flow_queueing_mape"] < POOLED_FLOW_MAPE
    assert s["loss_within_30"] >= POOLED_LOSS_WITHIN
    ns3 = _merge([score_case(c, Prediction.from_run(second_runs[c.name])) for c in heldout])
    # the reference's own spread is well inside the model's error: what is left is the model
    assert ns3["link_wait_mape"] < 0.3 * s["link_wait_mape"]
    assert ns3["loss_within_30"] > s["loss_within_30"]
