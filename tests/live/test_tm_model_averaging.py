"""Model averaging of traffic-matrix priors: a mixture of identical priors is that prior,
a mixture's moments are those of draws from it, and the options averaged are those a
paired t statistic of at most 1 cannot tell from the best."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy import stats

from nettwin import compile_network
from nettwin.estimate import pair_rates, routing_matrix
from nettwin.estimate.choice import _indistinct
from nettwin.estimate.history import TmHistory, estimate_tm_with_prior, learn_prior
from nettwin.estimate.prior import prior_moments
from nettwin.examples import example_path
from nettwin.io import load_network


def _setup():  # type: ignore[no-untyped-def]
    c = compile_network(load_network(example_path()))
    rm = routing_matrix(c)
    x = pair_rates(c, rm)
    rng = np.random.default_rng(3)
    hist = TmHistory(np.vstack([x * rng.uniform(0.5, 1.5, x.size) for _ in range(6)]),
                     np.full(6, np.nan), tuple("abcdef"))
    now = x * rng.uniform(0.8, 1.2, x.size)
    out, inn = np.bincount(rm.src, now, c.n_nodes), np.bincount(rm.dst, now, c.n_nodes)
    return c, rm, hist, now, out, inn


def test_a_mixture_of_one_prior_repeated_is_that_prior() -> None:
    c, rm, hist, now, out, inn = _setup()
    p = replace(learn_prior(hist, rm, c.n_nodes, half_life=2.0), use_fanin=True)
    both = replace(p, members=(p, p, p))
    y = rm.a @ now
    for kw in ({"node_out_bps": out, "node_in_bps": inn}, {}):
        one = estimate_tm_with_prior(rm, y, p, **kw)  # type: ignore[arg-type]
        mixed = estimate_tm_with_prior(rm, y, both, **kw)  # type: ignore[arg-type]
        np.testing.assert_allclose(mixed.rate_bps, one.rate_bps, rtol=1e-9,
                                   atol=1e-9 * now.max())
        assert one.std_bps is not None and mixed.std_bps is not None
        np.testing.assert_allclose(mixed.std_bps, one.std_bps, rtol=1e-6,
                                   atol=1e-9 * now.max())


def test_mixture_moments_are_those_of_draws_from_the_mixture() -> None:
    c, rm, hist, now, out, inn = _setup()
    a = learn_prior(hist, rm, c.n_nodes)
    b = replace(learn_prior(hist, rm, c.n_nodes, half_life=1.0), use_fanin=True,
                fit_totals=False)
    kappa = 1.7
    mix = replace(a, members=(a, b), kappa=kappa)
    y = rm.a @ now
    mean, sd = prior_moments(rm, y, mix, node_out_bps=out, node_in_bps=inn)
    # oracle: draw a member at random, then a Gaussian from its moments
    (ma, sa), (mb, sb) = (prior_moments(rm, y, p, node_out_bps=out, node_in_bps=inn)
                          for p in (a, b))
    rng = np.random.default_rng(0)
    draws = 200_000
    pick = rng.random(draws) < 0.5
    live = np.flatnonzero(rm.routed)[:12]
    for k in live.tolist():
        z = rng.standard_normal(draws)
        sample = np.where(pick, ma[k] + sa[k] * z, mb[k] + sb[k] * z)
        assert abs(mean[k] - sample.mean()) < 5 * sample.std() / np.sqrt(draws)
        assert abs(sd[k] / kappa - sample.std()) < 0.01 * sample.std()


def test_the_options_averaged_are_those_a_paired_t_of_at_most_one_keeps() -> None:
    rng = np.random.default_rng(4)
    best = np.log(rng.uniform(0.05, 0.2, 40))
    options = [best]
    for shift in (0.0, 0.002, 0.01, 0.05, 0.3):
        options.append(best + shift + 0.03 * rng.standard_normal(best.size))
    scored = sorted(((float(o.mean()), o, [], None) for o in options), key=lambda t: t[0])
    kept = _indistinct(scored)  # type: ignore[arg-type]
    first = scored[0][1]
    want = [scored[0]] + [s for s in scored[1:]
                          if stats.ttest_rel(s[1], first).statistic <= 1.0]
    assert [id(s) for s in kept] == [id(s) for s in want]
    assert 1 < len(kept) < len(scored)  # the example has both kinds
