"""Every attribute of every model element, declared once as data.

The declarations drive validation and coercion (:func:`coerce_record`), the JSON Schema of the
native format (:func:`nettwin.model.schema.export_json_schema`) and the reference docs
(:func:`nettwin.model.schema.render_markdown`). Units are part of the names.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nettwin.model.problems import Problem


class NodeKind(enum.Enum):
    """What a node is in the network."""

    ROUTER = "router"
    SWITCH = "switch"
    RADIO = "radio"
    SITE = "site"
    HOST = "host"
    OTHER = "other"


class LinkKind(enum.Enum):
    """The physical medium of a link; it sets the default propagation speed."""

    FIBER = "fiber"
    MICROWAVE = "microwave"
    ETHERNET = "ethernet"
    OTHER = "other"


class ArrivalKind(enum.Enum):
    """How a demand's packets arrive (the engine's bursty queueing reads it)."""

    POISSON = "poisson"
    ONOFF = "onoff"  # Poisson at the peak rate while on, silent while off
    MMPP = "mmpp"  # two rates: the peak while on, the rest of the mean while off
    DISPERSION = "dispersion"  # a measured index of dispersion and correlation time


class Polarization(enum.Enum):
    """Polarisation of a radio link."""

    HORIZONTAL = "horizontal"
    VERTICAL = "vertical"


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()
MAX_IGP_METRIC = 16_777_215  # IS-IS wide metrics (24 bit); OSPF's 65,535 fits within it
DEFAULT_IGP_METRIC = 1  # a link given without metric (``report_default``: a note says so)


@dataclass(frozen=True)
class FieldSpec:
    """Declaration of one attribute: type, unit, default, bounds and what it means."""

    name: str
    type: type | tuple[type, ...]
    description: str
    unit: str | None = None
    default: Any = REQUIRED
    minimum: float | None = None
    exclusive_minimum: float | None = None
    maximum: float | None = None
    report_default: bool = False
    default_from: str | None = None  # omitted: takes this other field's resolved value

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


NODE_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("id", str, "Unique node identifier (router hostname, site code)."),
    FieldSpec("name", str, "Human-readable name; defaults to the id.", default=None),
    FieldSpec("kind", NodeKind, "What the node is.", default=NodeKind.ROUTER),
    FieldSpec("latitude", float, "WGS84 latitude.", unit="deg", default=None,
              minimum=-90.0, maximum=90.0),
    FieldSpec("longitude", float, "WGS84 longitude.", unit="deg", default=None,
              minimum=-180.0, maximum=180.0),
    FieldSpec("attributes", dict, "Free-form attributes kept as they came.", default=None),
)

LINK_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("id", str, "Unique link identifier."),
    FieldSpec("a", str, "Node id of endpoint A."),
    FieldSpec("b", str, "Node id of endpoint B."),
    FieldSpec("kind", LinkKind, "Physical medium.", default=LinkKind.FIBER),
    FieldSpec("capacity_ab_bps", float, "Capacity from A to B.", unit="bit/s",
              exclusive_minimum=0.0),
    FieldSpec("capacity_ba_bps", float, "Capacity from B to A; defaults to capacity_ab_bps.",
              unit="bit/s", default=None, exclusive_minimum=0.0,
              default_from="capacity_ab_bps"),
    FieldSpec("metric_ab", int, "IGP metric (OSPF cost / IS-IS metric) of the A-to-B "
              f"direction; {DEFAULT_IGP_METRIC} when omitted (with a note).",
              default=None, minimum=1, maximum=MAX_IGP_METRIC, report_default=True),
    FieldSpec("metric_ba", int, "IGP metric of the B-to-A direction; defaults to metric_ab.",
              default=None, minimum=1, maximum=MAX_IGP_METRIC, default_from="metric_ab"),
    FieldSpec("length_km", float, "Route length of the link; sets the propagation delay.",
              unit="km", default=None, minimum=0.0),
    FieldSpec("delay_s", float, "One-way propagation delay; overrides length_km.", unit="s",
              default=None, minimum=0.0),
    FieldSpec("srlgs", tuple, "Shared-risk link group ids this link belongs to.", default=()),
    FieldSpec("admin_up", bool, "Administratively enabled.", default=True),
    FieldSpec("oper_up", bool, "Operationally up (as last observed).", default=True),
    FieldSpec("buffer_packets", int, "Output buffer per direction, for finite-buffer models.",
              unit="packets", default=None, minimum=1),
    FieldSpec("radio", dict, "Microwave radio parameters (see the radio fields).",
              default=None),
    FieldSpec("attributes", dict, "Free-form attributes kept as they came.", default=None),
    FieldSpec("power_ab_w", float, "Power drawn for the A-to-B direction when awake (A's "
              "port and transceiver, or its radio carriers at the top mode); from the kind and "
              "capacity when omitted (docs/energy.md).", unit="W", default=None, minimum=0.0),
    FieldSpec("power_ba_w", float, "Power drawn for the B-to-A direction when awake; "
              "defaults to power_ab_w.", unit="W", default=None, minimum=0.0,
              default_from="power_ab_w"),
)

RADIO_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("frequency_ghz", float, "Carrier frequency.", unit="GHz", exclusive_minimum=1.0,
              maximum=100.0),
    FieldSpec("profile", str, "Adaptive coding and modulation profile id (bundled or "
                              "user-defined)."),
    FieldSpec("polarization", Polarization, "Polarisation.", default=Polarization.VERTICAL),
    FieldSpec("tx_power_dbm", float, "Transmit power (capped per mode by the profile).",
              unit="dBm", default=None),
    FieldSpec("antenna_gain_a_dbi", float, "Antenna gain at end A; else from dish_diameter_m.",
              unit="dBi", default=None, minimum=0.0),
    FieldSpec("antenna_gain_b_dbi", float, "Antenna gain at end B; else from dish_diameter_m.",
              unit="dBi", default=None, minimum=0.0),
    FieldSpec("dish_diameter_m", float, "Dish diameter at both ends, when gains are not given.",
              unit="m", default=None, exclusive_minimum=0.0),
    FieldSpec("antenna_efficiency", float, "Aperture efficiency of the dishes.", default=0.6,
              exclusive_minimum=0.0, maximum=1.0),
    FieldSpec("losses_db", float, "Feeder and branching losses, both ends together.",
              unit="dB", default=0.0, minimum=0.0),
    FieldSpec("altitude_a_m", float, "Antenna altitude above sea level at end A.", unit="m",
              default=0.0),
    FieldSpec("altitude_b_m", float, "Antenna altitude above sea level at end B.", unit="m",
              default=0.0),
    FieldSpec("rain_rate_r001_mm_h", float, "Rain rate exceeded 0.01 % of the year; from the "
              "ITU-R P.837 map when omitted.", unit="mm/h", default=None, minimum=0.0),
    FieldSpec("dn1", float, "Refractivity gradient not exceeded 1 % of the year; from the "
              "ITU-R P.453 map when omitted.", unit="N/km", default=None),
    FieldSpec("hysteresis_db", float, "Margin above a mode's threshold before upshifting.",
              unit="dB", default=3.0, minimum=0.0),
    FieldSpec("carriers", int, "Radio carriers bonded into the link (N+0); capacity and "
              "power are shared equally, and each carrier can sleep on its own.", default=1,
              minimum=1, maximum=16),
)

DEMAND_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("id", str, "Unique demand id; defaults to 'SRC->DST' (plus ':CLASS').",
              default=None),
    FieldSpec("src", str, "Node id where the traffic enters."),
    FieldSpec("dst", str, "Node id where the traffic leaves."),
    FieldSpec("rate_bps", float, "Mean offered rate.", unit="bit/s", minimum=0.0),
    FieldSpec("traffic_class", str, "Traffic class (QoS) name.", default="best-effort"),
    FieldSpec("arrival", ArrivalKind, "How packets arrive: poisson; onoff (on_mean_s with "
              "off_mean_s or peak_rate_bps); mmpp (peak_rate_bps, on_mean_s, off_mean_s); "
              "dispersion (dispersion_index, correlation_time_s).",
              default=ArrivalKind.POISSON),
    FieldSpec("peak_rate_bps", float, "Rate while on (onoff, mmpp).", unit="bit/s",
              default=None, exclusive_minimum=0.0),
    FieldSpec("on_mean_s", float, "Mean length of an on (peak) period.", unit="s",
              default=None, exclusive_minimum=0.0),
    FieldSpec("off_mean_s", float, "Mean length of an off (low-rate) period.", unit="s",
              default=None, exclusive_minimum=0.0),
    FieldSpec("dispersion_index", float, "Measured index of dispersion of packet counts over "
              "long windows (variance / mean; 1 = Poisson).", default=None, minimum=1.0),
    FieldSpec("correlation_time_s", float, "Correlation time of the measured rate "
              "fluctuations (with dispersion_index).", unit="s", default=None,
              exclusive_minimum=0.0),
)

SERVICE_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("id", str, "Unique service id."),
    FieldSpec("name", str, "Human-readable name; defaults to the id.", default=None),
    FieldSpec("demands", tuple, "Ids of the demands that make up the service."),
    FieldSpec("max_delay_s", float, "SLA: worst-path one-way delay must stay at or below.",
              unit="s", default=None, exclusive_minimum=0.0),
    FieldSpec("max_loss", float, "SLA: packet loss fraction must stay at or below.",
              default=None, minimum=0.0, maximum=1.0),
    FieldSpec("min_availability", float, "SLA: fraction of time the service must be up.",
              default=None, minimum=0.0, maximum=1.0),
)

SLICE_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("id", str, "Unique slice id."),
    FieldSpec("name", str, "Human-readable name; defaults to the id.", default=None),
    FieldSpec("demands", tuple, "Ids of demands in the slice.", default=()),
    FieldSpec("services", tuple, "Ids of services whose demands are in the slice.", default=()),
    FieldSpec("endpoints", tuple, "Node ids: the demands between any two of them are in the "
              "slice (with traffic_classes: only those classes).", default=()),
    FieldSpec("traffic_classes", tuple, "Traffic classes: their demands are in the slice "
              "(with endpoints: only between those nodes).", default=()),
    FieldSpec("guaranteed_rate_bps", float, "SLA: total rate the slice may always send "
              "(its demands scaled up to it); its offered rate when omitted.", unit="bit/s",
              default=None, exclusive_minimum=0.0),
    FieldSpec("max_delay_s", float, "SLA: worst-path one-way delay of every demand must stay "
              "at or below.", unit="s", default=None, exclusive_minimum=0.0),
    FieldSpec("max_loss", float, "SLA: packet loss fraction of every demand must stay at or "
              "below.", default=None, minimum=0.0, maximum=1.0),
    FieldSpec("min_availability", float, "SLA: fraction of time (failures weighted by link "
              "unavailability) the SLA must hold.", default=None, minimum=0.0, maximum=1.0),
    FieldSpec("isolation", bool, "The SLA must hold while any other slice surges (x3).",
              default=True),
    FieldSpec("priority", int, "Admission order: higher first, ties in listed order.",
              default=0, minimum=-1_000_000, maximum=1_000_000),
)

FIELDS_BY_ELEMENT: Mapping[str, tuple[FieldSpec, ...]] = {
    "node": NODE_FIELDS,
    "link": LINK_FIELDS,
    "demand": DEMAND_FIELDS,
    "service": SERVICE_FIELDS,
    "slice": SLICE_FIELDS,
    "radio": RADIO_FIELDS,
}

_TRUE = {"true", "yes", "up", "1", "on"}
_FALSE = {"false", "no", "down", "0", "off"}


def _coerce_value(spec: FieldSpec, value: Any) -> Any:
    """Return ``value`` as ``spec.type`` or raise ValueError with the reason."""
    kind = spec.type
    if kind is str:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValueError("expected text")
        text = str(value).strip()
        if not text:
            raise ValueError("must not be empty")
        return text
    if kind is float or kind is int:
        if isinstance(value, bool):
            raise ValueError("expected a number, not true/false")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError("expected a number") from None
        except OverflowError:  # an integer beyond float range
            raise ValueError("must be a finite number") from None
        if not math.isfinite(number):
            raise ValueError("must be a finite number")
        if kind is int:
            if number != int(number):
                raise ValueError("expected a whole number")
            number = int(number)
        if spec.minimum is not None and number < spec.minimum:
            raise ValueError(f"must be at least {spec.minimum:g}")
        if spec.exclusive_minimum is not None and number <= spec.exclusive_minimum:
            raise ValueError(f"must be greater than {spec.exclusive_minimum:g}")
        if spec.maximum is not None and number > spec.maximum:
            raise ValueError(f"must be at most {spec.maximum:g}")
        return number
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, int | str) and str(value).strip().lower() in _TRUE | _FALSE:
            return str(value).strip().lower() in _TRUE
        raise ValueError("expected true or false")
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        text = str(value.value if isinstance(value, enum.Enum) else value).strip().lower()
        for member in kind:
            if text in (member.value, member.name.lower()):
                return member
        raise ValueError(f"expected one of {', '.join(m.value for m in kind)}")
    if kind is tuple:
        if isinstance(value, str | int):
            value = [value]
        if not isinstance(value, list | tuple):
            raise ValueError("expected a list")
        items = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, str | int):
                raise ValueError("expected a list of ids")
            items.append(str(item))
        return tuple(items)
    if kind is dict:
        if not isinstance(value, Mapping):
            raise ValueError("expected a mapping of name: value")
        return dict(value)
    raise TypeError(f"field {spec.name}: unsupported declared type {kind!r}")


def type_name(spec: FieldSpec) -> str:
    """The declared type in words, for messages and docs."""
    if isinstance(spec.type, type) and issubclass(spec.type, enum.Enum):
        return " / ".join(m.value for m in spec.type)
    names = {str: "text", float: "number", int: "whole number", bool: "true/false",
             tuple: "list of ids", dict: "mapping"}
    return names.get(spec.type, str(spec.type)) if isinstance(spec.type, type) else str(spec.type)


def _fix_for(spec: FieldSpec) -> str:
    unit = f" in {spec.unit}" if spec.unit else ""
    if isinstance(spec.type, type) and issubclass(spec.type, enum.Enum):
        return f"use one of: {', '.join(m.value for m in spec.type)}"
    bounds = []
    if spec.minimum is not None:
        bounds.append(f">= {spec.minimum:g}")
    if spec.exclusive_minimum is not None:
        bounds.append(f"> {spec.exclusive_minimum:g}")
    if spec.maximum is not None:
        bounds.append(f"<= {spec.maximum:g}")
    rng = f" ({' and '.join(bounds)})" if bounds else ""
    return f"give {spec.name} as a {type_name(spec)}{unit}{rng}"


def coerce_record(
    element: str, label: str, record: Mapping[str, Any], specs: tuple[FieldSpec, ...]
) -> tuple[dict[str, Any], list[Problem]]:
    """Check one raw record against its declarations.

    Returns the coerced values (defaults filled in, unknown keys reported) and every problem
    found in the record. ``label`` names the record in messages, e.g. ``link 'NY-CHI'``.
    """
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    known = {spec.name for spec in specs}
    for key in record:
        if key not in known:
            problems.append(Problem(
                element=label, field=str(key), value=None,
                message=f"unknown {element} field",
                fix=f"use one of: {', '.join(sorted(known))} (free-form data goes in 'attributes')",
            ))
    for spec in specs:
        raw = record.get(spec.name)
        if raw is None or (isinstance(raw, str) and not raw.strip() and spec.type is not str):
            if spec.required:
                problems.append(Problem(element=label, field=spec.name,
                                        message="is required but missing", fix=_fix_for(spec)))
            values[spec.name] = spec.default
            continue
        try:
            values[spec.name] = _coerce_value(spec, raw)
        except ValueError as exc:
            problems.append(Problem(element=label, field=spec.name, value=raw,
                                    message=str(exc), fix=_fix_for(spec)))
            values[spec.name] = spec.default
    return values, problems
