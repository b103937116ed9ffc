"""Traffic engineering on the twin: IGP metrics, segment-routing waypoints, robust to
failures, always beside the optimal multicommodity-flow bound.

``weights`` searches integer metrics with exact incremental evaluation of every candidate;
``paths`` adds SR waypoints on top; ``mcf_bound`` is the bound no routing can beat.
"""

from nettwin.optimize.bound import Bound, BoundMethod, mcf_bound
from nettwin.optimize.objective import Objective, Survive
from nettwin.optimize.paths import PathsResult, optimize_paths
from nettwin.optimize.weights import WeightsResult, apply_metrics, optimize_weights

weights = optimize_weights
paths = optimize_paths

__all__ = [
    "Bound",
    "BoundMethod",
    "Objective",
    "PathsResult",
    "Survive",
    "WeightsResult",
    "apply_metrics",
    "mcf_bound",
    "optimize_paths",
    "optimize_weights",
    "paths",
    "weights",
]
