"""The simulation engine: compile the model into arrays, then run pure numeric kernels."""

from nettwin.engine.compiled import CompiledNetwork, compile_network
from nettwin.engine.queueing import ArrivalModel, QueueModel, evaluate_queues
from nettwin.engine.simulate import (
    ServiceReport,
    SimulationOptions,
    SimulationResult,
    simulate,
)
from nettwin.engine.threads import engine_threads, set_engine_threads

__all__ = [
    "ArrivalModel",
    "CompiledNetwork",
    "QueueModel",
    "ServiceReport",
    "SimulationOptions",
    "SimulationResult",
    "compile_network",
    "engine_threads",
    "evaluate_queues",
    "set_engine_threads",
    "simulate",
]
