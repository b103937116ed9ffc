"""The simulation engine: compile the model into arrays, then run pure numeric kernels."""

from nettwin.engine.compiled import CompiledNetwork, compile_network
from nettwin.engine.queueing import ArrivalModel, QueueModel, evaluate_queues
from nettwin.engine.simulate import (
    ServiceReport,
    SimulationOptions,
    SimulationResult,
    simulate,
)

__all__ = [
    "ArrivalModel",
    "CompiledNetwork",
    "QueueModel",
    "ServiceReport",
    "SimulationOptions",
    "SimulationResult",
    "compile_network",
    "evaluate_queues",
    "simulate",
]
