"""The master MILP of capacity planning (HiGHS through ``scipy.optimize.milp``).

Variables, per year k: ``n[s, j, k]`` modules of type j installed on slot s by year k
(cumulative: never removed) and ``y[c, k]`` candidate c built by year k. Requirement rows
enter lazily, one per (slot, pattern, year) the failure sweep found violated::

    sum_j cap_j n[s,j,k]  >=  need * (1 - d_S(y_k))      d_S: Hamming distance of y_k to S

exact for the pattern S it was measured under and void for any other (d >= 1), so the
master is a relaxation of the true problem: its bound is valid, and a solution whose
patterns were all swept and pass is optimal. Without candidates d = 0 and each row is the
plain covering row of one link.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from nettwin.optimize.tolerance import clean_figure

DEFER = 1e-5  # per-year preference for installing later when costs are otherwise equal
MIP_REL_GAP = 1e-7


@dataclass(frozen=True)
class Slot:
    """One place modules go: a network link or a candidate (``candidate`` >= 0)."""

    id: str
    module_capacity: tuple[float, ...]  # scaled units
    module_cost: tuple[float, ...]
    max_modules: int | None
    candidate: int = -1
    setup_cost: float = 0.0


@dataclass
class Solution:
    status: str  # "optimal", "time limit", "infeasible"
    objective: float
    bound: float
    counts: np.ndarray  # float64[slots, max module types, years] (cumulative)
    opened: list[frozenset[int]]  # per year: candidate positions built


@dataclass
class Master:
    """The master problem; rows grow as the sweeps find violations."""

    slots: Sequence[Slot]
    years: int
    weights: np.ndarray  # float64[years]: cost weight of year k (discount, deferral)
    candidate_bound: float  # scaled capacity no candidate ever needs more than
    rows_a: list[dict[int, float]] = field(default_factory=list)
    rows_lb: list[float] = field(default_factory=list)
    keys: set[tuple[int, frozenset[int], int]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.n_candidates = sum(1 for s in self.slots if s.candidate >= 0)
        col = 0
        self.n_col: dict[tuple[int, int, int], int] = {}
        for k in range(self.years):
            for i, s in enumerate(self.slots):
                for j in range(len(s.module_capacity)):
                    self.n_col[i, j, k] = col
                    col += 1
        self.y_col: dict[tuple[int, int], int] = {}
        for k in range(self.years):
            for c in range(self.n_candidates):
                self.y_col[c, k] = col
                col += 1
        self.n_vars = col

    def y_cols(self, k: int) -> list[int]:
        return [self.y_col[c, k] for c in range(self.n_candidates)]

    def add_requirement(self, slot: int, pattern: frozenset[int], year: int,
                        need: float) -> bool:
        """Slot ``slot`` needs ``need`` more (scaled) capacity in ``year`` whenever exactly
        the candidates in ``pattern`` are built. False if the row is already there."""
        key = (slot, pattern, year)
        if key in self.keys or need <= 0:
            return False
        self.keys.add(key)
        row = {self.n_col[slot, j, year]: cap
               for j, cap in enumerate(self.slots[slot].module_capacity)}
        for c in range(self.n_candidates):
            col = self.y_col[c, year]
            row[col] = row.get(col, 0.0) + (-need if c in pattern else need)
        self.rows_a.append(row)
        self.rows_lb.append(need * (1 - len(pattern)))
        return True

    def add_plain_row(self, coefficients: dict[tuple[int, int], float], year: int,
                      lower: float) -> None:
        """sum of coefficient * n[slot, module, year] >= lower (a row valid everywhere)."""
        self.rows_a.append({self.n_col[i, j, year]: c for (i, j), c in coefficients.items()})
        self.rows_lb.append(lower)

    def add_cover(self, candidates: Sequence[int]) -> None:
        """At least one of ``candidates`` must be built, every year (a cut they cross)."""
        for k in range(self.years):
            self.rows_a.append({self.y_col[c, k]: 1.0 for c in candidates})
            self.rows_lb.append(1.0)

    def _structure(self) -> tuple[list[dict[int, float]], list[float], list[float]]:
        """Rows that do not change: modules persist, candidates stay built, modules only on
        built candidates, at most ``max_modules`` per slot."""
        rows: list[dict[int, float]] = []
        lb: list[float] = []
        ub: list[float] = []
        for k in range(1, self.years):
            for (i, j, kk), col in self.n_col.items():
                if kk == k:
                    rows.append({col: 1.0, self.n_col[i, j, k - 1]: -1.0})
                    lb.append(0.0)
                    ub.append(math.inf)
            for c in range(self.n_candidates):
                rows.append({self.y_col[c, k]: 1.0, self.y_col[c, k - 1]: -1.0})
                lb.append(0.0)
                ub.append(math.inf)
        for i, s in enumerate(self.slots):
            last = self.years - 1
            if s.max_modules is not None and len(s.module_capacity) > 1:
                rows.append({self.n_col[i, j, last]: 1.0
                             for j in range(len(s.module_capacity))})
                lb.append(-math.inf)
                ub.append(float(s.max_modules))
            if s.candidate >= 0:
                for k in range(self.years):
                    for j, cap in enumerate(s.module_capacity):
                        top = self._module_bound(s, cap)
                        rows.append({self.n_col[i, j, k]: 1.0, self.y_col[s.candidate, k]: -top})
                        lb.append(-math.inf)
                        ub.append(0.0)
        return rows, lb, ub

    def _module_bound(self, s: Slot, cap: float) -> float:
        if s.max_modules is not None:
            return float(s.max_modules)
        return float(math.ceil(self.candidate_bound / cap) + 1)

    def objective(self) -> np.ndarray:
        c = np.zeros(self.n_vars)
        w = np.append(self.weights, 0.0)
        for (i, j, k), col in self.n_col.items():
            c[col] = self.slots[i].module_cost[j] * (w[k] - w[k + 1])
        for s in self.slots:
            if s.candidate >= 0:
                for k in range(self.years):
                    c[self.y_col[s.candidate, k]] = s.setup_cost * (w[k] - w[k + 1])
        return c

    def solve(self, time_limit_s: float, *, relax: bool = False,
              fixed: Sequence[frozenset[int]] | None = None) -> Solution:
        """Solve (or its LP relaxation); ``fixed`` pins the built candidates per year."""
        if self.n_vars == 0:  # no module offered anywhere: HiGHS takes no empty problem
            if any(lo > 0 for lo in self.rows_lb):
                return Solution("infeasible", math.inf, -math.inf, np.zeros(0), [])
            return Solution("optimal", 0.0, 0.0, np.zeros((len(self.slots), 0, self.years)),
                            [frozenset()] * self.years)
        rows, lb, ub = self._structure()
        rows = rows + self.rows_a
        lb = lb + self.rows_lb
        ub = ub + [math.inf] * len(self.rows_lb)
        lower = np.zeros(self.n_vars)
        upper = np.full(self.n_vars, math.inf)
        for (i, j, _), col in self.n_col.items():
            s = self.slots[i]
            if s.max_modules is not None:
                upper[col] = s.max_modules
            elif s.candidate >= 0:
                upper[col] = self._module_bound(s, s.module_capacity[j])
        for (c, k), col in self.y_col.items():
            upper[col] = 1.0
            if fixed is not None:
                lower[col] = upper[col] = float(c in fixed[k])
        integrality = np.zeros(self.n_vars) if relax else np.ones(self.n_vars)
        constraints = []
        if rows:
            r = [i for i, row in enumerate(rows) for _ in row]
            cidx = [col for row in rows for col in row]
            vals = [v for row in rows for v in row.values()]
            a = coo_matrix((vals, (r, cidx)), shape=(len(rows), self.n_vars)).tocsr()
            constraints.append(LinearConstraint(a, np.array(lb), np.array(ub)))
        res = milp(self.objective(), integrality=integrality, bounds=Bounds(lower, upper),
                   constraints=constraints,
                   options={"time_limit": max(1.0, float(time_limit_s)), "disp": False,
                            "mip_rel_gap": MIP_REL_GAP})
        if res.x is None:
            status = "infeasible" if res.status == 2 else "time limit"
            return Solution(status, math.inf, -math.inf, np.zeros(0), [])
        x = np.round(res.x) if not relax else res.x
        width = max((len(s.module_capacity) for s in self.slots), default=0)
        counts = np.zeros((len(self.slots), width, self.years))
        for (i, j, k), col in self.n_col.items():
            counts[i, j, k] = x[col]
        opened = [frozenset(c for c in range(self.n_candidates) if x[self.y_col[c, k]] > 0.5)
                  for k in range(self.years)]
        objective = float(self.objective() @ x)
        bound = getattr(res, "mip_dual_bound", None)
        if relax or bound is None or not np.isfinite(bound):
            bound = objective if res.status == 0 else -math.inf
        else:  # a lower bound on the cost: down to the tolerance's grid, stays one
            bound = clean_figure(float(bound), down=True)
        status = "optimal" if res.status == 0 else "time limit"
        return Solution(status, objective, float(bound), counts, opened)
