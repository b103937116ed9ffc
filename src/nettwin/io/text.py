"""Reading files for importers: text with line numbers, YAML/JSON documents, XML parsed
safely."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import yaml

from nettwin.errors import ImportFormatError


def read_text(path: Path) -> str:
    """The file's text (UTF-8, falling back to Latin-1 as some older data sets use)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFormatError(str(path), f"cannot read file: {exc.strerror}") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def read_document(path: str | Path) -> Any:
    """A YAML file, or JSON by its suffix; a syntax error names the line."""
    path = Path(path)
    if not path.exists():
        raise ImportFormatError(str(path), "no such file")
    text = read_text(path)
    try:
        return json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(str(path), f"invalid JSON: {exc.msg}", exc.lineno) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ImportFormatError(str(path), f"invalid YAML: {exc}", line) from exc


def parse_xml(path: Path) -> ET.Element:
    """Parse an XML file; a syntax error names the line."""
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else None
        raise ImportFormatError(str(path), f"not well-formed XML: {exc}", line) from exc
    except OSError as exc:
        raise ImportFormatError(str(path), f"cannot read file: {exc.strerror}") from exc


def local_name(tag: str) -> str:
    """Tag name without its XML namespace."""
    return tag.rsplit("}", 1)[-1]


def parse_number(path: Path, text: str | None, what: str, line: int | None = None) -> float:
    """A number from a file, or a format error naming what was expected."""
    try:
        return float((text or "").strip())
    except ValueError:
        raise ImportFormatError(str(path), f"{what}: expected a number, got {text!r}",
                                line) from None
