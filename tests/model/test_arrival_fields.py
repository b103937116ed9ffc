"""Demand arrival fields: what each kind needs, contradictions caught with a fix, the native
format round trip, and Poisson tables kept free of arrival columns."""

from __future__ import annotations

from typing import Any

import pytest

from nettwin.errors import ValidationError
from nettwin.io.native import network_to_document, parse_document
from nettwin.model import build_network
from nettwin.model.fields import ArrivalKind


def _net(**demand: Any) -> Any:
    return build_network("n", [{"id": "a"}, {"id": "b"}],
                         [{"id": "l", "a": "a", "b": "b", "capacity_ab_bps": 1e7}],
                         [{"src": "a", "dst": "b", "rate_bps": 1e6, **demand}])


@pytest.mark.parametrize("fields", [
    {"arrival": "onoff", "on_mean_s": 0.1, "off_mean_s": 0.3},
    {"arrival": "onoff", "on_mean_s": 0.1, "peak_rate_bps": 4e6},
    {"arrival": "mmpp", "on_mean_s": 0.1, "off_mean_s": 0.3, "peak_rate_bps": 2e6},
    {"arrival": "dispersion", "dispersion_index": 12.0, "correlation_time_s": 0.05},
    {"arrival": "poisson"},
])
def test_each_kind_with_what_it_needs_loads_and_round_trips(fields: dict[str, Any]) -> None:
    net = _net(**fields)
    d = next(iter(net.iter_demands()))
    assert d.arrival is ArrivalKind(fields["arrival"])
    for key, value in fields.items():
        if key != "arrival":
            assert getattr(d, key) == value
    again = parse_document(network_to_document(net), "round trip")
    assert again.demands == net.demands
    assert next(iter(again.iter_demands())) == d


def test_poisson_demands_carry_no_arrival_columns() -> None:
    assert _net().demands.arrivals is None
    assert "arrival" not in network_to_document(_net())["demands"][0]


@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"arrival": "onoff", "on_mean_s": 0.1}, "off_mean_s", "needs"),
    ({"arrival": "mmpp", "on_mean_s": 0.1, "off_mean_s": 0.1}, "peak_rate_bps", "needs"),
    ({"arrival": "dispersion", "dispersion_index": 3.0}, "correlation_time_s", "needs"),
    ({"arrival": "poisson", "on_mean_s": 0.1}, "on_mean_s", "no meaning"),
    ({"arrival": "onoff", "on_mean_s": 0.1, "peak_rate_bps": 5e5}, "peak_rate_bps", "below"),
    ({"arrival": "onoff", "on_mean_s": 0.1, "off_mean_s": 0.1, "peak_rate_bps": 3e6},
     "peak_rate_bps", "disagree"),
    ({"arrival": "mmpp", "on_mean_s": 0.3, "off_mean_s": 0.1, "peak_rate_bps": 3e6},
     "peak_rate_bps", "negative"),
    ({"arrival": "bursty"}, "arrival", ""),
    ({"arrival": "dispersion", "dispersion_index": 0.5, "correlation_time_s": 1.0},
     "dispersion_index", ""),
    ({"arrival": "onoff", "on_mean_s": -1.0, "off_mean_s": 0.1}, "on_mean_s", ""),
])
def test_bad_arrival_fields_name_the_field_and_the_fix(fields: dict[str, Any], field: str,
                                                       words: str) -> None:
    with pytest.raises(ValidationError) as info:
        _net(**fields)
    problem = info.value.problems[0]
    assert problem.field == field
    assert words in problem.message
    assert problem.fix


def test_a_traffic_file_keeps_its_arrival_fields(tmp_path: Any) -> None:
    from nettwin.io import load_traffic

    path = tmp_path / "t.yaml"
    path.write_text("demands:\n- {src: a, dst: b, rate_bps: 1e6, arrival: onoff, "
                    "on_mean_s: 0.1, off_mean_s: 0.3}\n- {src: b, dst: a, rate_bps: 2e6}\n")
    net = load_traffic(_net(), path)
    first, second = net.iter_demands()
    assert (first.arrival, first.on_mean_s, first.off_mean_s) == (ArrivalKind.ONOFF, 0.1, 0.3)
    assert second.arrival is ArrivalKind.POISSON


def test_a_matrix_without_arrival_processes_says_it_drops_the_plans(tmp_path: Any) -> None:
    """A CSV matrix replaces the demands of a network whose demand is on-off: the loaded
    network is all Poisson (the file gives no processes), and a note says so with the fix;
    a native file giving the fields keeps them, with no such note."""
    from nettwin.io import load_traffic
    from tests.conftest import onoff_ring

    ring = onoff_ring()
    csv = tmp_path / "m.csv"
    csv.write_text("src,dst,rate_bps\na,b,6e6\nc,d,2e6\n")
    net = load_traffic(ring, csv)
    assert net.demands.arrivals is None
    (said,) = [n for n in net.notes if "arrival processes" in n.message]
    assert "1 bursty demand(s)" in said.message and "native" in said.fix
    native = tmp_path / "m.yaml"
    native.write_text("demands:\n- {src: a, dst: b, rate_bps: 6e6, arrival: onoff, "
                      "on_mean_s: 0.05, off_mean_s: 0.05}\n")
    kept = load_traffic(ring, native)
    assert kept.demands.arrivals is not None
    assert not [n for n in kept.notes if "arrival processes" in n.message]


def test_a_traffic_series_says_it_drops_the_plans_arrival_processes(tmp_path: Any) -> None:
    """The planners' --traffic-series: matrices give no processes, and the series network
    says that the plan's bursty demand became Poisson."""
    from nettwin.io.traffic_series import read_traffic_series
    from tests.conftest import onoff_ring

    files = []
    for k, rate in enumerate((6e6, 5e6)):
        files.append(tmp_path / f"m{k}.csv")
        files[-1].write_text(f"src,dst,rate_bps\na,b,{rate}\nc,d,2e6\n")
    net, series = read_traffic_series(onoff_ring(), files)
    assert series.rate_bps.shape[0] == 2 and net.demands.arrivals is None
    assert any("1 bursty demand(s) are replaced by Poisson" in n.message for n in net.notes)
