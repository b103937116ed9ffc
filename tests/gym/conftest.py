"""Networks and traffic the environment tests share."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import yaml

from nettwin.engine import compile_network
from nettwin.examples import example_path
from nettwin.gym import TrafficSeries
from nettwin.io import load_network
from nettwin.model import Network
from nettwin.radio.acm import AcmProfile, load_acm_profiles
from nettwin.radio.storm import Storm, parse_storm


@pytest.fixture(scope="session")
def abilene() -> Network:
    """The bundled Abilene core (11 nodes, 3 services, SRLGs)."""
    return load_network(example_path("abilene"))


@pytest.fixture(scope="session")
def munich() -> tuple[Network, dict[str, AcmProfile], Storm]:
    net = load_network(example_path("munich-backhaul"))
    profiles = load_acm_profiles(example_path("munich-acm-38ghz").with_suffix(".txt"))
    storm = parse_storm(yaml.safe_load(example_path("munich-storm").read_text()))
    return net, profiles, storm


def constant_series(network: Network, steps: int = 48, scale: float = 1.0) -> TrafficSeries:
    """The network's own matrix in every interval: what-if baselines use the same rates."""
    rate = compile_network(network).demand_rate_bps * scale
    return TrafficSeries(np.tile(rate, (steps, 1)), 300.0, 24)


def scaled_network(network: Network, scale: float) -> Network:
    table = network.demands
    return network.with_demands(dataclasses.replace(table, rate_bps=table.rate_bps * scale),
                                services=network.services)
