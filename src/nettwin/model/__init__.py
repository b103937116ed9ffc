"""The network model: records declared once, validated as a whole, immutable."""

from nettwin.model.demands import DemandTable, build_demands_from_columns, demand_id
from nettwin.model.elements import Demand, Link, Node, Radio, Service, Slice
from nettwin.model.fields import FIELDS_BY_ELEMENT, FieldSpec, LinkKind, NodeKind
from nettwin.model.network import Network, build_network
from nettwin.model.problems import Problem, Severity

__all__ = [
    "FIELDS_BY_ELEMENT",
    "Demand",
    "DemandTable",
    "FieldSpec",
    "Link",
    "LinkKind",
    "Network",
    "Node",
    "NodeKind",
    "Problem",
    "Radio",
    "Service",
    "Severity",
    "Slice",
    "build_demands_from_columns",
    "build_network",
    "demand_id",
]
