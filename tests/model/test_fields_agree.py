"""The element dataclasses and the field declarations (model/fields.py) say the same thing:
every declared field exists on its record with the same type and the same default."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

import pytest

from nettwin.model import elements
from nettwin.model.fields import FIELDS_BY_ELEMENT, REQUIRED, FieldSpec

RECORDS: dict[str, type] = {"node": elements.Node, "link": elements.Link,
                            "radio": elements.Radio, "service": elements.Service,
                            "demand": elements.Demand, "slice": elements.Slice}
NESTED = {("link", "radio"): elements.Radio}  # declared as a mapping, held as its record
# declared optional (None: derived when the network is built), held resolved in the record
DERIVED = {("link", "metric_ab"): elements.DEFAULT_IGP_METRIC,  # with a note
           ("demand", "id"): REQUIRED}  # 'SRC->DST', made by the demand table


def _types(annotation: Any) -> set[Any]:
    """The classes an annotation allows (Optional's None dropped, generics to origin)."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return set().union(*(_types(a) for a in typing.get_args(annotation))) - {type(None)}
    return {typing.get_origin(annotation) or annotation}


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return REQUIRED


@pytest.mark.parametrize("element", sorted(RECORDS))
def test_every_field_agrees(element: str) -> None:
    record = RECORDS[element]
    fields = {f.name: f for f in dataclasses.fields(record)}
    hints = typing.get_type_hints(record)
    specs: dict[str, FieldSpec] = {s.name: s for s in FIELDS_BY_ELEMENT[element]}
    assert set(specs) == set(fields), f"{element}: declared and record fields differ"
    for name, spec in specs.items():
        want = {NESTED.get((element, name), t) for t in (
            spec.type if isinstance(spec.type, tuple) else (spec.type,))}
        assert want == _types(hints[name]), f"{element}.{name}: type"
        got = _default(fields[name])
        if spec.default_from is not None:
            # omitted: takes another field's value, so the record defaults as that one does
            assert got == _default(fields[spec.default_from]), f"{element}.{name}: default"
        elif (element, name) in DERIVED:
            assert spec.default is None and got == DERIVED[element, name], f"{element}.{name}"
        else:
            assert got == spec.default, f"{element}.{name}: default {got!r} != {spec.default!r}"


def test_a_link_built_from_a_record_gets_the_declared_defaults() -> None:
    from nettwin.model import build_network

    net = build_network("n", [{"id": "a"}, {"id": "b"}],
                        [{"id": "l", "a": "a", "b": "b", "capacity_ab_bps": 1e9}])
    built = net.links["l"]
    direct = elements.Link("l", "a", "b", 1e9, 1e9)
    assert built == direct
