"""The rounds a DRR packet crosses (``engine.drr._rounds_crossed``) against their definition:
sum over k >= 1 of P(U + reach > k T_c), U exponential, summed term by term; and, where the
quantum is far below the mean backlog, against E[ceil((U + reach) / T_c)] - 1 ~
(mean + reach) / T_c - 1/2, which the closed form must still give (not overflow)."""

from __future__ import annotations

import numpy as np
import pytest

from nettwin.engine.drr import _rounds_crossed


def _summed(own: float, busy: float, gap: float, t_c: float, x: float) -> float:
    mean = own / busy
    k = np.arange(1, 2_000_000)
    crossed = np.minimum(1.0, np.exp(-(k * t_c - x) / mean)).sum()
    return own + busy * gap * float(crossed)


def _one(own: float, busy: float, gap: float, t_c: float, x: float) -> float:
    a = [np.array([v]) for v in (own, busy, gap, t_c, x, 0.0, 0.0)]
    return float(_rounds_crossed(*a)[0])


@pytest.mark.parametrize(("own", "busy", "gap", "t_c", "x"), [
    (1e-3, 0.5, 1e-3, 1e-3, 1e-4), (1e-3, 0.9, 2e-4, 1e-5, 3e-6), (2e-6, 0.1, 1e-3, 1e-3, 4e-4)])
def test_rounds_crossed_is_the_sum_it_stands_for(own: float, busy: float, gap: float,
                                                t_c: float, x: float) -> None:
    assert _one(own, busy, gap, t_c, x) == pytest.approx(_summed(own, busy, gap, t_c, x),
                                                         rel=1e-9)


def test_rounds_crossed_stays_finite_when_the_quantum_is_tiny_against_the_backlog() -> None:
    own, busy, gap, t_c, x = 1e3, 0.5, 1e-3, 1e-14, 1e-15
    crossings = (own / busy + x) / t_c - 0.5
    assert _one(own, busy, gap, t_c, x) == pytest.approx(own + busy * gap * crossings,
                                                         rel=1e-6)
