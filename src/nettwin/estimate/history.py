"""Traffic-matrix priors from measured history: where their public names have always been
importable. The prior model and its learning live in
``nettwin.estimate.prior``, the closed-form estimate given the counters in
``nettwin.estimate.projection``; how the options are chosen on the history itself (rolling
origins, a validation budget) in ``nettwin.estimate.choice``."""

from nettwin.estimate.choice import (
    ANALOG_TAUS,
    MAX_ORIGINS,
    MAX_VALIDATION_ESTIMATES,
    MIN_FIT,
    MIN_VALIDATED,
    NOISE_FLOORS,
    PriorChoice,
    prior_from_history,
    validation_origins,
    validation_plan,
)
from nettwin.estimate.prior import (
    SECONDS_PER_DAY,
    AnalogHistory,
    HistoryPrior,
    TmHistory,
    estimate_tm_with_prior,
    fit_margins,
    learn_prior,
)
from nettwin.estimate.projection import project_tm

__all__ = ["ANALOG_TAUS", "MAX_ORIGINS", "MAX_VALIDATION_ESTIMATES", "MIN_FIT",
           "MIN_VALIDATED", "NOISE_FLOORS", "SECONDS_PER_DAY", "AnalogHistory",
           "HistoryPrior", "PriorChoice", "TmHistory", "estimate_tm_with_prior",
           "fit_margins", "learn_prior", "prior_from_history", "project_tm",
           "validation_origins", "validation_plan"]
