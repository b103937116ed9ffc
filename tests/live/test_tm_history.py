"""Traffic matrix from counters and measured history: the closed-form projection against
the information-form Gaussian posterior, exact recovery when the prior is the truth,
counters reproduced, the KL margin fit against its rank-one closed form, real matrices
(train on earlier, test on later) against tomogravity, and the CLI's validation."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from nettwin import compile_network, simulate
from nettwin.cli.app import app
from nettwin.errors import NettwinError, ValidationError
from nettwin.estimate import estimate_tm, estimation_errors, pair_rates, routing_matrix
from nettwin.estimate.history import (
    MAX_ORIGINS,
    MAX_VALIDATION_ESTIMATES,
    MIN_FIT,
    MIN_VALIDATED,
    TmHistory,
    estimate_tm_with_prior,
    fit_margins,
    learn_prior,
    prior_from_history,
    project_tm,
    validation_origins,
    validation_plan,
)
from nettwin.estimate.projection import (
    MISFIT_FLOOR,
    MISFIT_TAIL,
    misfit_level,
    standardised_misfit,
)
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.io.tm_history import load_tm_history
from nettwin.live import LiveTwin, Message
from nettwin.live.simulated import CounterFeed
from tests.conftest import data_path


def _abilene_example():  # type: ignore[no-untyped-def]
    c = compile_network(load_network(example_path()))
    rm = routing_matrix(c)
    return c, rm, pair_rates(c, rm)


def test_prior_equal_to_truth_is_recovered_exactly() -> None:
    c, rm, x = _abilene_example()
    y = rm.a @ x
    out, inn = np.bincount(rm.src, x, c.n_nodes), np.bincount(rm.dst, x, c.n_nodes)
    est = project_tm(rm, y, x, 0.3 * x + 1.0, node_out_bps=out, node_in_bps=inn)
    np.testing.assert_allclose(est.rate_bps, x, rtol=1e-9, atol=1e-6 * x.max())
    # and learned from a history of that matrix: the fan-out is the truth's own
    hist = TmHistory(np.vstack([x, 2 * x, 0.5 * x]), np.full(3, np.nan), ("a", "b", "c"))
    prior = learn_prior(hist, rm, c.n_nodes)
    est = estimate_tm_with_prior(rm, y, prior,
                                 node_out_bps=out, node_in_bps=inn)
    np.testing.assert_allclose(est.rate_bps, x, rtol=1e-6, atol=1e-6 * x.max())


def test_projection_matches_the_information_form_and_reproduces_the_counters() -> None:
    c, rm, x = _abilene_example()
    y = rm.a @ x
    rng = np.random.default_rng(5)
    m = x * rng.uniform(0.7, 1.3, x.size)  # a wrong prior, close enough to stay positive
    sd = 0.3 * m + 1e-3 * m.max()
    noise = 1e-3
    est = project_tm(rm, y, m, sd, noise=noise)
    assert np.all(est.rate_bps >= 0)
    free = rm.routed
    # oracle: the same posterior in information form, (B'R^-1 B + P^-1)^-1 (Woodbury's other
    # side), computed directly
    b = rm.a[:, free]
    scale = float(np.abs(y).max())
    r = (noise * np.abs(y / scale)) ** 2 + 1e-18
    p = (sd[free] / scale) ** 2 + 1e-18
    info = b.T @ (b / r[:, None]) + np.diag(1 / p)
    cov = np.linalg.inv(info)
    mean = cov @ (b.T @ (y / scale / r) + m[free] / scale / p)
    assert np.all(mean >= 0)  # no pair clipped: the plain Gaussian posterior applies
    np.testing.assert_allclose(est.rate_bps[free], mean * scale, rtol=1e-5,
                               atol=1e-6 * x.max())
    np.testing.assert_allclose(est.std_bps[free], np.sqrt(np.diag(cov)) * scale,
                               rtol=1e-4, atol=1e-6 * x.max())
    # the counters are reproduced to the noise level (and the engine agrees with A)
    np.testing.assert_allclose(simulate(c).arc_load_bps, y, rtol=1e-9, atol=1e-3)
    np.testing.assert_allclose(rm.a @ est.rate_bps, y, rtol=1e-2, atol=1e-3 * y.max())


def test_a_full_mesh_is_pinned_down_whatever_the_prior() -> None:
    from nettwin.model import build_network

    nodes = "abcde"
    links = [{"id": f"{u}{v}", "a": u, "b": v, "capacity_ab_bps": 1e10,
              "capacity_ba_bps": 1e10} for i, u in enumerate(nodes) for v in nodes[i + 1:]]
    rng = np.random.default_rng(3)
    demands = [{"src": u, "dst": v, "rate_bps": float(rng.uniform(1e6, 1e9))}
               for u in nodes for v in nodes if u != v]
    c = compile_network(build_network("mesh", [{"id": n} for n in nodes], links, demands))
    rm = routing_matrix(c)
    x = pair_rates(c, rm)
    wrong = np.full(x.size, x.mean())
    est = project_tm(rm, simulate(c).arc_load_bps, wrong, wrong, noise=1e-9)
    np.testing.assert_allclose(est.rate_bps, x, rtol=1e-6)
    assert np.all(est.std_bps <= 1e-3 * x)  # nothing left unknown


def test_margin_fit_of_a_rank_one_prior_is_gravity() -> None:
    # the KL projection of any product prior u_s v_d onto the margins is out_s in_d / total
    c, rm, x = _abilene_example()
    out, inn = np.bincount(rm.src, x, c.n_nodes), np.bincount(rm.dst, x, c.n_nodes)
    full = np.ones((c.n_nodes, c.n_nodes)) - np.eye(c.n_nodes)  # no self pairs: Sinkhorn
    rng = np.random.default_rng(2)
    u, v = rng.uniform(1, 5, c.n_nodes), rng.uniform(1, 5, c.n_nodes)
    got = fit_margins(u[rm.src] * v[rm.dst], rm.src, rm.dst, c.n_nodes, out, inn, 500)
    np.testing.assert_allclose(np.bincount(rm.src, got, c.n_nodes), out, rtol=1e-6)
    np.testing.assert_allclose(np.bincount(rm.dst, got, c.n_nodes), inn, rtol=1e-6)
    # oracle: Sinkhorn on the dense matrix by brute force (row/column scaling to convergence)
    dense = np.outer(u, v) * full
    for _ in range(2000):
        dense *= (out / dense.sum(axis=1))[:, None]
        dense *= (inn / dense.sum(axis=0))[None, :]
    np.testing.assert_allclose(got, dense[rm.src, rm.dst], rtol=1e-5)


def test_empty_matrix_is_not_a_perfect_score() -> None:
    e = estimation_errors(np.zeros(4), np.ones(4))
    assert np.isnan(e["weighted_error"]) and e["pairs_top"] == 0


def _abilene_real():  # type: ignore[no-untyped-def]
    net = load_network(data_path("sndlib", "xml", "abilene.xml"))
    c = compile_network(net)
    rm = routing_matrix(c)
    folder = data_path("traffic", "abilene-zhang-5min")
    files = sorted(folder.glob("*.xml"))
    return net, c, rm, files


def test_real_abilene_history_prior_beats_tomogravity_on_later_days() -> None:
    net, c, rm, files = _abilene_real()
    train = load_tm_history(files[:288:2], list(net.node_ids), rm)  # day 1, every 10 min
    assert train.n > 100 and np.isfinite(train.time_of_day_s).all()
    prior, choice = prior_from_history(train, rm, c.n_nodes)
    assert choice.kappa > 0 and choice.validation_matrices > 0
    test = load_tm_history(files[-288::36], list(net.node_ids), rm)  # day 5
    ours, tomo, cover = [], [], []
    for x, tod in zip(test.rate_bps, test.time_of_day_s, strict=True):
        y = rm.a @ x
        out, inn = np.bincount(rm.src, x, c.n_nodes), np.bincount(rm.dst, x, c.n_nodes)
        est = estimate_tm_with_prior(rm, y, prior,
                                     node_out_bps=out, node_in_bps=inn,
                                     time_of_day_s=float(tod))
        ref = estimate_tm(rm, y, c.arc_src, c.arc_dst, c.n_nodes, node_out_bps=out,
                          node_in_bps=inn)
        np.testing.assert_allclose(rm.a @ est.rate_bps, y, rtol=0.02, atol=1e-3 * y.max())
        ours.append(estimation_errors(x, est.rate_bps)["weighted_error"])
        tomo.append(estimation_errors(x, ref.rate_bps)["weighted_error"])
        live = x > 0
        cover.append(np.mean(np.abs(est.rate_bps - x)[live] <= est.std_bps[live]))
    # the reference: gravity-prior tomogravity on the same counters, three days later
    assert np.median(ours) < 0.8 * np.median(tomo)
    assert 0.4 < np.mean(cover) < 0.95  # calibrated on held-out history: near 68 %


def test_history_with_unknown_nodes_is_an_error(tmp_path: Path) -> None:
    _, rm, _ = _abilene_example()
    bad = tmp_path / "m.csv"
    bad.write_text("src,dst,rate_bps\nNowhere,Chicago,1e6\n")
    ids = list(load_network(example_path()).node_ids)
    with pytest.raises(ValidationError, match="Nowhere"):
        load_tm_history([bad], ids, rm)


def test_cli_validate_with_history_prior_csv_and_empty(tmp_path: Path) -> None:
    net, c, rm, files = _abilene_real()
    prior_dir = tmp_path / "history"
    prior_dir.mkdir()
    for f in files[:288:6]:
        (prior_dir / f.name).write_bytes(f.read_bytes())
    later = tmp_path / "later"
    later.mkdir()
    for f in files[-4:]:
        (later / f.name).write_bytes(f.read_bytes())
    empty = later / "demandMatrix-abilene-zhang-5min-20040305-2359.xml"
    text = files[-1].read_text()
    start, end = text.index("<demands>") + len("<demands>"), text.index("</demands>")
    empty.write_text(text[:start] + text[end:])
    topo = str(data_path("sndlib", "xml", "abilene.xml"))
    runner = CliRunner()
    out_csv, out_json = tmp_path / "v.csv", tmp_path / "v.json"
    res = runner.invoke(app, ["estimate-tm", topo, "--validate", str(later / "*.xml"),
                              "--prior-from", str(prior_dir), "--csv", str(out_csv),
                              "--json", str(out_json)])
    assert res.exit_code == 0, res.output
    rows = json.loads(out_json.read_text())
    with out_csv.open() as fh:
        csv_rows = list(csv.DictReader(fh))
    assert [r["matrix"] for r in csv_rows] == [r["matrix"] for r in rows]
    by_name = {r["matrix"]: r for r in rows}
    assert by_name[empty.name]["empty"] is True  # reported, not scored 0 %
    assert "1 empty matrices not scored" in res.output.replace("\n", " ")
    # the CLI's numbers are the library's on the same matrix
    hist = load_tm_history(sorted(prior_dir.iterdir()), list(net.node_ids), rm)
    prior, _ = prior_from_history(hist, rm, c.n_nodes)
    probe = load_tm_history([later / files[-2].name], list(net.node_ids), rm)
    x = probe.rate_bps[0]
    est = estimate_tm_with_prior(rm, rm.a @ x, prior,
                                 node_out_bps=np.bincount(rm.src, x, c.n_nodes),
                                 node_in_bps=np.bincount(rm.dst, x, c.n_nodes),
                                 time_of_day_s=float(probe.time_of_day_s[0]))
    assert by_name[files[-2].name]["weighted_error"] == pytest.approx(
        estimation_errors(x, est.rate_bps)["weighted_error"], rel=1e-9)
    # a matrix cannot be its own prior
    res = runner.invoke(app, ["estimate-tm", topo, "--validate", str(later / "*.xml"),
                              "--prior-from", str(later)])
    assert res.exit_code != 0 and "own prior" in res.output


def test_cli_live_estimate_with_history_prior(tmp_path: Path) -> None:
    from nettwin.live.simulated import counter_records

    net = load_network(example_path())
    c, rm, x = _abilene_example()
    rate = simulate(c).arc_load_bps
    obs = tmp_path / "obs.jsonl"
    with obs.open("w") as fh:
        for recs in counter_records(net, rate, start=1.7e9, interval_s=60, steps=4):
            fh.writelines(json.dumps(r) + "\n" for r in recs)
    store = f"sqlite:///{tmp_path / 'twin.db'}"
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(obs), "--store", store]).exit_code == 0
    # measured history: the network's own matrix, exported three times with some wobble
    hist = tmp_path / "flows"
    hist.mkdir()
    ids = net.node_ids
    rng = np.random.default_rng(1)
    for k in range(4):
        rows = [f"{ids[s]},{ids[d]},{v * rng.uniform(0.95, 1.05)}"
                for s, d, v in zip(rm.src, rm.dst, x, strict=True) if v > 0]
        (hist / f"tm-20240101-{k:02d}00.csv").write_text("src,dst,rate_bps\n" + "\n".join(rows))
    errors = {}
    for args in ([], ["--prior-from", str(hist / "*.csv")]):
        out = tmp_path / "est.json"
        res = runner.invoke(app, ["estimate-tm", "--store", store, "--json", str(out), *args])
        assert res.exit_code == 0, res.output
        doc = json.loads(out.read_text())
        assert doc["prior_source"] == ("files" if args else None)
        assert (doc["prior_matrices"], len(doc["prior_labels"])) == ((4, 4) if args else (0, 0))
        got = {(r["src"], r["dst"]): r["rate_bps"] for r in doc["pairs"]}
        est = np.array([got.get((ids[s], ids[d]), 0.0) for s, d in zip(rm.src, rm.dst,
                                                                        strict=True)])
        np.testing.assert_allclose(rm.a @ est, rate, rtol=0.02, atol=1e-3 * rate.max())
        errors[bool(args)] = estimation_errors(x, est)["weighted_error"]
    assert "prior learned from 4 measured matrices" in res.output.replace("\n", " ")
    assert errors[True] < 0.5 * errors[False]  # the truth's own fan-out beats gravity


def test_silent_link_failure_raises_the_drift_alarm() -> None:
    # real Abilene matrices routed on the network with a link down that the twin was not
    # told about: the estimate still fits the counters, the innovation gives it away
    net, c, rm, files = _abilene_real()
    hist = load_tm_history(files[:864:4], list(net.node_ids), rm)
    prior, _ = prior_from_history(hist, rm, c.n_nodes)
    assert np.isfinite(prior.alarm_innovation)
    test = load_tm_history(files[-288::24], list(net.node_ids), rm)
    links = list(net.links)
    up = c.arc_up.copy()
    i = links.index("DNVRng_KSCYng")
    up[[2 * i, 2 * i + 1]] = False
    actual = routing_matrix(c, up)  # how the network really routes now
    assert not np.allclose(actual.a, rm.a)
    for routing, expect in ((rm, False), (actual, True)):
        alarms = []
        for x, tod in zip(test.rate_bps, test.time_of_day_s, strict=True):
            est = estimate_tm_with_prior(
                rm, routing.a @ x, prior, node_out_bps=np.bincount(rm.src, x, c.n_nodes),
                node_in_bps=np.bincount(rm.dst, x, c.n_nodes), time_of_day_s=float(tod))
            alarms.append(prior.drift(est))
        assert all(a == expect for a in alarms), (expect, alarms)


def test_standardised_misfit_counts_residuals_in_counter_noise_units() -> None:
    # oracle: a residual of k times each counter's noise (noise x counter, at least the
    # floor share of the mean counter) reads k^2, whatever the traffic level
    rng = np.random.default_rng(3)
    y = rng.uniform(0.0, 1e9, 20)
    y[3] = 0.0  # a silent counter: its noise is the floor share of the mean counter
    noise, k = 2e-3, 3.0
    unit = noise * (y + MISFIT_FLOOR * y.mean())
    residual = k * unit * rng.choice([-1.0, 1.0], y.size)
    assert standardised_misfit(residual, y, noise) == pytest.approx(k**2)
    assert standardised_misfit(1e-4 * residual, 1e-4 * y, noise) == pytest.approx(k**2)
    assert standardised_misfit(residual, y, 2 * noise) == pytest.approx(k**2 / 4)


def test_misfit_alarm_ignores_traffic_level_and_told_noise_but_not_a_silent_failure(
        ) -> None:
    # the misfit (counter residuals in counter noise units) against its chi-square level:
    # a quiet interval (a twentieth of a real one) routed as the twin believes, with 1 %
    # counter noise the estimate is told, stays under it, at the same misfit as at full
    # level; the same interval routed around a link the twin was not told is down does not
    net, c, rm, files = _abilene_real()
    hist = load_tm_history(files[:864:4], list(net.node_ids), rm)
    prior, _ = prior_from_history(hist, rm, c.n_nodes)
    x = load_tm_history(files[-288:-287], list(net.node_ids), rm).rate_bps[0]
    up = c.arc_up.copy()
    i = list(net.links).index("DNVRng_KSCYng")
    up[[2 * i, 2 * i + 1]] = False
    actual = routing_matrix(c, up)
    wobble = 1 + 0.01 * np.random.default_rng(5).standard_normal(rm.a.shape[0])

    def estimate(routing, m, noise=1e-3):  # type: ignore[no-untyped-def]
        return estimate_tm_with_prior(rm, routing.a @ m * wobble, prior, noise=noise,
                                      node_out_bps=np.bincount(rm.src, m, c.n_nodes),
                                      node_in_bps=np.bincount(rm.dst, m, c.n_nodes))

    level = misfit_level(rm.a.shape[0])
    quiet = estimate(rm, 0.05 * x, 0.01)
    assert quiet.misfit < level
    assert estimate(rm, x, 0.01).misfit == pytest.approx(quiet.misfit, rel=1e-6)
    failed = estimate(actual, 0.05 * x, 0.01)
    assert failed.misfit > level and prior.drift(failed)


def test_misfit_level_is_the_chi_square_tail() -> None:
    # oracle: the share of chi-square(k) / k draws above the level is the tail probability
    k = 40
    draws = np.random.default_rng(2).chisquare(k, 200_000) / k
    assert np.mean(draws > misfit_level(k)) == pytest.approx(MISFIT_TAIL, abs=3e-4)


def _feed(lt: LiveTwin, feed: CounterFeed, t: float, rates: np.ndarray) -> None:
    lt.process([Message({k: v for k, v in r.items() if k != "oper_status"})
                for r in feed.step(t, rates)])


def test_live_twin_uses_the_history_prior_and_checks_drift_by_itself() -> None:
    # the live twin given measured past matrices (day 1) estimates later ones (day 5) from
    # its counters better than tomogravity, and its own periodic check raises the network
    # drift alarm at a silent link failure, clearing within three intervals once told
    net, c, rm, files = _abilene_real()
    train = load_tm_history(files[:288:2], list(net.node_ids), rm)
    test = load_tm_history(files[-288::12], list(net.node_ids), rm)
    midnight = 86_400.0 * 11_574  # a UTC midnight: times of day as the matrices'
    lt, plain = LiveTwin(net, drift_every_s=300.0), LiveTwin(net, drift_every_s=None)
    choice = lt.use_history(train)
    assert choice.validation_matrices > 0 and lt.prior is not None
    feeds = {id(t): CounterFeed(net) for t in (lt, plain)}
    ours, tomo = [], []
    for x, tod in zip(test.rate_bps[:8], test.time_of_day_s[:8], strict=True):
        for twin in (lt, plain):  # two samples 300 s apart: one measured rate per arc
            _feed(twin, feeds[id(twin)], midnight + tod - 300, rm.a @ x)
            _feed(twin, feeds[id(twin)], midnight + tod, rm.a @ x)
        ours.append(estimation_errors(x, lt.estimate_tm().rate_bps)["weighted_error"])
        tomo.append(estimation_errors(x, plain.estimate_tm().rate_bps)["weighted_error"])
        # the live basis of what-ifs carries the same estimate
        live_total = float(lt.network_now().demands.rate_bps.sum())  # type: ignore[union-attr]
        assert live_total == pytest.approx(float(lt.estimate_tm().rate_bps.sum()), rel=1e-6)
    assert np.median(ours) < 0.75 * np.median(tomo), (ours, tomo)
    assert lt.tm is not None and ("network", "modelDrift") not in lt.state.alarms
    # a silent cut: the network reroutes, nobody reports it; the twin's own check notices
    i = list(net.links).index("DNVRng_KSCYng")
    up = c.arc_up.copy()
    up[[2 * i, 2 * i + 1]] = False
    actual = routing_matrix(c, up)
    feed = feeds[id(lt)]
    t = midnight + float(test.time_of_day_s[8])
    raised_at = None
    for k, x in enumerate(test.rate_bps[8:12]):
        _feed(lt, feed, t + 300 * k, actual.a @ x)
        if ("network", "modelDrift") in lt.state.alarms and raised_at is None:
            raised_at = k
    assert raised_at is not None and raised_at <= 1
    assert "silent failure" in lt.state.alarm_problems[("network", "modelDrift")]
    # told: the link is down; the alarm clears within three checks, the estimate recovers
    lt.process([Message({"kind": "event", "time": t + 1250, "object": "DNVRng_KSCYng",
                         "event": "link_down"})])
    cleared_at, errors = None, []
    for k, x in enumerate(test.rate_bps[12:16]):
        _feed(lt, feed, t + 1500 + 300 * k, actual.a @ x)
        errors.append(estimation_errors(x, lt.estimate_tm().rate_bps)["weighted_error"])
        if ("network", "modelDrift") not in lt.state.alarms and cleared_at is None:
            cleared_at = k
    assert cleared_at is not None and cleared_at <= 2
    assert np.median(errors) < 1.5 * np.median(ours)


def test_tomogravity_closed_form_equals_the_bounded_least_squares_on_real_matrices() -> None:
    # the closed form (used above 400 pairs) against scipy's bounded least squares on
    # real Abilene matrices: the same estimate, counters reproduced
    net, c, rm, files = _abilene_real()
    test = load_tm_history(files[-288::72], list(net.node_ids), rm)
    for x in test.rate_bps:
        y = rm.a @ x
        lsq = estimate_tm(rm, y, c.arc_src, c.arc_dst, c.n_nodes, method="lsq")
        closed = estimate_tm(rm, y, c.arc_src, c.arc_dst, c.n_nodes, method="projection")
        np.testing.assert_allclose(rm.a @ closed.rate_bps, y, rtol=1e-3, atol=1e-6 * y.max())
        e_lsq = estimation_errors(x, lsq.rate_bps)["weighted_error"]
        e_closed = estimation_errors(x, closed.rate_bps)["weighted_error"]
        assert abs(e_closed - e_lsq) < 0.02 * e_lsq
        np.testing.assert_allclose(closed.rate_bps, lsq.rate_bps, atol=0.02 * x.sum() / 10)


def _two_regime_history(x: np.ndarray, rm, n_nodes: int, copies: int = 4):  # type: ignore[no-untyped-def]
    """A history of two regimes: noisy copies of ``x`` and of ``x`` with its nodes
    relabelled (a different mix of sources and sinks), oldest the relabelled one."""
    rng = np.random.default_rng(8)
    perm = rng.permutation(n_nodes)
    pair = {(int(s), int(d)): k for k, (s, d) in enumerate(zip(rm.src, rm.dst, strict=True))}
    other = np.array([x[pair[(int(perm[s]), int(perm[d]))]]
                      for s, d in zip(rm.src, rm.dst, strict=True)])
    rows = [other * rng.uniform(0.8, 1.2, x.size) for _ in range(copies)]
    rows += [x * rng.uniform(0.8, 1.2, x.size) for _ in range(copies)]
    return TmHistory(np.vstack(rows), np.full(len(rows), np.nan),
                     tuple(f"m{i}" for i in range(len(rows))))


def test_analog_shares_equal_the_brute_force_weighted_shares() -> None:
    c, rm, x = _abilene_example()
    n = c.n_nodes
    hist = _two_regime_history(x, rm, n)
    tau, half_life = 0.7, 3.0
    prior = learn_prior(hist, rm, n, half_life=half_life, analog_tau=tau)
    assert prior.analog is not None
    now = x * np.random.default_rng(1).uniform(0.9, 1.1, x.size)
    out, inn = np.bincount(rm.src, now, n), np.bincount(rm.dst, now, n)
    (fan, spread), (fin, _) = prior.analog.shares(out, inn, tau)
    # oracle: per matrix, loops over nodes; the weights from first principles
    def feature(m: np.ndarray) -> np.ndarray:
        o = np.array([m[rm.src == s].sum() for s in range(n)])
        i = np.array([m[rm.dst == d].sum() for d in range(n)])
        return np.concatenate([np.sqrt(o / o.sum()), np.sqrt(i / i.sum())])
    feats = np.array([feature(m) for m in hist.rate_bps])
    typical = np.sqrt(np.mean([np.sum((f - g) ** 2) for f in feats for g in feats]))
    w = np.array([0.5 ** ((hist.n - 1 - t) / half_life)
                  * np.exp(-np.sum((feats[t] - feature(now)) ** 2) / (2 * (tau * typical) ** 2))
                  for t in range(hist.n)])
    for k, (s, d) in enumerate(zip(rm.src, rm.dst, strict=True)):
        egress = [m[rm.src == s].sum() for m in hist.rate_bps]
        ingress = [m[rm.dst == d].sum() for m in hist.rate_bps]
        want_out = sum(w[t] * hist.rate_bps[t, k] for t in range(hist.n)) / np.dot(w, egress)
        want_in = sum(w[t] * hist.rate_bps[t, k] for t in range(hist.n)) / np.dot(w, ingress)
        assert fan[k] == pytest.approx(want_out, rel=1e-9)
        assert fin[k] == pytest.approx(want_in, rel=1e-9)
        # the spread: the traffic-weighted standard deviation of the share, floored at
        # a tenth of the share
        dev2 = sum(w[t] * egress[t] * (hist.rate_bps[t, k] / egress[t] - want_out) ** 2
                   for t in range(hist.n)) / np.dot(w, egress)
        assert spread[k] == pytest.approx(max(np.sqrt(dev2), 0.1 * want_out), rel=1e-6)


def test_a_wide_analog_kernel_is_the_plain_learned_prior() -> None:
    c, rm, x = _abilene_example()
    hist = _two_regime_history(x, rm, c.n_nodes)
    out, inn = np.bincount(rm.src, x, c.n_nodes), np.bincount(rm.dst, x, c.n_nodes)
    plain = learn_prior(hist, rm, c.n_nodes, half_life=5.0)
    wide = learn_prior(hist, rm, c.n_nodes, half_life=5.0, analog_tau=1e6)
    for a, b in zip(plain.mean_sd(out, inn), wide.mean_sd(out, inn), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12 * x.max())


def test_analog_weighting_picks_the_regime_that_matches_the_node_totals() -> None:
    c, rm, x = _abilene_example()
    n = c.n_nodes
    hist = _two_regime_history(x, rm, n)
    out, inn = np.bincount(rm.src, x, n), np.bincount(rm.dst, x, n)
    y = rm.a @ x
    errors = {}
    for tau in (None, 0.05):
        prior = replace(learn_prior(hist, rm, n, analog_tau=tau), fit_totals=False)
        errors[tau] = estimation_errors(x, prior.mean_sd(out, inn)[0])["weighted_error"]
        est = estimate_tm_with_prior(rm, y, prior, node_out_bps=out, node_in_bps=inn)
        np.testing.assert_allclose(rm.a @ est.rate_bps, y, rtol=1e-2, atol=1e-3 * y.max())
    # the mean of both regimes is far off; the near one alone is x's own fan-out up to
    # the copies' +-20 % noise
    assert errors[0.05] < 0.15 < errors[None]


def test_clipped_projection_is_the_posterior_of_the_pairs_left_free() -> None:
    # a prior far enough off that the non-negative projection fixes pairs at 0 (the
    # covariance is then downdated, not rebuilt); oracle: the information-form posterior of
    # the pairs left free, those fixed at 0 taken out, computed directly
    _, rm, x = _abilene_example()
    y = rm.a @ x
    rng = np.random.default_rng(1)
    m = x.copy()
    m[rng.choice(x.size, 10, replace=False)] *= 100  # ten pairs a hundred times too big
    sd = np.sqrt(m * m.mean())
    noise = 1e-3
    est = project_tm(rm, y, m, sd, noise=noise)
    free = rm.routed & (est.rate_bps > 0)
    assert (rm.routed & ~free).any()  # the case under test: some pairs were clipped
    b = rm.a[:, free]
    scale = float(np.abs(y).max())
    r = (noise * np.abs(y / scale)) ** 2 + 1e-18
    p = (sd[free] / scale) ** 2 + 1e-18
    # the posterior as the weighted least squares it is, through the SVD of its stacked
    # system: inverting the normal equations (condition ~1e8) was off by 5e-4 on some CPUs
    u, sv, vt = np.linalg.svd(np.vstack([b / np.sqrt(r)[:, None], np.diag(1 / np.sqrt(p))]),
                              full_matrices=False)
    rhs = np.concatenate([y / scale / np.sqrt(r), m[free] / scale / np.sqrt(p)])
    mean = vt.T @ (u.T @ rhs / sv)
    cov = (vt.T / sv**2) @ vt
    np.testing.assert_allclose(est.rate_bps[free], mean * scale, rtol=1e-5,
                               atol=1e-6 * x.max())
    np.testing.assert_allclose(est.std_bps[free], np.sqrt(np.diag(cov)) * scale,
                               rtol=1e-4, atol=1e-6 * x.max())


@given(st.integers(min_value=3, max_value=2000), st.floats(min_value=0.05, max_value=0.9))
def test_rolling_origins_validate_only_later_matrices(n: int, holdout: float) -> None:
    origins = validation_origins(n, holdout)
    assert origins == sorted(set(origins)) and len(origins) <= MAX_ORIGINS
    # every origin learns on at least two matrices and is checked on one or more after it
    assert all(2 <= k < n for k in origins)
    # a short history is validated on at least MIN_VALIDATED matrices where it can be
    assert n - origins[0] >= min(MIN_VALIDATED, n - MIN_FIT, round(n * holdout))


@given(st.integers(min_value=3, max_value=2000), st.floats(min_value=0.05, max_value=0.9))
def test_validation_plan_keeps_its_budget_and_every_horizon_range(n: int,
                                                                  holdout: float) -> None:
    # oracle: the full plan (every later matrix of every origin) enumerated directly
    origins = validation_origins(n, holdout)
    plan = validation_plan(n, origins)
    assert [k for k, _ in plan] == origins
    full = sum(n - k for k in origins)
    total = sum(len(t) for _, t in plan)
    if full <= MAX_VALIDATION_ESTIMATES:  # a short history keeps the whole protocol
        assert all(list(t) == list(range(k, n)) for k, t in plan)
        return
    assert total <= MAX_VALIDATION_ESTIMATES
    q = max(len(t) for _, t in plan)
    # the budget is used: one more per origin would not fit
    assert sum(min(n - k, q + 1) for k in origins) > MAX_VALIDATION_ESTIMATES
    for k, t in plan:
        # only later matrices, each once; the same number per origin unless it has fewer
        assert list(t) == sorted(set(t.tolist())) and k <= t[0] and t[-1] < n
        assert len(t) == min(n - k, q)
        if len(t) < n - k:  # one matrix in each of q equal strata of the horizons
            bounds = [math.ceil(j * (n - k) / q) for j in range(q + 1)]
            assert all(bounds[j] <= t[j] - k < bounds[j + 1] for j in range(q))


def test_germany50_sized_history_is_validated_in_full() -> None:
    # 14 daily training matrices: 8 origins, every later matrix, 36 estimates (the protocol
    # the budget must not touch)
    plan = validation_plan(14, validation_origins(14))
    assert sum(len(t) for _, t in plan) == 36
    assert all(list(t) == list(range(k, 14)) for k, t in plan)



def test_per_matrix_shares_count_each_matrix_once() -> None:
    # oracle: the weighted mean and spread of each matrix's share, by loops; the same from
    # the learned prior (plain) and from the analog moments with a kernel wide enough to
    # weigh every matrix alike; and a matrix scaled up tenfold changes nothing
    c, rm, x = _abilene_example()
    n = c.n_nodes
    hist = _two_regime_history(x, rm, n)
    half_life = 3.0
    w = np.array([0.5 ** ((hist.n - 1 - t) / half_life) for t in range(hist.n)])
    prior = learn_prior(hist, rm, n, half_life=half_life, per_matrix=True, analog_tau=1e6)
    assert prior.analog is not None
    (fan, spread), (fin, _) = prior.analog.shares(np.ones(n), np.ones(n), 1e6)
    for k, (s, d) in enumerate(zip(rm.src, rm.dst, strict=True)):
        share = np.array([m[k] / m[rm.src == s].sum() for m in hist.rate_bps])
        share_in = np.array([m[k] / m[rm.dst == d].sum() for m in hist.rate_bps])
        want = np.dot(w, share) / w.sum()
        sd = np.sqrt(np.dot(w, (share - want) ** 2) / w.sum())
        for got_fan, got_spread in ((prior.fanout[0, k], prior.spread[0, k]),
                                    (fan[k], spread[k])):
            assert got_fan == pytest.approx(want, rel=1e-9)
            assert got_spread == pytest.approx(max(sd, 0.1 * want), rel=1e-6)
        assert fin[k] == pytest.approx(np.dot(w, share_in) / w.sum(), rel=1e-9)
    louder = hist.rate_bps.copy()
    louder[0] *= 10
    again = learn_prior(TmHistory(louder, hist.time_of_day_s, hist.labels), rm, n,
                        half_life=half_life, per_matrix=True)
    np.testing.assert_allclose(again.fanout, prior.fanout, rtol=1e-12)


def test_live_twin_tells_its_estimates_the_counter_noise_it_is_given() -> None:
    # counters read by polling carry ~1 % noise: a twin told so estimates exactly as the
    # library does with that noise, every estimate and the live basis alike, and its drift
    # alarm stays quiet on intervals routed as it believes; nonsense noise is refused
    net, c, rm, files = _abilene_real()
    train = load_tm_history(files[:288:4], list(net.node_ids), rm)
    test = load_tm_history(files[-288::36], list(net.node_ids), rm)
    midnight = 86_400.0 * 11_574
    lt = LiveTwin(net, drift_every_s=None, counter_noise=0.01)
    lt.use_history(train)
    assert lt.prior is not None
    rng = np.random.default_rng(11)
    level = misfit_level(rm.a.shape[0])
    for x, tod in zip(test.rate_bps[:6], test.time_of_day_s[:6], strict=True):
        y = rm.a @ x * (1 + 0.01 * rng.standard_normal(rm.a.shape[0]))
        est = lt.estimate_tm(arc_rate_bps=y, arc_up=c.arc_up, at=midnight + tod)
        want = estimate_tm_with_prior(rm, y, lt.prior, time_of_day_s=tod, noise=0.01)
        np.testing.assert_allclose(est.rate_bps, want.rate_bps, rtol=1e-12)
        assert est.misfit == pytest.approx(want.misfit, rel=1e-12)
        assert est.misfit < level and not lt.prior.drift(est)
    for bad in (0.0, -0.01, 0.9):
        with pytest.raises(NettwinError, match="counter_noise"):
            LiveTwin(net, counter_noise=bad)
