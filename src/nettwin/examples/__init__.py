"""Bundled example networks (see the header of each file for its source and licence).

>>> import nettwin
>>> net = nettwin.examples.abilene()
>>> len(net.nodes), len(net.links)
(11, 14)
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nettwin.model import Network


def example_path(name: str = "abilene") -> Path:
    """Path of a bundled example network file (default: Abilene, Topology Zoo, CC BY 4.0)."""
    return Path(str(resources.files("nettwin.examples") / f"{name}.yaml"))


def abilene() -> Network:
    """The Abilene IP core (11 routers, 14 links, gravity traffic and example services)."""
    from nettwin.io import load_network

    return load_network(example_path("abilene"))


def munich() -> Network:
    """The Munich microwave backhaul (33 radio hops at 18/23/38/80 GHz on real towns)."""
    from nettwin.io import load_network

    return load_network(example_path("munich-backhaul"))
