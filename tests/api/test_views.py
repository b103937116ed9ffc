"""Map positions for the dashboard: geographic layouts keep distances, force layouts fit."""

from __future__ import annotations

import itertools
import math

from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.model import build_network
from nettwin.model.geo import haversine_km
from nettwin.report.maps import Layout


def test_geographic_layout_preserves_distance_ratios() -> None:
    network = load_network(example_path("munich-backhaul"))
    view = Layout.of(network)
    assert view.geographic
    for n in network.nodes.values():
        x, y = view.pos[n.id]
        assert 0 <= x <= 1 and 0 <= y <= 1
        assert view.xy(n.latitude, n.longitude) == (x, y)  # type: ignore[arg-type]
    # a small area: the equirectangular map keeps ground distances to within 0.5 %
    nodes = list(network.nodes.values())
    for a, b in itertools.islice(itertools.combinations(nodes, 2), 200):
        ground = haversine_km(a.latitude, a.longitude, b.latitude, b.longitude)  # type: ignore[arg-type]
        drawn = math.dist(view.pos[a.id], view.pos[b.id])
        assert math.isclose(drawn, view.km(ground), rel_tol=5e-3)
    # north is up
    north = max(nodes, key=lambda n: n.latitude or 0.0)
    assert view.pos[north.id][1] == min(y for _x, y in view.pos.values())


def test_force_layout_without_coordinates_fits_the_square() -> None:
    net = build_network("ring", [{"id": f"n{i}"} for i in range(12)],
                        [{"id": f"l{i}", "a": f"n{i}", "b": f"n{(i + 1) % 12}",
                          "capacity_ab_bps": 1e9, "capacity_ba_bps": 1e9} for i in range(12)])
    view = Layout.of(net)
    assert not view.geographic
    xs = [p[0] for p in view.pos.values()]
    ys = [p[1] for p in view.pos.values()]
    assert min(xs) >= 0 and max(xs) <= 1 and min(ys) >= 0 and max(ys) <= 1
    assert max(max(xs) - min(xs), max(ys) - min(ys)) == 1.0  # fills the square's long side
    assert len({(round(x, 6), round(y, 6)) for x, y in view.pos.values()}) == 12  # no overlap
