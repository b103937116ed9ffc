"""Choices an importer makes when a format lacks what the model needs; each is reported."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any

from nettwin.model.fields import MAX_IGP_METRIC
from nettwin.model.problems import Problem, Severity

# the field of the note an importer writes when it applied the metric policy: a metrics
# file that replaces every link's metric (io.metrics) withdraws that note
POLICY_METRIC_FIELD = "metric"


class MetricPolicy(enum.Enum):
    """How to derive IGP metrics for formats that carry none."""

    INVERSE_CAPACITY = "inverse-capacity"  # OSPF auto-cost: reference bandwidth / capacity
    HOP = "hop"  # every metric 1
    DISTANCE = "distance"  # one per started 100 km, at least 1


@dataclass(frozen=True)
class ImportOptions:
    """Defaults for what a file does not say. Every default applied becomes a note."""

    default_capacity_bps: float = 10e9
    metric_policy: MetricPolicy = MetricPolicy.INVERSE_CAPACITY
    reference_bandwidth_bps: float = 100e9

    def metric_for(self, capacity_bps: Any, length_km: Any) -> int:
        """The metric ``metric_policy`` gives a link of this capacity and length. Values as
        they came from a file: one that is no positive finite number gives 1 here, and the
        model's validation reports it with the element's name."""
        if self.metric_policy is MetricPolicy.HOP:
            return 1
        if self.metric_policy is MetricPolicy.DISTANCE:
            length = _positive(length_km)
            return max(1, min(MAX_IGP_METRIC, math.ceil((length or 0.0) / 100.0)))
        capacity = _positive(capacity_bps)
        if capacity is None:
            return 1
        return max(1, min(MAX_IGP_METRIC, round(self.reference_bandwidth_bps / capacity)))

    def describe_metric(self) -> str:
        if self.metric_policy is MetricPolicy.INVERSE_CAPACITY:
            return (f"metric = reference bandwidth {self.reference_bandwidth_bps:g} bit/s"
                    " / capacity (OSPF auto-cost), at least 1")
        if self.metric_policy is MetricPolicy.DISTANCE:
            return "metric = 1 per started 100 km of great-circle length"
        return "metric = 1 on every link (hop count)"


def _positive(value: Any) -> float | None:
    """``value`` as a positive finite float, else None."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def metric_policy_note(element: str, what: str, options: ImportOptions) -> Problem:
    """The note that the metric policy was applied (``what``: where metrics were missing)."""
    return Problem(element, f"{what}: {options.describe_metric()}", field=POLICY_METRIC_FIELD,
                   fix="give the routers' real metrics: --metrics FILE, or over the API the "
                       "upload's 'metrics' part",
                   severity=Severity.NOTE)
