"""Reading files for importers: text with line numbers, YAML/JSON documents, XML parsed
safely."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from nettwin.errors import ImportFormatError, InputLimitError
from nettwin.io.documents import current_limits, parse_json, parse_yaml


def check_file_size(path: Path) -> None:
    """Refuse a file larger than ``max_bytes`` of the input limits in force."""
    limits = current_limits()
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImportFormatError(str(path), f"cannot read file: {exc.strerror}") from exc
    except ValueError as exc:  # a NUL in the name
        raise ImportFormatError(repr(str(path)), f"not a file name: {exc}") from None
    if size > limits.max_bytes:
        raise InputLimitError(str(path), f"refused: {size:,} bytes, more than "
                                         f"{limits.max_bytes:,}; split the file")


def read_text(path: Path) -> str:
    """The file's text (UTF-8, falling back to Latin-1 as some older data sets use; a UTF-8
    byte order mark, as spreadsheets write, is dropped), at most ``max_bytes`` of the input
    limits in force."""
    check_file_size(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFormatError(str(path), f"cannot read file: {exc.strerror}") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def read_document(path: str | Path) -> Any:
    """A YAML file, or JSON by its suffix, within the input limits (no alias bombs, no
    runaway nesting); a syntax error names the line."""
    path = Path(path)
    if not path.exists():
        raise ImportFormatError(str(path), "no such file")
    text = read_text(path)
    if path.suffix.lower() == ".json":
        return parse_json(text, str(path))
    return parse_yaml(text, str(path))


def parse_xml(path: Path) -> ET.Element:
    """Parse an XML file (expat refuses entity expansion bombs); a syntax error names the
    line."""
    check_file_size(path)
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else None
        raise ImportFormatError(str(path), f"not well-formed XML: {exc}", line) from exc
    except OSError as exc:
        raise ImportFormatError(str(path), f"cannot read file: {exc.strerror}") from exc
    except LookupError as exc:  # <?xml encoding="..."?> names no codec
        raise ImportFormatError(str(path), f"not readable XML: {exc}; use UTF-8") from None


def local_name(tag: str) -> str:
    """Tag name without its XML namespace."""
    return tag.rsplit("}", 1)[-1]


def parse_number(path: Path, text: str | None, what: str, line: int | None = None) -> float:
    """A number from a file, or a format error naming what was expected."""
    try:
        value = float((text or "").strip())
    except ValueError:
        raise ImportFormatError(str(path), f"{what}: expected a number, got {text!r}",
                                line) from None
    if not math.isfinite(value):
        raise ImportFormatError(str(path), f"{what}: {text!r} is not a finite number; give "
                                           "a real value", line)
    return value
