"""Plain networkx reference implementations: the oracles the engine is tested against.

Slow on purpose (readable, independent of the engine's kernels); never used in a hot path.
"""

from nettwin.reference.networkx_ecmp import (
    ReferenceResult,
    enumerate_ecmp_paths,
    reference_ecmp,
    to_multidigraph,
)

__all__ = ["ReferenceResult", "enumerate_ecmp_paths", "reference_ecmp", "to_multidigraph"]
