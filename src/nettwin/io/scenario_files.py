"""Scenario files (YAML or JSON): one scenario, or several under 'scenarios:'."""

from __future__ import annotations

from pathlib import Path

from nettwin.io.text import read_document
from nettwin.scenarios.changes import Scenario, parse_scenarios


def load_scenarios(path: str | Path) -> list[Scenario]:
    """Read scenarios; a bad change is reported with the file, the change number and a fix."""
    path = Path(path)
    return parse_scenarios(read_document(path), path.name)
