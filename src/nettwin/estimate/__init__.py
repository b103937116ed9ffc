"""Estimation from measurements: traffic matrices from link counters (tomogravity)."""

from nettwin.estimate.tm import (
    RoutingMatrix,
    TmEstimate,
    estimate_tm,
    estimation_errors,
    gravity_prior,
    pair_rates,
    routing_matrix,
)

__all__ = ["RoutingMatrix", "TmEstimate", "estimate_tm", "estimation_errors",
           "gravity_prior", "pair_rates", "routing_matrix"]
