"""Slice files (YAML or JSON): the slices to plan on a network, in the native slice fields.

    slices:
      - id: urllc-east
        endpoints: [New-York, Washington-DC, Atlanta]   # or demands, services,
        guaranteed_rate_bps: 4.0e+9                      # traffic_classes
        max_delay_s: 0.016
        max_loss: 1.0e-5
        min_availability: 0.999
        isolation: true
        priority: 10

A bare list of slices is read too. Every problem is reported at once, each naming the slice,
the field, the value and the fix (``nettwin schema --markdown`` lists the fields).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nettwin.errors import ImportFormatError
from nettwin.io.text import read_document
from nettwin.model import Network


def parse_slices(doc: Any, network: Network, source: str = "slices") -> Network:
    """The network with the document's slices instead of its own (validated against it)."""
    if isinstance(doc, Mapping):
        unknown = sorted(str(k) for k in doc if k != "slices")
        if unknown:
            raise ImportFormatError(source, f"unknown section(s) {unknown}; a slices file "
                                            "holds one list, 'slices'")
        doc = doc.get("slices")
    if not isinstance(doc, list) or not doc:
        raise ImportFormatError(source, "expected 'slices:' with a list of slices (id, "
                                        "selectors, SLA)")
    return network.with_slices(doc, source)


def load_slices(path: str | Path, network: Network) -> Network:
    """Read a slices file (YAML, or JSON by its suffix) for this network."""
    path = Path(path)
    return parse_slices(read_document(path), network, path.name)
