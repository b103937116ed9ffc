"""A trained traffic-engineering agent in shadow mode: what it would change on the network as
it is now, as scenario changes the twin can validate (``nettwin.validate.shadow``) and
never applies.

The agent sees a ``TrafficEngineeringEnv`` on the network with its current demands held
constant, takes its first action, and the metric levels it moved become ``SetMetric``
changes (one per direction where the two directions differ).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nettwin.engine import SimulationOptions
from nettwin.engine.options import ArrivalModel
from nettwin.gym.agents import Policy
from nettwin.gym.envs import TrafficEngineeringEnv
from nettwin.model import Network
from nettwin.scenarios.changes import Direction, Scenario, SetMetric


def agent_proposal(policy: Policy, network: Network, *, name: str = "agent", seed: int = 0,
                   **env_kwargs: Any) -> tuple[Scenario | None, dict[str, Any]]:
    """The metric change ``policy`` makes on ``network`` (None: it keeps the metrics), and
    the environment's own account of the state after it (``info`` of the step)."""
    rates = np.asarray(network.demands.rate_bps, np.float64)
    # the sandbox's queues are Poisson (its kernels); the twin judges the proposal with
    # the network's own arrival processes
    env_kwargs.setdefault("options", SimulationOptions(arrival_model=ArrivalModel.POISSON))
    env = TrafficEngineeringEnv(network, traffic=np.tile(rates, (2, 1)), episode_steps=1,
                                seed=seed, **env_kwargs)
    obs, _ = env.reset(seed=seed)
    begin = getattr(policy, "begin_episode", None)
    if begin is not None:
        begin(seed, env)
    arcs = np.arange(2 * env.n_links)
    before = env.ladder[env.level.repeat(2) + env.metric_levels, arcs].copy()
    _obs, _r, _t, _tr, info = env.step(policy(obs, env))
    after = env.ladder[env.level.repeat(2) + env.metric_levels, arcs]
    changes: list[SetMetric] = []
    for i in np.flatnonzero((before != after).reshape(-1, 2).any(axis=1)).tolist():
        link = env.compiled.link_ids[i]
        ab, ba = int(after[2 * i]), int(after[2 * i + 1])
        changes += ([SetMetric(link, ab)] if ab == ba else
                    [SetMetric(link, ab, Direction.AB), SetMetric(link, ba, Direction.BA)])
    return (Scenario(name, tuple(changes)) if changes else None), info
