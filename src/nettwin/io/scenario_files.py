"""Scenario files (YAML or JSON): one scenario, or several under 'scenarios:'."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from nettwin.errors import ImportFormatError
from nettwin.io.text import read_text
from nettwin.scenarios.changes import Scenario, parse_scenarios


def load_scenarios(path: str | Path) -> list[Scenario]:
    """Read scenarios; a bad change is reported with the file, the change number and a fix."""
    path = Path(path)
    if not path.exists():
        raise ImportFormatError(str(path), "no such file")
    text = read_text(path)
    try:
        doc = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ImportFormatError(str(path), f"not valid YAML/JSON: {exc}") from exc
    return parse_scenarios(doc, path.name)
