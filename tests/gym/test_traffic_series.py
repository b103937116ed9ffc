"""Traffic series: measured matrices read per interval, aligned with the network's demands."""

from __future__ import annotations

import numpy as np
import pytest

from nettwin.engine import compile_network
from nettwin.errors import NettwinError
from nettwin.gym import diurnal_series, series_from_matrices
from nettwin.io import load_network, load_traffic
from nettwin.io.traffic_series import read_traffic_series, traffic_files
from nettwin.model import Network
from tests.conftest import data_path


def test_abilene_5_minute_files_become_a_series() -> None:
    folder = data_path("traffic", "abilene-zhang-5min")
    network = load_network(data_path("sndlib", "xml", "abilene.xml"))
    files = traffic_files(folder)[:4]
    with_pairs, series = read_traffic_series(network, files)
    assert series.rate_bps.shape == (4, len(with_pairs.demands))
    assert series.interval_s == 300.0 and series.steps_per_day == 288
    net = compile_network(with_pairs)
    ids = with_pairs.node_ids
    for step, path in enumerate(files):  # each row is that file's matrix
        table = load_traffic(network, path).demands
        expected = {(ids[s], ids[d]): r for s, d, r in zip(
            table.src.tolist(), table.dst.tolist(), table.rate_bps.tolist(), strict=True)}
        got = {(ids[s], ids[d]): r for s, d, r in zip(
            net.demand_src.tolist(), net.demand_dst.tolist(), series.rate_bps[step].tolist(),
            strict=True)}
        assert {k: v for k, v in got.items() if v or k in expected} == expected


def test_a_pair_the_network_lacks_is_named(abilene: Network) -> None:
    net = compile_network(abilene)
    known = (np.array([net.demand_src[0]]), np.array([net.demand_dst[0]]))
    unknown = (np.array([0]), np.array([0]))  # a node to itself: never a demand
    with pytest.raises(NettwinError, match="no demand in the network"):
        series_from_matrices(net, [known[0], unknown[0]], [known[1], unknown[1]],
                             [np.ones(1), np.ones(1)], interval_s=300)


def test_diurnal_series_follows_the_matrix(abilene: Network) -> None:
    net = compile_network(abilene)
    series = diurnal_series(net, days=2, interval_s=900.0, seed=1)
    assert series.rate_bps.shape == (192, net.n_demands) and series.days == 2
    total = series.rate_bps.sum(axis=1)
    hours = (np.arange(192) % 96) / 4
    assert hours[np.argmin(total[:96])] == pytest.approx(4.0, abs=1.5)
    assert hours[np.argmax(total[:96])] == pytest.approx(16.0, abs=1.5)
    assert total.max() <= 1.3 * net.demand_rate_bps.sum()
