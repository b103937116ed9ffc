"""The batched environment equals N single environments stepped side by side."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.vector import SyncVectorEnv

import nettwin.gym
from nettwin.model import Network


@pytest.mark.parametrize("action_type", ["discrete", "continuous"])
def test_vector_env_equals_sync_vector_of_single_envs(abilene: Network,
                                                      action_type: str) -> None:
    kwargs = {"network": abilene, "episode_steps": 7, "traffic_scale": 3.0,
              "action_type": action_type, "observe": ("utilisation", "sla", "metric", "time")}
    n = 5
    batched = nettwin.gym.TrafficEngineeringVectorEnv(num_envs=n, **kwargs)
    single = SyncVectorEnv([lambda: gymnasium.make("nettwin/TrafficEngineering-v0", **kwargs)
                            for _ in range(n)])
    obs_b, _ = batched.reset(seed=21)
    obs_s, _ = single.reset(seed=21)
    np.testing.assert_allclose(obs_b, obs_s, rtol=1e-12, atol=1e-12)
    batched.action_space.seed(3)
    for _ in range(30):  # several episodes: autoreset included
        actions = batched.action_space.sample()
        ob, rb, tb, trb, _ = batched.step(actions)
        os_, rs, ts, trs, _ = single.step(actions)
        np.testing.assert_allclose(ob, os_, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(rb, rs, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(tb, ts)
        np.testing.assert_array_equal(trb, trs)


def test_vector_env_is_made_through_gymnasium(abilene: Network) -> None:
    envs = gymnasium.make_vec("nettwin/TrafficEngineering-v0", num_envs=3,
                              vectorization_mode="vector_entry_point", network=abilene)
    obs, _ = envs.reset(seed=0)
    assert obs.shape == (3, envs.single_observation_space.shape[0])
    obs, reward, _, _, info = envs.step(np.zeros(3, np.int64))
    assert reward.shape == (3,) and (info["max_utilisation"] > 0).all()
