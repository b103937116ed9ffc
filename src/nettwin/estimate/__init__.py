"""Estimation from measurements: traffic matrices from link counters (tomogravity) and
from measured history (fan-out/fan-in priors, closed-form projection)."""

from nettwin.estimate.history import (
    HistoryPrior,
    PriorChoice,
    TmHistory,
    estimate_tm_with_prior,
    learn_prior,
    prior_from_history,
    project_tm,
)
from nettwin.estimate.tm import (
    RoutingMatrix,
    TmEstimate,
    estimate_tm,
    estimation_errors,
    gravity_prior,
    pair_rates,
    routing_matrix,
)

__all__ = ["HistoryPrior", "PriorChoice", "RoutingMatrix", "TmEstimate", "TmHistory",
           "estimate_tm", "estimate_tm_with_prior", "estimation_errors", "gravity_prior",
           "learn_prior", "pair_rates", "prior_from_history", "project_tm", "routing_matrix"]
