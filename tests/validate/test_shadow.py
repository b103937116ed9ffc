"""Shadow mode in the library: a callable policy and a Gymnasium agent judged on a sequence
of states, never applied; the gym agent's own account of its change (the environment's numba
stepper) against the twin's verdict on the scenario it is translated into."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from nettwin.engine import compile_network, simulate
from nettwin.examples import abilene
from nettwin.gym.agents import GreedyPolicy, NoOpPolicy
from nettwin.gym.shadow import agent_proposal
from nettwin.io.frr_config import parse_frr_config
from nettwin.validate import ChangeSet, Grade, Survive
from nettwin.validate.shadow import scorecard, shadow_run

LOOP = ("! router New-York\nip route 10.255.0.2/32 New-York--Chicago\n"
        "! router Chicago\nip route 10.255.0.2/32 10.1.0.1\n")


def _at(level: float) -> Any:
    net = abilene()
    d = net.demands
    return dataclasses.replace(net, demands=dataclasses.replace(d, rate_bps=d.rate_bps * level))


def _mlu(net: Any) -> float:
    r = simulate(compile_network(net))
    return float(np.where(r.arc_up, r.arc_utilisation, 0.0).max())


def test_a_callable_policy_is_judged_on_each_state_and_never_applied() -> None:
    net = abilene()
    loop = parse_frr_config(LOOP, net)
    seen: list[float] = []

    def policy(network: Any) -> ChangeSet | None:
        seen.append(_mlu(network))
        return loop if len(seen) != 2 else None  # nothing to propose at the second state

    states = [(float(t), _at(level)) for t, level in enumerate((0.5, 0.8, 1.1))]
    records = shadow_run(policy, states, agent="p", survive=Survive.NONE)
    assert [r.time for r in records] == [0.0, 2.0]
    assert all(r.grade is Grade.UNSAFE and r.verdict["loops"] for r in records)
    # each judged on its own state: the predicted MLU before is that state's
    assert [r.prediction.max_utilisation_before for r in records] == pytest.approx(
        [seen[0], seen[2]])
    card = scorecard(records)
    assert card["proposals"] == 2 and card["unsafe_caught"] == 2 and card["safe"] == 0
    assert card["predicted_gain"] is None  # no safe proposal
    assert _mlu(states[0][1]) == pytest.approx(seen[0])  # the states were not changed


def test_a_gym_agent_in_shadow_matches_its_own_environment() -> None:
    net = _at(1.4)
    scenario, info = agent_proposal(GreedyPolicy(), net)
    assert scenario is not None and scenario.changes
    records = shadow_run(lambda n: agent_proposal(GreedyPolicy(), n)[0], [(0.0, net)],
                         agent="greedy", survive=Survive.NONE)
    (r,) = records
    # the environment's stepper (numba kernels of the gym) and the twin agree on the MLU the
    # agent's change leads to; before is the plain simulation of the network
    assert r.prediction.max_utilisation_after == pytest.approx(info["max_utilisation"],
                                                               rel=1e-9)
    assert r.prediction.max_utilisation_before == pytest.approx(_mlu(net), rel=1e-12)
    assert r.prediction.gain > 0 and r.grade is Grade.SAFE
    assert scorecard(records)["predicted_gain"] == pytest.approx(r.prediction.gain)
    # an agent that keeps the metrics proposes nothing
    assert agent_proposal(NoOpPolicy(), net)[0] is None
