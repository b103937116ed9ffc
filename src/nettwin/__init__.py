"""nettwin: a network digital twin.

The public API is what this module exports (pinned by ``tests/test_public_api.py``)::

    >>> import nettwin
    >>> net = nettwin.load_network(nettwin.examples.example_path("abilene"))
    >>> res = nettwin.run(net, fail_links=["Denver--Kansas-City"])
    >>> busiest = res.arcs.sort_by([("utilisation", "descending")]).slice(0, 1).to_pylist()[0]
    >>> busiest["utilisation"] == res.kpis["max_utilisation"]
    True

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
    "RunResult": "nettwin.notebook",  # the notebook API: one call, Arrow tables
    "run": "nettwin.notebook",
    "load_network": "nettwin.io",
    "load_traffic": "nettwin.io",
    "examples": "nettwin.examples",  # a module: the bundled networks
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
    "RunResult",
    "Service",
    "SimulationError",
    "SimulationOptions",
    "SimulationResult",
    "UnknownFormatError",
    "ValidationError",
    "__version__",
    "build_network",
    "compile_network",
    "examples",
    "load_network",
    "load_traffic",
    "run",
    "simulate",
]

if TYPE_CHECKING:  # what type checkers and IDEs see: the same names, imported eagerly
    from nettwin import examples
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
    from nettwin.io import load_network, load_traffic
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
    from nettwin.notebook import RunResult, run


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'nettwin' has no attribute {name!r}")
    value = (importlib.import_module(module) if module == f"{__name__}.{name}"
             else getattr(importlib.import_module(module), name))
    globals()[name] = value  # resolved once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
