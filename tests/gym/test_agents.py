"""Baselines, the evaluation runner, the learned policy and the CLI."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import gymnasium
import numpy as np
import pytest
from typer.testing import CliRunner

import nettwin.gym
from nettwin.cli.app import app
from nettwin.gym.agents import GreedyPolicy, NoOpPolicy, load_policy, lookahead_rewards
from nettwin.gym.evaluate import aggregate, evaluate_policy, train_link_score
from nettwin.model import Network
from tests.gym.conftest import constant_series


@pytest.mark.parametrize("env_id", sorted(nettwin.gym.ENV_IDS))
def test_lookahead_equals_stepping_a_copy(abilene: Network, env_id: str) -> None:
    """Under constant traffic the greedy's one-step lookahead is exactly the next step."""
    env = gymnasium.make(env_id, network=abilene, traffic=constant_series(abilene, scale=2.5),
                         events=["fibre_cut"] if "Failure" in env_id else None)
    raw = env.unwrapped
    raw.reset(seed=3)
    for _ in range(2):
        raw.step(int(raw.action_space.n) - 1)
    predicted = lookahead_rewards(raw)
    for a in range(int(raw.action_space.n)):
        twin = copy.deepcopy(raw)
        _, reward, _, _, _ = twin.step(a)
        assert predicted[a] == pytest.approx(reward, rel=1e-9, abs=1e-12), a
    assert GreedyPolicy()(None, raw) == (0 if predicted[0] >= predicted.max() - 1e-12
                                         else int(np.argmax(predicted)))


def test_policies_meet_the_same_episodes(abilene: Network) -> None:
    def make() -> gymnasium.Env:  # type: ignore[type-arg]
        return gymnasium.make("nettwin/FailureRecovery-v0", network=abilene,
                              traffic_scale=2.0, episode_steps=6)

    noop = evaluate_policy(make, NoOpPolicy(), name="noop", episodes=3, seed=9)
    greedy = evaluate_policy(make, GreedyPolicy(), name="greedy", episodes=3, seed=9)
    assert [(r.series_start, r.event) for r in noop] == \
        [(r.series_start, r.event) for r in greedy]
    summary = aggregate(noop + greedy)
    assert summary["noop"]["changes"] == 0
    assert summary["greedy"]["mean_reward"] >= summary["noop"]["mean_reward"] - 1e-9


@pytest.mark.parametrize("kind", ["link-score", "link-level"])
def test_trained_policy_saves_loads_and_meets_the_same_episodes(abilene: Network,
                                                                tmp_path: Path,
                                                                kind: str) -> None:
    kw = {"network": abilene, "traffic_scale": 3.0, "episode_steps": 12, "days": [0, 1]}
    policy, log = train_link_score(kw, generations=3, population=8, episodes=2, seed=1,
                                   kind=kind)
    assert len(log) == 3
    policy.save(tmp_path / "p.npz")
    again = load_policy(tmp_path / "p.npz")
    assert type(again) is type(policy)
    np.testing.assert_array_equal(again.parameters, policy.parameters)

    def make(**overrides: object) -> gymnasium.Env:  # type: ignore[type-arg]
        return gymnasium.make("nettwin/TrafficEngineering-v0", **{**kw, "days": [2]},
                              **overrides)

    mine = evaluate_policy(make, again, name=kind, episodes=2, seed=5)
    noop = evaluate_policy(make, NoOpPolicy(), name="noop", episodes=2, seed=5)
    assert [r.series_start for r in mine] == [r.series_start for r in noop]


def test_cli_evaluates_and_writes_json_and_html(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [
        "agent", "evaluate", "noop,random,greedy", "--env", "nettwin/Energy-v0",
        "--episodes", "2", "--episode-steps", "5", "--seed", "4",
        "--json", str(tmp_path / "out.json"), "--html", str(tmp_path / "report.html")])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "out.json").read_text())
    assert set(doc["policies"]) == {"noop", "random", "greedy"}
    assert len(doc["episodes"]) == 6
    assert doc["policies"]["noop"]["energy_saved_kwh"] == 0
    assert "Per policy" in (tmp_path / "report.html").read_text()


def test_cli_rejects_unknown_policies_and_envs() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["agent", "evaluate", "clever", "--episodes", "1"])
    assert result.exit_code == 3 and "unknown policy" in result.output
    result = runner.invoke(app, ["agent", "evaluate", "noop", "--env", "nettwin/Chess-v0"])
    assert result.exit_code == 3 and "unknown environment" in result.output


def test_cli_evaluates_the_optimizer_baseline(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [
        "agent", "evaluate", "noop,optimizer", "--episodes", "1", "--episode-steps", "3",
        "--traffic-scale", "2.5", "--seed", "2", "--json", str(tmp_path / "out.json")])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "out.json").read_text())
    opt, noop = doc["policies"]["optimizer"], doc["policies"]["noop"]
    assert opt["changes"] >= 1  # overloaded at 2.5x: it acts
    assert opt["mean_max_utilisation"] <= noop["mean_max_utilisation"] + 1e-9


@pytest.mark.parametrize("action_type", ["continuous", "discrete"])
def test_optimizer_policy_sets_what_the_optimiser_claims(abilene: Network,
                                                         action_type: str) -> None:
    """At an overloaded state the optimiser's claim, re-simulated by the engine on the
    metrics it returned, holds; the ladder setting the policy applies, re-simulated on the
    same state, is what the environment then shows, and lowers the MLU."""
    import dataclasses

    from nettwin.engine import simulate
    from nettwin.gym.agents import OptimizerPolicy

    env = gymnasium.make("nettwin/TrafficEngineering-v0", network=abilene,
                         traffic=constant_series(abilene, scale=2.0),
                         action_type=action_type).unwrapped
    env.reset(seed=1)
    policy = OptimizerPolicy(iterations=40, max_changes=2)
    policy.begin_episode(1, env)
    state = policy.state_network(env)
    mlu0 = float(simulate(state).kpis()["max_utilisation"])
    assert mlu0 > 1  # overloaded: there is something to fix
    walked = 0
    while True:
        action = policy(None, env)
        last = policy.last
        claimed = simulate(dataclasses.replace(state, arc_metric=last["metric_claimed"]))
        assert float(claimed.kpis()["max_utilisation"]) == pytest.approx(
            last["mlu_claimed"], abs=1e-9)
        _, _, _, _, info = env.step(action)
        walked += 1
        if not (env.level != last["levels"]).any() or walked > 6:
            break
    assert last["kept"] and walked <= 2 * len(abilene.links)
    metric = env.stepper.metric[0]
    assert (metric == last["metric_projected"]).all()
    oracle = float(simulate(dataclasses.replace(state, arc_metric=metric.astype(np.int64)))
                   .kpis()["max_utilisation"])
    assert info["max_utilisation"] == pytest.approx(oracle, abs=1e-9)
    assert oracle == pytest.approx(last["mlu_projected"], abs=1e-9)
    assert oracle < mlu0


def test_optimizer_policy_is_not_worse_than_noop(abilene: Network) -> None:
    from nettwin.gym.agents import OptimizerPolicy

    def make() -> gymnasium.Env:  # type: ignore[type-arg]
        return gymnasium.make("nettwin/TrafficEngineering-v0", network=abilene,
                              traffic_scale=2.5, episode_steps=6, action_type="continuous")

    noop = evaluate_policy(make, NoOpPolicy(), name="noop", episodes=2, seed=4)
    opt = evaluate_policy(make, OptimizerPolicy(every=2, iterations=30), name="optimizer",
                          episodes=2, seed=4)
    for a, b in zip(noop, opt, strict=True):
        assert a.series_start == b.series_start
        assert b.mean_max_utilisation <= a.mean_max_utilisation + 1e-9
