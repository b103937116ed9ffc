"""nettwin: a network digital twin.

The public API is what this module exports (pinned by ``tests/test_public_api.py``)::

    import nettwin
    net = nettwin.load_network("abilene.yaml")
    result = nettwin.simulate(nettwin.compile_network(net))
    result.kpis()

Names are resolved on first use (PEP 562): ``import nettwin`` stays cheap, so the command
line answers ``--help`` without loading numba; ``nettwin.simulate`` loads the engine.
To export a name, add it to ``_EXPORTS`` (the module it lives in), ``__all__`` and
the ``TYPE_CHECKING`` block (``tests/test_public_api.py`` checks they agree).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "CompiledNetwork": "nettwin.engine",
    "QueueModel": "nettwin.engine",
    "SimulationOptions": "nettwin.engine",
    "SimulationResult": "nettwin.engine",
    "compile_network": "nettwin.engine",
    "simulate": "nettwin.engine",
    "ImportFormatError": "nettwin.errors",
    "NettwinError": "nettwin.errors",
    "SimulationError": "nettwin.errors",
    "UnknownFormatError": "nettwin.errors",
    "ValidationError": "nettwin.errors",
    "Demand": "nettwin.model",
    "DemandTable": "nettwin.model",
    "Link": "nettwin.model",
    "LinkKind": "nettwin.model",
    "Network": "nettwin.model",
    "Node": "nettwin.model",
    "NodeKind": "nettwin.model",
    "Problem": "nettwin.model",
    "Service": "nettwin.model",
    "build_network": "nettwin.model",
}

__all__ = [
    "CompiledNetwork",
    "Demand",
    "DemandTable",
    "ImportFormatError",
    "Link",
    "LinkKind",
    "NettwinError",
    "Network",
    "Node",
    "NodeKind",
    "Problem",
    "QueueModel",
    "Service",
    "SimulationError",
    "SimulationOptions",
    "SimulationResult",
    "UnknownFormatError",
    "ValidationError",
    "__version__",
    "build_network",
    "compile_network",
    "simulate",
]

if TYPE_CHECKING:  # what type checkers and IDEs see: the same names, imported eagerly
    from nettwin.engine import (
        CompiledNetwork,
        QueueModel,
        SimulationOptions,
        SimulationResult,
        compile_network,
        simulate,
    )
    from nettwin.errors import (
        ImportFormatError,
        NettwinError,
        SimulationError,
        UnknownFormatError,
        ValidationError,
    )
    from nettwin.model import (
        Demand,
        DemandTable,
        Link,
        LinkKind,
        Network,
        Node,
        NodeKind,
        Problem,
        Service,
        build_network,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'nettwin' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # resolved once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
