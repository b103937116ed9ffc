"""Cleaning to the solver's tolerance, against exact decimal arithmetic: each value moves
by less than its grid (the tolerance times the scale), in the direction asked, and prints
as the decimal on that grid (no noise digits, no -0.0)."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from nettwin.optimize.bound import Bound, BoundMethod
from nettwin.optimize.tolerance import PRIMAL_FEASIBILITY_TOL, clean_figure, clean_solution

values = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False)
scales = st.sampled_from([1e-3, 0.2, 1.0, 7.5, 1e4, 3e9, 1e11])


@given(values, scales)
def test_a_clean_value_is_within_its_grid_and_prints_on_it(x: float, scale: float) -> None:
    grid_exp = math.floor(math.log10(PRIMAL_FEASIBILITY_TOL * scale))
    grid = Decimal(1).scaleb(grid_exp)
    assume(abs(x) < 2.0 ** 52 * float(grid))  # finer grids than a double holds mean nothing
    nearest = float(clean_solution([x], scale)[0])
    down = clean_figure(x, scale, down=True)
    up = clean_figure(x, scale, up=True)
    slack = Decimal(2 * math.ulp(max(abs(x), float(grid))))  # grid points are doubles too
    assert abs(Decimal(nearest) - Decimal(x)) <= grid / 2 + slack
    assert down <= x <= up and Decimal(up) - Decimal(down) <= grid + slack
    for y in (nearest, down, up):
        assert Decimal(repr(y)).as_tuple().exponent >= (grid_exp if grid_exp < 0 else -1)
        assert math.copysign(1.0, y) == 1.0 or y != 0.0  # never -0.0


def test_the_noise_the_optimisers_printed() -> None:
    assert clean_figure(0.30000000000000004) == 0.3
    assert clean_figure(2999999999.9999995) == 3e9
    assert clean_figure(0.05200000000000002, 0.195) == 0.052
    assert str(clean_figure(-1e-17, 1.0)) == "0.0" and str(clean_figure(-0.0)) == "0.0"
    assert math.isinf(clean_figure(math.inf)) and math.isnan(clean_figure(math.nan))


def test_figures_too_small_for_a_grid_pass_unchanged() -> None:
    # a grid finer than ~1e-290 has no power of ten to stand on (10 ** 300 overflows)
    for tiny in (1e-302, 5e-324, -1e-300):
        assert clean_figure(tiny) == tiny


@given(st.floats(min_value=1e-6, max_value=1e6))
def test_an_optimum_reached_reads_a_ratio_of_one(optimum: float) -> None:
    # the bound as mcf_bound reports it (floored to the tolerance's grid) against the
    # routing that reaches the LP's optimum itself; and one 1 % above it reads 1.01
    bound = Bound(clean_figure(optimum, down=True), BoundMethod.MCF_LP, 0.0)
    assert bound.ratio(optimum) == 1.0
    assert bound.ratio(optimum * 1.01) == pytest.approx(1.01, rel=1e-6)


def test_a_floor_never_lands_above_its_value() -> None:
    # hypothesis's find: x * 1000 rounds up to an integer, whose floor / 1000 was above x
    x = 562949953421.7109
    for scale in (1e-3, 0.2, 1.0, 7.5, 1e4, 3e9, 1e11):
        assert clean_figure(x, scale, down=True) <= x <= clean_figure(x, scale, up=True)
