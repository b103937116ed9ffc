"""JSON Schema and reference docs of the native format, generated from the field declarations."""

from __future__ import annotations

import enum
from typing import Any

from nettwin.model.fields import FIELDS_BY_ELEMENT, FieldSpec, type_name

NATIVE_FORMAT_VERSION = 1
_SHORTHANDS = {
    "link": {
        "capacity_bps": "Both directions' capacity at once (bit/s).",
        "metric": "Both directions' IGP metric at once.",
    }
}


def _field_schema(spec: FieldSpec) -> dict[str, Any]:
    kind = spec.type
    schema: dict[str, Any]
    if kind is str:
        schema = {"type": "string", "minLength": 1}
    elif kind is float:
        schema = {"type": "number"}
    elif kind is int:
        schema = {"type": "integer"}
    elif kind is bool:
        schema = {"type": "boolean"}
    elif kind is tuple:
        schema = {"type": "array", "items": {"type": "string"}}
    elif kind is dict:
        schema = {"type": "object"}
    elif isinstance(kind, type) and issubclass(kind, enum.Enum):
        schema = {"enum": [m.value for m in kind]}
    else:  # pragma: no cover - guarded by the declarations
        raise TypeError(kind)
    if spec.minimum is not None:
        schema["minimum"] = spec.minimum
    if spec.exclusive_minimum is not None:
        schema["exclusiveMinimum"] = spec.exclusive_minimum
    if spec.maximum is not None:
        schema["maximum"] = spec.maximum
    schema["description"] = spec.description + (f" Unit: {spec.unit}." if spec.unit else "")
    if not spec.required and spec.default is not None:
        default = spec.default
        schema["default"] = default.value if isinstance(default, enum.Enum) else (
            list(default) if isinstance(default, tuple) else default)
    return schema


def element_schema(element: str) -> dict[str, Any]:
    specs = FIELDS_BY_ELEMENT[element]
    props = {s.name: _field_schema(s) for s in specs}
    for name, text in _SHORTHANDS.get(element, {}).items():
        props[name] = {"type": "number", "description": text}
    required = [s.name for s in specs if s.required]
    if element == "link":
        required.remove("capacity_ab_bps")  # capacity_bps may stand in for it
        props["radio"] = element_schema("radio") | {"description": "Microwave radio."}
    return {"type": "object", "properties": props, "required": required,
            "additionalProperties": False}


def export_json_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of a native nettwin network file."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "nettwin network",
        "type": "object",
        "required": ["nodes", "links"],
        "properties": {
            "nettwin": {"const": NATIVE_FORMAT_VERSION, "description": "Format version."},
            "name": {"type": "string"},
            "nodes": {"type": "array", "items": element_schema("node")},
            "links": {"type": "array", "items": element_schema("link")},
            "demands": {"type": "array", "items": element_schema("demand")},
            "services": {"type": "array", "items": element_schema("service")},
            "slices": {"type": "array", "items": element_schema("slice")},
        },
        "additionalProperties": False,
    }


def render_markdown() -> str:
    """Reference tables of every element's fields, for the docs."""
    out = ["# nettwin native format: fields", ""]
    for element, specs in FIELDS_BY_ELEMENT.items():
        out += [f"## {element}", "", "| field | type | unit | default | description |",
                "|---|---|---|---|---|"]
        for s in specs:
            kind = type_name(s)
            default = "required" if s.required else (
                s.default.value if isinstance(s.default, enum.Enum) else repr(s.default))
            out.append(f"| `{s.name}` | {kind} | {s.unit or ''} | {default} | {s.description} |")
        out.append("")
    return "\n".join(out)
