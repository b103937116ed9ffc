"""Lab planning without root: costs outside OSPF's range are refused before anything is
built (FRR would silently keep cost 10 for 70000)."""

from __future__ import annotations

import pytest

from nettwin.lab.frr import LabError, plan_lab
from nettwin.model import build_network


@pytest.mark.parametrize("cost", [65_536, 70_000, 16_777_215])
def test_costs_outside_ospf_range_are_refused(cost: int) -> None:
    net = build_network("t", [{"id": "a"}, {"id": "b"}],
                        [{"id": "ab", "a": "a", "b": "b", "capacity_bps": 1e9,
                          "metric_ab": 10, "metric_ba": cost}])
    with pytest.raises(LabError, match=f"ab \\(10/{cost}\\)"):
        plan_lab(net)


def test_the_largest_ospf_cost_is_accepted() -> None:
    net = build_network("t", [{"id": "a"}, {"id": "b"}],
                        [{"id": "ab", "a": "a", "b": "b", "capacity_bps": 1e9,
                          "metric": 65_535}])
    assert plan_lab(net).links[0].cost_ab == 65_535
