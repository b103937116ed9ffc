"""The environments pass Gymnasium's checker, are deterministic under a seed, validate
their inputs and render."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import nettwin.gym
from nettwin.errors import NettwinError
from nettwin.gym import Event, EventKind
from nettwin.model import Network


@pytest.mark.parametrize("env_id", sorted(nettwin.gym.ENV_IDS))
def test_every_env_passes_the_gymnasium_checker(abilene: Network, env_id: str) -> None:
    env = gymnasium.make(env_id, network=abilene, seed=4)
    check_env(env.unwrapped, skip_render_check=True)


def test_continuous_and_rich_observation_pass_the_checker(abilene: Network) -> None:
    env = gymnasium.make("nettwin/TrafficEngineering-v0", network=abilene,
                         action_type="continuous", seed=1,
                         observe=("utilisation", "delay", "sla", "traffic", "metric", "up",
                                  "time"))
    check_env(env.unwrapped, skip_render_check=True)
    layout = env.unwrapped.observation_layout
    assert max(s.stop for s in layout.values()) == env.observation_space.shape[0]


def test_storm_episodes_pass_the_checker(munich: tuple) -> None:  # type: ignore[type-arg]
    net, profiles, storm = munich
    env = gymnasium.make("nettwin/FailureRecovery-v0", network=net, radio_profiles=profiles,
                         events=[Event(EventKind.RAIN_STORM, storm=storm)], seed=2)
    check_env(env.unwrapped, skip_render_check=True)


def run(env: gymnasium.Env, actions: list[int], seed: int) -> list[tuple]:  # type: ignore[type-arg]
    obs, info = env.reset(seed=seed)
    out = [(obs.copy(), 0.0, info["series_step"], info["event"])]
    for a in actions:
        obs, reward, _, trunc, info = env.step(a)
        out.append((obs.copy(), reward, info["series_step"], info["event"]))
        if trunc:
            obs, info = env.reset()
            out.append((obs.copy(), 0.0, info["series_step"], info["event"]))
    return out


@pytest.mark.parametrize("env_id", sorted(nettwin.gym.ENV_IDS))
def test_same_seed_same_episodes_other_seed_other_episodes(abilene: Network,
                                                           env_id: str) -> None:
    kwargs = {"network": abilene, "episode_steps": 6}
    actions = [int(a) for a in np.random.default_rng(0).integers(0, 20, 30)]
    a = run(gymnasium.make(env_id, **kwargs), actions, seed=11)
    b = run(gymnasium.make(env_id, **kwargs), actions, seed=11)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x[0], y[0])
        assert x[1:] == y[1:]
    others = [run(gymnasium.make(env_id, **kwargs), actions, seed=s) for s in (12, 13, 14)]
    assert any([x[2:] for x in o] != [x[2:] for x in a] for o in others)


def test_seed_given_to_make_fixes_the_first_episode(abilene: Network) -> None:
    a = gymnasium.make("nettwin/FailureRecovery-v0", network=abilene, seed=5).reset()[1]
    b = gymnasium.make("nettwin/FailureRecovery-v0", network=abilene, seed=5).reset()[1]
    assert (a["series_step"], a["event"]) == (b["series_step"], b["event"])


def test_bad_inputs_name_the_problem(abilene: Network) -> None:
    with pytest.raises(NettwinError, match="Network is required"):
        gymnasium.make("nettwin/TrafficEngineering-v0")
    with pytest.raises(NettwinError, match="unknown observation part"):
        gymnasium.make("nettwin/TrafficEngineering-v0", network=abilene, observe=["speed"])
    with pytest.raises(NettwinError, match="one column per demand"):
        gymnasium.make("nettwin/TrafficEngineering-v0", network=abilene,
                       traffic=np.ones((10, 3)))
    with pytest.raises(NettwinError, match="unknown event kind"):
        gymnasium.make("nettwin/FailureRecovery-v0", network=abilene, events=["meteor"])
    env = gymnasium.make("nettwin/FailureRecovery-v0", network=abilene,
                         events=[{"kind": "fibre_cut", "target": "nowhere"}])
    with pytest.raises(NettwinError, match="no such link"):
        env.reset(seed=0)
    env = gymnasium.make("nettwin/TrafficEngineering-v0", network=abilene)
    env.reset(seed=0)
    with pytest.raises(NettwinError, match="out of range"):
        env.unwrapped.step(10_000)


def test_render_draws_the_map(abilene: Network) -> None:
    env = gymnasium.make("nettwin/FailureRecovery-v0", network=abilene,
                         render_mode="rgb_array", events=["node_loss"], seed=3)
    env.reset()
    before = env.render()
    for _ in range(3):
        env.step(0)
    after = env.render()
    assert before.dtype == np.uint8 and before.shape[2] == 3
    assert (before != after).any()  # the lost node's links turn grey


def test_a_copied_or_pickled_env_steps_like_the_original(abilene: Network) -> None:
    import copy
    import pickle

    env = gymnasium.make("nettwin/TrafficEngineering-v0", network=abilene, seed=1).unwrapped
    env.reset()
    env.step(4)
    twins = [copy.deepcopy(env), pickle.loads(pickle.dumps(env))]
    for action in (7, 0, 12, 3):
        obs, reward, *_ = env.step(action)
        for twin in twins:
            obs_t, reward_t, *_ = twin.step(action)
            np.testing.assert_array_equal(obs_t, obs)
            assert reward_t == reward


def test_stepping_past_the_end_asks_for_a_reset(abilene: Network) -> None:
    env = gymnasium.make("nettwin/TrafficEngineering-v0", network=abilene,
                         episode_steps=3).unwrapped
    env.reset(seed=0)
    truncated = [env.step(0)[3] for _ in range(3)]
    assert truncated == [False, False, True]
    with pytest.raises(NettwinError, match="call reset"):
        env.step(0)


@pytest.mark.parametrize("name,bad", [("metric_ratio", 1.0), ("metric_levels", 0),
                                      ("change_cost", -0.1), ("sla_weight", -1.0),
                                      ("traffic_scale", -1.0), ("traffic_scale", float("nan"))])
def test_an_out_of_range_parameter_is_named(abilene: Network, name: str, bad: float) -> None:
    """Each environment parameter out of range is refused naming that parameter alone (it
    used to name all five with a tuple of their values); the default is accepted."""
    from nettwin.errors import ValidationError

    kwargs: dict[str, object] = {"network": abilene, name: bad}
    with pytest.raises(ValidationError) as err:
        gymnasium.make("nettwin/TrafficEngineering-v0", **kwargs)  # type: ignore[arg-type]
    assert [p.field for p in err.value.problems] == [name]
    assert f"field '{name}'" in str(err.value)
    gymnasium.make("nettwin/TrafficEngineering-v0", network=abilene).reset(seed=0)
