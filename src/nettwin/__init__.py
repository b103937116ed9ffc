"""nettwin: a network digital twin.

The public API is what this module exports (pinned by ``tests/test_public_api.py``)::

    import nettwin
    net = nettwin.load_network("abilene.yaml")
    result = nettwin.simulate(nettwin.compile_network(net))
    result.kpis()
"""

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

__version__ = "0.1.0"

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
