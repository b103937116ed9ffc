"""The simulation engine: compile the model into arrays, then run pure numeric kernels.

Names are resolved on first use (PEP 562, as ``nettwin`` does): importing a light module of
the package (``engine.options``) or declaring options with ``QueueModel`` does not load
numba; ``compile_network`` or ``simulate`` does.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "ArrivalModel": "nettwin.engine.options",
    "QueueModel": "nettwin.engine.options",
    "SimulationOptions": "nettwin.engine.options",
    "CompiledNetwork": "nettwin.engine.compiled",
    "compile_network": "nettwin.engine.compiled",
    "evaluate_queues": "nettwin.engine.queueing",
    "ServiceReport": "nettwin.engine.simulate",
    "SimulationResult": "nettwin.engine.simulate",
    "simulate": "nettwin.engine.simulate",
    "engine_threads": "nettwin.engine.threads",
    "set_engine_threads": "nettwin.engine.threads",
}

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

if TYPE_CHECKING:
    from nettwin.engine.compiled import CompiledNetwork, compile_network
    from nettwin.engine.options import ArrivalModel, QueueModel, SimulationOptions
    from nettwin.engine.queueing import evaluate_queues
    from nettwin.engine.simulate import ServiceReport, SimulationResult, simulate
    from nettwin.engine.threads import engine_threads, set_engine_threads


def __getattr__(name: str) -> Any:
    home = _EXPORTS.get(name)
    if home is None:
        raise AttributeError(f"module 'nettwin.engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


class _EngineModule(types.ModuleType):
    """The package's module type: an exported name stays the exported object. The import
    system binds each submodule on its package when it is first imported, which would hide
    the function ``simulate`` behind the submodule of the same name."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _EXPORTS and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _EngineModule
