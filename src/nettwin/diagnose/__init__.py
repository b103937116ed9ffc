"""Root cause by counterfactual replay: which single fault, simulated by the engine, best
explains what the network reported."""

from nettwin.diagnose.observed import (
    ObservationError,
    ObservedWindow,
    history_window,
    load_observations,
    observe,
)
from nettwin.diagnose.rank import Cause, Diagnoser, Diagnosis

__all__ = ["Cause", "Diagnoser", "Diagnosis", "ObservationError", "ObservedWindow",
           "history_window", "load_observations", "observe"]
