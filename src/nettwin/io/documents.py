"""YAML and JSON documents from untrusted hands, parsed within limits.

A few hundred bytes of nested YAML anchors expand to billions of elements, a deeply nested
list exhausts the parser's recursion, an integer of a million digits takes seconds to
convert: each is refused here with an :class:`~nettwin.errors.ImportFormatError` that names
the file, where in the document and how to fix it, before any importer sees the data.

Aliases are allowed (``yaml.safe_dump`` writes them for shared objects) but what they add
when expanded is bounded by ``max_alias_elements`` and the whole document by
``max_elements``; the check weighs the parser's nodes once (an alias weighs what it points
at), so a bomb is refused in milliseconds, not expanded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

from nettwin.errors import ImportFormatError, InputLimitError


@dataclass(frozen=True)
class InputLimits:
    """How much a document may hold. The defaults fit a 100,000-link network file."""

    max_bytes: int = 512 * 2**20
    max_depth: int = 64  # nesting of lists and mappings
    max_elements: int = 5_000_000  # scalars, lists and mappings, aliases expanded
    max_int_bits: int = 64  # larger integers are no counter, metric or capacity
    max_alias_elements: int = 100_000  # what aliases may add beyond the written elements

    def describe(self) -> str:
        return (f"at most {self.max_bytes:,} bytes, {self.max_depth} levels of nesting, "
                f"{self.max_elements:,} elements (aliases expanded) and {self.max_int_bits}-bit "
                "integers")


DEFAULT_LIMITS = InputLimits()
_LIMITS: ContextVar[InputLimits] = ContextVar("nettwin_input_limits", default=DEFAULT_LIMITS)


def current_limits() -> InputLimits:
    """The limits in force (``input_limits`` sets them for a block, e.g. an upload)."""
    return _LIMITS.get()


@contextmanager
def input_limits(limits: InputLimits) -> Iterator[None]:
    """Read every file inside the block within ``limits`` (the service's upload limits)."""
    token = _LIMITS.set(limits)
    try:
        yield
    finally:
        _LIMITS.reset(token)


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader that weighs every node as it is composed: a node weighs one plus
    its children, an alias weighs what it points at. Too heavy or too deep is refused."""

    def __init__(self, stream: str, source: str, limits: InputLimits) -> None:
        super().__init__(stream)
        self.source, self.limits = source, limits
        self._weight: dict[int, int] = {}
        self._depth = 0
        self._written = 0  # nodes composed from the text itself, aliases not expanded

    def _refuse(self, message: str, line: int) -> ImportFormatError:
        return ImportFormatError(self.source, f"refused: {message}", line)

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        alias = self.check_event(yaml.AliasEvent)
        self._depth += 1
        if self._depth > self.limits.max_depth:
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise self._refuse(f"nested more than {self.limits.max_depth} levels deep",
                               mark.line + 1)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        assert node is not None  # only None at the end of the stream, never inside one
        key = id(node)
        if key in self._weight:
            return node
        if alias:  # the anchored node is still being composed: it contains itself
            raise self._refuse("an alias refers to the list or mapping that contains it (a "
                               "recursive anchor); write the data out instead",
                               node.start_mark.line + 1)
        self._written += 1
        weight = 1
        if isinstance(node, SequenceNode):
            weight += sum(self._weight.get(id(child), 1) for child in node.value)
        elif isinstance(node, MappingNode):
            weight += sum(self._weight.get(id(k), 1) + self._weight.get(id(v), 1)
                          for k, v in node.value)
        if weight > self._written + self.limits.max_alias_elements:
            raise self._refuse(f"aliases expand this value by more than "
                               f"{self.limits.max_alias_elements:,} elements (a YAML alias "
                               "bomb?); write shared values out", node.start_mark.line + 1)
        if weight > self.limits.max_elements:
            raise InputLimitError(self.source, f"refused: more than "
                                               f"{self.limits.max_elements:,} elements; split "
                                               "the file", node.start_mark.line + 1)
        self._weight[key] = weight
        return node


def parse_yaml(text: str, source: str, limits: InputLimits | None = None) -> Any:
    """One YAML document (safe types only) within ``limits`` (default: those in force)."""
    limits = limits or current_limits()
    try:
        loader = _BoundedLoader(text, source, limits)
    except yaml.YAMLError as exc:  # a character YAML does not allow
        raise ImportFormatError(source, f"invalid YAML: {exc}") from None
    try:
        doc = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ImportFormatError(source, f"invalid YAML: {exc}", line) from None
    except (ValueError, OverflowError) as exc:  # int of too many digits, a bad date
        raise ImportFormatError(source, f"invalid YAML value ({exc}); give a plausible "
                                        "value") from None
    except RecursionError:
        raise ImportFormatError(source, "invalid YAML: nested too deeply") from None
    finally:
        loader.dispose()
    check_document(doc, source, limits)
    return doc


def parse_json(text: str | bytes, source: str, limits: InputLimits | None = None) -> Any:
    """One JSON document within ``limits`` (default: those in force)."""
    limits = limits or current_limits()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(source, f"invalid JSON: {exc.msg}", exc.lineno) from None
    except RecursionError:
        raise ImportFormatError(source, "refused: JSON nested too deeply; at most "
                                        f"{limits.max_depth} levels are read") from None
    except ValueError as exc:  # an integer beyond Python's int-string limit
        raise ImportFormatError(source, f"refused: an integer too long to read ({exc}); "
                                        "give a plausible value") from None
    check_document(doc, source, limits)
    return doc


def check_document(doc: Any, source: str, limits: InputLimits | None = None) -> None:
    """Walk a parsed document once: depth, size and integer range within ``limits``; the
    error names the place (``links[3].attributes.x``)."""
    limits = limits or current_limits()
    top = 2**limits.max_int_bits
    count = 0
    stack: list[tuple[Any, str, int]] = [(doc, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        count += 1
        if count > limits.max_elements:
            raise InputLimitError(source, f"refused: more than {limits.max_elements:,} "
                                          "elements; split the file")
        if isinstance(value, bool) or value is None or isinstance(value, str):
            continue
        if isinstance(value, int):
            if not -top < value < top:
                raise ImportFormatError(source, f"{where or 'the document'}: integer of "
                                                f"{len(str(abs(value)))} digits is beyond "
                                                f"{limits.max_int_bits} bits; give a "
                                                "plausible value")
            continue
        if isinstance(value, float):
            continue
        if depth >= limits.max_depth:
            raise ImportFormatError(source, f"{where or 'the document'}: nested more than "
                                            f"{limits.max_depth} levels deep; flatten it")
        if isinstance(value, Mapping):
            for k, v in value.items():
                name = str(k)[:60]
                stack.append((k, f"{where}.{name}" if where else name, depth + 1))
                stack.append((v, f"{where}.{name}" if where else name, depth + 1))
        elif isinstance(value, list | tuple):
            for i, v in enumerate(value):
                stack.append((v, f"{where}[{i}]", depth + 1))
        else:  # dates and times from YAML are fine as text
            continue
