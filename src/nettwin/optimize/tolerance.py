"""What an optimiser's numbers are worth: HiGHS meets its constraints to its primal
feasibility tolerance, so the digits below it carry nothing; left in, they reach out.json,
the API and the MCP answers as 1e-17 for a zero, -0.0 or 0.30000000000000004. Each
optimiser cleans what leaves its solver (and figures made from it) here, once, in units
where the tolerance holds, instead of rounding for display."""

from __future__ import annotations

import math

import numpy as np

PRIMAL_FEASIBILITY_TOL = 1e-7  # HiGHS's default, passed to linprog explicitly (milp has no knob)
# A figure made by plain arithmetic (a sum of rates, a difference) carries only rounding
# noise, ~1e-16 of its size: cleaned on this grid, not the solver's (a guarantee of
# 1,730,836,834 bit/s must stay that, which the solver's grid made 1,730,836,800)
ARITHMETIC_TOL = 1e-12


def _clean(values: np.ndarray, scale: float, tol: float, down: bool, up: bool) -> np.ndarray:
    if not (math.isfinite(scale) and tol * scale > 1e-290):  # zero, or no scale to go by
        return values + 0.0  # (a grid finer than ~1e-290 overflows 10 ** digits)
    digits = -math.floor(math.log10(tol * scale))  # the grid: a power of ten, <= tol * scale
    step = 10.0 ** abs(digits)
    snap = np.floor if down else np.ceil if up else np.rint
    # integers times or over a power of ten: the nearest double to the decimal, so it
    # prints as that decimal; + 0.0 turns -0.0 into 0.0
    def on_grid(k: np.ndarray) -> np.ndarray:
        grid: np.ndarray = (k / step if digits > 0 else k * step) + 0.0
        return grid

    k = snap(values * step if digits > 0 else values / step)
    out = on_grid(k)
    # values * step rounds, so the floor can land one grid point above the value (and the
    # ceiling one below): a bound must stay on its side
    if down:
        out = np.where(out > values, on_grid(k - 1.0), out)
    elif up:
        out = np.where(out < values, on_grid(k + 1.0), out)
    return np.where(np.isfinite(values), out, values)


def clean_solution(values: np.ndarray, scale: float = 1.0, *, down: bool = False,
                   up: bool = False, tol: float = PRIMAL_FEASIBILITY_TOL) -> np.ndarray:
    """``values`` on the grid of the tolerance times ``scale`` (the problem's unit: 1 in a
    scaled LP, the largest value for a figure in bit/s): rounded to the nearest point, or
    down (a lower bound stays one) or up (an upper bound). Infinities and NaN pass."""
    return _clean(np.asarray(values, dtype=np.float64), scale, tol, down, up)


def clean_figure(value: float, scale: float | None = None, *, down: bool = False,
                 up: bool = False, tol: float = PRIMAL_FEASIBILITY_TOL) -> float:
    """One figure cleaned as ``clean_solution`` does; ``scale`` defaults to its own size."""
    size = abs(value) if scale is None else scale
    return float(_clean(np.asarray(value, dtype=np.float64), size, tol, down, up))
