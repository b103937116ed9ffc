"""Baseline policies and a small learned one.

A policy is any callable ``policy(observation, env) -> action`` (``env`` is the unwrapped
nettwin environment, so a policy may read its layout or look ahead); ``begin_episode(seed)``
is called, when the policy has it, before each episode.

* ``NoOpPolicy``: never changes anything.
* ``RandomPolicy``: a uniformly random action (seeded per episode).
* ``GreedyPolicy``: one-step lookahead: every discrete action is tried on a copy of the twin
  (all candidates in one batched numba call) under the current interval's traffic (a
  persistence forecast), and the best reward wins (no change on ties).
* ``LinkScorePolicy``: a linear policy with weights shared by all links (features of each
  link and of the network, one score per move): few parameters, so cross-entropy search
  trains it in seconds with the vector environment, and it applies to any network.
* ``LinkLevelPolicy``: the same features, continuous: every link's metric level at once.
* ``OptimizerPolicy``: the TE optimiser (``nettwin.optimize.optimize_weights``) on the
  twin's current state and interval every k steps, its metrics projected onto the
  environment's metric ladder (see the class).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from nettwin.engine import CompiledNetwork
from nettwin.errors import ValidationError
from nettwin.gym.base import TwinEnv
from nettwin.gym.stepper import Stepper
from nettwin.model.problems import Problem


class Policy(Protocol):
    def __call__(self, observation: np.ndarray, env: TwinEnv) -> Any: ...


class NoOpPolicy:
    name = "noop"

    def __call__(self, observation: np.ndarray, env: TwinEnv) -> Any:
        if getattr(env, "action_type", "discrete") == "continuous":
            return (env.level / env.metric_levels).astype(np.float32)
        return 0


class RandomPolicy:
    name = "random"

    def __init__(self) -> None:
        self._seed: int | None = None

    def begin_episode(self, seed: int, env: TwinEnv) -> None:
        env.action_space.seed(seed)

    def __call__(self, observation: np.ndarray, env: TwinEnv) -> Any:
        return env.action_space.sample()


class GreedyPolicy:
    """One-step lookahead over every discrete action."""

    name = "greedy"

    def __init__(self) -> None:
        self._look: dict[int, Stepper] = {}

    def __call__(self, observation: np.ndarray, env: TwinEnv) -> Any:
        rewards = lookahead_rewards(env, self._look)
        best = float(rewards.max())
        return 0 if rewards[0] >= best - 1e-12 else int(np.argmax(rewards))


def lookahead_rewards(env: TwinEnv, cache: dict[int, Stepper] | None = None) -> np.ndarray:
    """The reward each discrete action would earn on the current interval's traffic."""
    n = int(getattr(env.action_space, "n", 0))
    if n == 0:
        raise ValidationError([Problem("greedy", "needs a discrete action space",
                                       value=type(env.action_space).__name__,
                                       fix="use action_type='discrete'")])
    cache = {} if cache is None else cache
    look = cache.get(id(env))
    if look is None:
        look = cache[id(env)] = Stepper(env.compiled, env.options, env.sla, copies=n)
    start = env.snapshot()
    changes = np.zeros(n, np.int64)
    states = []
    for a in range(n):
        env.restore(start)
        changes[a] = env._act(a)
        env._load_inputs(look, a)
        states.append(env.snapshot())
    look.step()
    rewards = np.empty(n)
    for a in range(n):
        env.restore(states[a])
        rewards[a] = env._reward(int(changes[a]), look, a)
    env.restore(start)
    return rewards


N_FEATURES = 9  # per link: util ab, util ba, max, level, is the busiest, mlu, sin, cos, 1


def link_features(util: np.ndarray, level: np.ndarray, levels: int,
                  time_sc: np.ndarray) -> np.ndarray:
    """Features [copies, links, N_FEATURES] from arc utilisation [copies, arcs], metric
    levels [copies, links] and time of day (sin, cos) [copies, 2]."""
    c, links = level.shape
    u = util.reshape(c, links, 2)
    top = u.max(axis=2)
    mlu = top.max(axis=1, keepdims=True)
    feats = np.empty((c, links, N_FEATURES))
    feats[..., 0] = u[..., 0]
    feats[..., 1] = u[..., 1]
    feats[..., 2] = top
    feats[..., 3] = level / levels
    feats[..., 4] = top >= mlu - 1e-12
    feats[..., 5] = mlu
    feats[..., 6] = time_sc[:, None, 0]
    feats[..., 7] = time_sc[:, None, 1]
    feats[..., 8] = 1.0
    return feats


@dataclass
class LinkScorePolicy:
    """Scores ``features @ weights[:, move]`` for each link and move (up, down, reset), and
    ``noop_bias + mlu x noop_mlu`` for no change; the highest score acts."""

    weights: np.ndarray = field(default_factory=lambda: np.zeros((N_FEATURES, 3)))
    noop: np.ndarray = field(default_factory=lambda: np.array([1.0, 0.0]))
    name: str = "link-score"

    @property
    def parameters(self) -> np.ndarray:
        return np.concatenate([self.weights.ravel(), self.noop])

    @classmethod
    def from_parameters(cls, theta: np.ndarray) -> LinkScorePolicy:
        k = N_FEATURES * 3
        return cls(np.asarray(theta[:k], float).reshape(N_FEATURES, 3),
                   np.asarray(theta[k:k + 2], float))

    def act_batch(self, util: np.ndarray, level: np.ndarray, levels: int,
                  time_sc: np.ndarray) -> np.ndarray:
        """Discrete actions for a batch of copies (the vector environment's numbering)."""
        feats = link_features(util, level, levels, time_sc)
        scores = feats @ self.weights  # [copies, links, 3]
        c = scores.shape[0]
        flat = scores.reshape(c, -1)
        best = flat.argmax(axis=1)
        noop = self.noop[0] + self.noop[1] * feats[:, 0, 5]
        act = 1 + best
        return np.where(flat[np.arange(c), best] > noop, act, 0)

    def __call__(self, observation: np.ndarray, env: TwinEnv) -> Any:
        s = env.stepper
        step = env.series_step % env.series.steps_per_day
        angle = 2 * np.pi * step / env.series.steps_per_day
        return int(self.act_batch(s.utilisation[:1], env.level[None, :], env.metric_levels,
                                  np.array([[np.sin(angle), np.cos(angle)]]))[0])

    def save(self, path: str | Path) -> None:
        np.savez(path, kind=np.array("link-score"), parameters=self.parameters)

    @classmethod
    def load(cls, path: str | Path) -> LinkScorePolicy:
        policy = load_policy(path)
        if not isinstance(policy, LinkScorePolicy):
            raise ValidationError([Problem(str(path), "a link-level policy, not link-score",
                                           fix="load it with load_policy")])
        return policy


@dataclass
class LinkLevelPolicy:
    """Continuous control (``action_type='continuous'``): each link's metric level is
    ``tanh(features @ weights)`` of its own features (shared weights), so a link can climb
    the ladder while it is the busiest and come back down when it is not."""

    weights: np.ndarray = field(default_factory=lambda: np.zeros(N_FEATURES))
    name: str = "link-level"
    action_type: str = "continuous"

    @property
    def parameters(self) -> np.ndarray:
        return self.weights.copy()

    @classmethod
    def from_parameters(cls, theta: np.ndarray) -> LinkLevelPolicy:
        return cls(np.asarray(theta, float).reshape(N_FEATURES))

    def act_batch(self, util: np.ndarray, level: np.ndarray, levels: int,
                  time_sc: np.ndarray) -> np.ndarray:
        """Metric levels in [-1, 1] per copy and link."""
        feats = link_features(util, level, levels, time_sc)
        out: np.ndarray = np.tanh(feats @ self.weights)
        return out

    def __call__(self, observation: np.ndarray, env: TwinEnv) -> Any:
        s = env.stepper
        angle = 2 * np.pi * (env.series_step % env.series.steps_per_day) / \
            env.series.steps_per_day
        return self.act_batch(s.utilisation[:1], env.level[None, :], env.metric_levels,
                              np.array([[np.sin(angle), np.cos(angle)]]))[0].astype(np.float32)

    def save(self, path: str | Path) -> None:
        np.savez(path, kind=np.array("link-level"), parameters=self.parameters)


@dataclass
class OptimizerPolicy:
    """The TE optimiser as a policy: every ``every`` steps, ``optimize_weights`` (a fixed
    ``iterations`` budget, so it is deterministic, and at most ``max_changes`` links) runs on
    the twin as it is now: its current metrics, links up, capacities and the current
    interval's traffic (a persistence forecast, as the greedy's).

    The environments' actions move metrics on a ladder (``base x ratio^level`` per link,
    both directions together), so the optimiser's integer metrics are projected onto it: each
    changed link takes the level nearest (in log metric) to the optimiser's metrics. The
    projected setting is kept only when, re-simulated on the same state, it lowers the
    maximum utilisation and raises the environment's reward (which also counts SLA
    violations and the change cost); otherwise the policy does nothing. With
    ``action_type='continuous'`` it is set in one action (every link's level); the discrete
    space moves one link one level per step, so the policy walks towards the target in the
    optimiser's apply order (and plans again only once it is there).
    ``last`` records, for the latest optimisation: the MLU now, the optimiser's claim for its
    own metrics, the projected setting's MLU, both settings' rewards and the target levels.
    """

    every: int = 1
    iterations: int = 60
    max_changes: int | None = 3
    seed: int = 0
    name: str = "optimizer"
    last: dict[str, Any] = field(default_factory=dict)
    _target: np.ndarray | None = field(default=None, init=False, repr=False)
    _order: list[int] = field(default_factory=list, init=False, repr=False)
    _calls: int = field(default=0, init=False, repr=False)
    _look: dict[int, Stepper] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.every < 1 or self.iterations < 1 or (self.max_changes is not None
                                                     and self.max_changes < 1):
            raise ValidationError([Problem(
                "optimizer policy", "every, iterations and max_changes must be >= 1",
                value=(self.every, self.iterations, self.max_changes),
                fix="e.g. OptimizerPolicy(every=1, iterations=60, max_changes=3)")])

    def begin_episode(self, seed: int, env: TwinEnv) -> None:
        self._target, self._order, self._calls, self.last = None, [], 0, {}

    def __call__(self, observation: np.ndarray, env: TwinEnv) -> Any:
        walking = self._target is not None and bool((env.level != self._target).any())
        if self._calls % self.every == 0 and not walking:  # finish a walk before replanning
            self._plan(env)
        self._calls += 1
        target = self._target if self._target is not None else env.level.copy()
        if getattr(env, "action_type", "discrete") == "continuous":
            return (target / env.metric_levels).astype(np.float32)
        for link in self._order:  # one level on the first link not yet at its target
            if env.level[link] != target[link]:
                return 1 + 3 * link + (0 if target[link] > env.level[link] else 1)
        return 0

    def state_network(self, env: TwinEnv) -> CompiledNetwork:
        """The twin as the agent sees it now (stepper row 0 holds the current interval)."""
        s = env.stepper
        c, rate = env.compiled, s.rate_bps[0].copy()
        arrivals = c.demand_arrivals  # the interval's rates are its planned ones here
        if arrivals is not None:
            arrivals = arrivals.rerated(c.demand_rate_bps, rate)
        return dataclasses.replace(
            c, arc_metric=s.metric[0].astype(np.int64).copy(),
            arc_up=s.up[0].copy(), arc_capacity_bps=s.capacity_bps[0].copy(),
            demand_rate_bps=rate, demand_arrivals=arrivals)

    def _plan(self, env: TwinEnv) -> None:
        from nettwin.optimize import optimize_weights

        net = self.state_network(env)
        result = optimize_weights(env.network, compiled=net, options=env.options,
                                  max_changes=self.max_changes, iterations=self.iterations,
                                  time_limit_s=3600.0, seed=self.seed, threads=1)
        target = project_levels(env, result.metric, net.arc_metric)
        lv = env.metric_levels
        metric = env.ladder[target.repeat(2) + lv, np.arange(net.n_arcs)]
        drained = net.arc_metric != env.ladder[env.level.repeat(2) + lv,
                                               np.arange(net.n_arcs)]
        metric = np.where(drained, net.arc_metric, metric)  # drains stay as they are
        now, projected, reward_now, reward_projected = self._judge(
            env, metric, int((target != env.level).sum()))
        keep = projected < now - 1e-12 and reward_projected > reward_now + 1e-12
        link_of = {lid: i for i, lid in enumerate(env.compiled.link_ids)}
        self._target = target if keep else env.level.copy()
        self._order = [link_of[s["link"]] for s in result.steps]
        self.last = {"mlu_now": now, "mlu_claimed": result.mlu, "mlu_projected": projected,
                     "reward_now": reward_now, "reward_projected": reward_projected,
                     "metric_claimed": result.metric, "metric_projected": metric,
                     "levels": target, "kept": keep}

    def _judge(self, env: TwinEnv, metric: np.ndarray, changes: int
               ) -> tuple[float, float, float, float]:
        """MLU and the environment's own reward for this interval, now and under ``metric``
        (the reward counts SLA violations and the change cost: a lower MLU that breaks more
        SLAs is no gain). One batched step of a two-copy twin."""
        look = self._look.get(id(env))
        if look is None:
            look = self._look[id(env)] = Stepper(env.compiled, env.options, env.sla, copies=2)
        env._load_inputs(look, 0)
        env._load_inputs(look, 1)
        look.metric[1] = metric
        look.step()
        return (float(look.summary[0, 0]), float(look.summary[1, 0]),
                env._reward(0, look, 0), env._reward(changes, look, 1))


def project_levels(env: TwinEnv, metric: np.ndarray, now: np.ndarray) -> np.ndarray:
    """Per link, the ladder level nearest in log metric to ``metric`` (both directions);
    links whose metrics the optimiser left alone keep their level."""
    links = env.n_links
    ladder = env.ladder.astype(np.float64).reshape(env.ladder.shape[0], links, 2)
    want = np.log(np.maximum(metric, 1).astype(np.float64)).reshape(links, 2)
    gap = np.abs(np.log(ladder) - want[None]).sum(axis=2)  # [levels, links]
    level = gap.argmin(axis=0) - env.metric_levels
    changed = (metric != now).reshape(links, 2).any(axis=1)
    out: np.ndarray = np.where(changed, level, env.level).astype(np.int64)
    return out


def load_policy(path: str | Path) -> LinkScorePolicy | LinkLevelPolicy:
    """A policy saved by ``nettwin agent train`` (either kind)."""
    with np.load(path, allow_pickle=False) as doc:
        kind = str(doc["kind"]) if "kind" in doc else ""
        theta = doc["parameters"] if "parameters" in doc else np.zeros(0)
    sizes = {"link-score": N_FEATURES * 3 + 2, "link-level": N_FEATURES}
    if kind not in sizes:
        raise ValidationError([Problem(str(path), "not a saved nettwin policy",
                                       fix="train one with 'nettwin agent train'")])
    if theta.shape != (sizes[kind],):
        raise ValidationError([Problem(str(path), "wrong number of parameters",
                                       value=theta.shape, fix="retrain the policy")])
    if kind == "link-level":
        return LinkLevelPolicy.from_parameters(theta)
    return LinkScorePolicy.from_parameters(theta)


BASELINES = {"noop": NoOpPolicy, "random": RandomPolicy, "greedy": GreedyPolicy,
             "optimizer": OptimizerPolicy}
