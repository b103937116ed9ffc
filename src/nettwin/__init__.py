"""nettwin: a network digital twin.

The public API is what this module exports (pinned by ``tests/test_public_api.py``)::

    >>> import nettwin
    >>> net = nettwin.load_network(nettwin.examples.example_path("abilene"))
    >>> res = nettwin.run(net, fail_links=["Denver--Kansas-City"])
    >>> busiest = res.arcs.sort_by([("utilisation", "descending")]).slice(0, 1).to_pylist()[0]
    >>> busiest["utilisation"] == res.kpis["max_utilisation"]
    True

``run``, ``load_network``, ``load_traffic``, ``examples`` and ``RunResult`` are imported on
first use, so ``import nettwin`` stays as light as the engine.
"""

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from nettwin import examples
    from nettwin.io import load_network, load_traffic
    from nettwin.notebook import RunResult, run

__version__ = "0.1.0"

_LAZY = {"run": "nettwin.notebook", "RunResult": "nettwin.notebook",
         "load_network": "nettwin.io", "load_traffic": "nettwin.io"}


def __getattr__(name: str) -> Any:
    """Import the notebook API on first use (it pulls in io, scenarios and report)."""
    import importlib

    if name == "examples":
        return importlib.import_module("nettwin.examples")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'nettwin' has no attribute {name!r}")


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
