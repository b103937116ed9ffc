"""Choices an importer makes when a format lacks what the model needs; each is reported."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from nettwin.model.fields import MAX_IGP_METRIC


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

    def metric_for(self, capacity_bps: float, length_km: float | None) -> int:
        """The metric ``metric_policy`` gives a link of this capacity and length."""
        if self.metric_policy is MetricPolicy.HOP:
            return 1
        if self.metric_policy is MetricPolicy.DISTANCE:
            return max(1, min(MAX_IGP_METRIC, math.ceil((length_km or 0.0) / 100.0)))
        return max(1, min(MAX_IGP_METRIC, round(self.reference_bandwidth_bps / capacity_bps)))

    def describe_metric(self) -> str:
        if self.metric_policy is MetricPolicy.INVERSE_CAPACITY:
            return (f"metric = reference bandwidth {self.reference_bandwidth_bps:g} bit/s"
                    " / capacity (OSPF auto-cost), at least 1")
        if self.metric_policy is MetricPolicy.DISTANCE:
            return "metric = 1 per started 100 km of great-circle length"
        return "metric = 1 on every link (hop count)"
