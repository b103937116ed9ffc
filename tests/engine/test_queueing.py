"""Queue formulas against textbook identities, brute force and simulation."""

from __future__ import annotations

import numpy as np
import pytest

from nettwin.engine.queueing import QueueModel, evaluate_queues, mm1k_blocking_and_mean

CAP = 1e9
PKT = 1000.0
S = PKT * 8 / CAP


def _queue(model: QueueModel, rho: np.ndarray, scv: float = 1.0, buffers: float = 50):
    rho = np.asarray(rho, dtype=float)
    return evaluate_queues(rho * CAP, np.full(rho.shape, CAP), model, PKT, scv,
                           np.full(rho.shape, buffers))


def test_mm1_closed_form() -> None:
    rho = np.array([0.0, 0.1, 0.5, 0.9, 0.99])
    q = _queue(QueueModel.MM1, rho)
    np.testing.assert_allclose(q.transmission_s + q.queueing_s, S / (1 - rho), rtol=1e-12)
    assert not q.overloaded.any() and (q.loss == 0).all()


def test_mg1_reduces_to_mm1_and_md1() -> None:
    rho = np.linspace(0.05, 0.95, 10)
    np.testing.assert_allclose(_queue(QueueModel.MG1, rho, scv=1.0).queueing_s,
                               _queue(QueueModel.MM1, rho).queueing_s, rtol=1e-12)
    np.testing.assert_allclose(_queue(QueueModel.MG1, rho, scv=0.0).queueing_s,
                               _queue(QueueModel.MD1, rho).queueing_s, rtol=1e-12)


def _lindley_mean_wait(rho: float, sizes: np.ndarray, rng: np.random.Generator) -> float:
    """Mean FIFO wait by Lindley's recursion, W' = max(0, W + S - A)."""
    service = sizes * 8 / CAP
    arrivals = rng.exponential(service.mean() / rho, size=service.size)
    x = service[:-1] - arrivals[1:]
    waits = np.empty(service.size)
    w = 0.0
    for i, step in enumerate(x, start=1):
        w = max(0.0, w + step)
        waits[i] = w
    waits[0] = 0.0
    return float(waits[service.size // 10:].mean())  # drop the warm-up


@pytest.mark.parametrize("rho", [0.5, 0.8])
def test_md1_and_mg1_match_simulation(rho: float) -> None:
    rng = np.random.default_rng(7)
    n = 400_000
    constant = np.full(n, PKT)
    sim = _lindley_mean_wait(rho, constant, rng)
    assert _queue(QueueModel.MD1, np.array([rho])).queueing_s[0] == pytest.approx(sim, rel=0.05)
    imix = rng.choice([40.0, 576.0, 1500.0], p=[7 / 12, 4 / 12, 1 / 12], size=n)
    scv = imix.var() / imix.mean() ** 2
    sim = _lindley_mean_wait(rho, imix, rng)
    model = evaluate_queues(np.array([rho * CAP]), np.array([CAP]), QueueModel.MG1,
                            float(imix.mean()), float(scv), np.array([50.0]))
    assert model.queueing_s[0] == pytest.approx(sim, rel=0.05)


@pytest.mark.parametrize("k", [1, 5, 50, 1000])
@pytest.mark.parametrize("rho", [0.0, 0.3, 0.9, 1.0, 1.0 + 1e-12, 1.2, 3.0, 40.0])
def test_mm1k_matches_brute_force_stationary_distribution(rho: float, k: int) -> None:
    states = np.arange(k + 1, dtype=float)
    if rho == 0.0:
        p = np.zeros(k + 1)
        p[0] = 1.0
    else:
        logp = states * np.log(rho)
        p = np.exp(logp - logp.max())
        p /= p.sum()
    blocking, mean_n = mm1k_blocking_and_mean(np.array([rho]), np.array([float(k)]))
    assert blocking[0] == pytest.approx(p[-1], rel=1e-7, abs=1e-300)
    assert mean_n[0] == pytest.approx(p @ states, rel=1e-7, abs=1e-12)


def test_mm1k_delay_by_littles_law() -> None:
    rho, buffers = np.array([0.7, 1.5]), 9.0
    q = _queue(QueueModel.MM1K, rho, buffers=buffers)
    blocking, mean_n = mm1k_blocking_and_mean(rho, np.full(2, buffers + 1))
    sojourn = mean_n / (rho / S * (1 - blocking))
    np.testing.assert_allclose(q.transmission_s + q.queueing_s, sojourn, rtol=1e-12)
    np.testing.assert_allclose(q.loss, blocking)
    assert q.overloaded.tolist() == [False, True]


@pytest.mark.parametrize("model", [QueueModel.MM1, QueueModel.MD1, QueueModel.MG1])
def test_overload_is_explicit_and_finite(model: QueueModel) -> None:
    q = _queue(model, np.array([1.0, 2.0, 4.0]), buffers=100)
    assert q.overloaded.all()
    np.testing.assert_allclose(q.loss, [0.0, 0.5, 0.75])
    np.testing.assert_allclose(q.queueing_s, 100 * S)
    assert np.isfinite(q.queueing_s).all()


def test_mmpp_busy_by_phase_matches_brute_force_chain() -> None:
    # the chain on (level, phase) solved directly; the busy probability in each phase, and
    # flow balance: what the server sends equals what is admitted
    from nettwin.engine.queueing import mmpp_queue_busy

    rng = np.random.default_rng(3)
    p, m = 6, 3
    gen = rng.uniform(0.1, 4.0, (p, m, m))
    gen[:, np.arange(m), np.arange(m)] = 0.0
    gen[:, np.arange(m), np.arange(m)] = -gen.sum(axis=2)
    rates = rng.uniform(0.0, 2.5, (p, m))
    k = rng.integers(1, 12, p)
    out = mmpp_queue_busy(gen, rates, np.ones(p), k)
    busy, share, loss = out[6], out[5], out[4]
    for i in range(p):
        kk = int(k[i])
        n = (kk + 1) * m
        q = np.zeros((n, n))
        for lev in range(kk + 1):
            s = slice(lev * m, (lev + 1) * m)
            q[s, s] += gen[i]
            if lev < kk:
                q[s, (lev + 1) * m:(lev + 2) * m] += np.diag(rates[i])
            if lev > 0:
                q[s, (lev - 1) * m:lev * m] += np.eye(m)
        np.fill_diagonal(q, 0.0)
        np.fill_diagonal(q, -q.sum(axis=1))
        a = q.T.copy()
        a[0] = 1.0
        rhs = np.zeros(n)
        rhs[0] = 1.0
        pi = np.linalg.solve(a, rhs).reshape(kk + 1, m)
        np.testing.assert_allclose(busy[i], 1.0 - pi[0] / pi.sum(axis=0), rtol=1e-7,
                                   atol=1e-12)
    np.testing.assert_allclose((share * busy).sum(axis=1),
                               (share * rates * (1.0 - loss)).sum(axis=1), rtol=1e-7)
