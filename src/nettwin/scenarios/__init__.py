"""What-if analysis: scenarios as deltas, exact incremental failure sweeps, cascades,
Monte Carlo risk, and their distribution over a Dask cluster."""

from nettwin.scenarios.cascade import CascadeResult, run_cascade
from nettwin.scenarios.changes import Scenario, parse_scenario, parse_scenarios
from nettwin.scenarios.risk import RiskModel, RiskResult, run_risk
from nettwin.scenarios.sweep import ElementKind, Failure, SweepResult, run_sweep
from nettwin.scenarios.whatif import ScenarioDiff, WhatIfResult, compare, run_whatif

__all__ = [
    "CascadeResult",
    "ElementKind",
    "Failure",
    "RiskModel",
    "RiskResult",
    "Scenario",
    "ScenarioDiff",
    "SweepResult",
    "WhatIfResult",
    "compare",
    "parse_scenario",
    "parse_scenarios",
    "run_cascade",
    "run_risk",
    "run_sweep",
    "run_whatif",
]
