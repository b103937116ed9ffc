"""Bundled example networks (see the header of each file for its source and licence)."""

from importlib import resources
from pathlib import Path


def example_path(name: str = "abilene") -> Path:
    """Path of a bundled example network file (default: Abilene, Topology Zoo, CC BY 4.0)."""
    return Path(str(resources.files("nettwin.examples") / f"{name}.yaml"))
