"""Guardrail files (YAML or JSON): the rules a change must keep (see
``nettwin.validate.guardrails`` for the rules)."""

from __future__ import annotations

from pathlib import Path

from nettwin.io.text import read_document
from nettwin.validate.guardrails import Rule, parse_guardrails


def load_guardrails(path: str | Path) -> tuple[Rule, ...]:
    """Read a guardrails file; a bad rule is reported with the file, rule number and a fix."""
    path = Path(path)
    return parse_guardrails(read_document(path), path.name)
