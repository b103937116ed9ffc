"""Evaluate policies on the same seeded episodes, and train the link-score policy by
cross-entropy search on the vector environment.

Episode i of an evaluation is ``reset(seed=seed + i)`` for every policy, so policies meet
the same days, start times and events; a random policy's action space is seeded likewise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import gymnasium
import numpy as np

from nettwin.errors import ValidationError
from nettwin.gym.agents import LinkLevelPolicy, LinkScorePolicy, Policy
from nettwin.gym.base import TwinEnv
from nettwin.gym.vector import TrafficEngineeringVectorEnv
from nettwin.model.problems import Problem


@dataclass(frozen=True)
class EpisodeRecord:
    """What one episode of one policy came to."""

    policy: str
    episode: int
    seed: int
    series_start: int
    event: str | None
    steps: int
    reward: float
    sla_minutes_kept: float
    sla_minutes_total: float
    mean_max_utilisation: float
    peak_max_utilisation: float
    energy_kwh: float | None
    energy_saved_kwh: float | None
    changes: int
    wall_s: float


def run_episode(env: gymnasium.Env[Any, Any], policy: Policy, seed: int, *, name: str,
                episode: int) -> EpisodeRecord:
    import time

    raw: TwinEnv = env.unwrapped  # type: ignore[assignment]
    begin = getattr(policy, "begin_episode", None)
    if begin is not None:
        begin(seed, raw)
    t0 = time.perf_counter()
    obs, info = env.reset(seed=seed)
    start = int(info["series_step"])
    total = kept = minutes = energy = saved = 0.0
    mlu: list[float] = []
    changes = steps = 0
    has_energy = "energy_kwh" in info
    while True:
        obs, reward, terminated, truncated, info = env.step(policy(obs, raw))
        steps += 1
        total += float(reward)
        kept += info["sla_minutes_kept"]
        minutes += info["sla_minutes_total"]
        mlu.append(info["max_utilisation"])
        changes += info["changes"]
        if has_energy:
            energy += info["energy_kwh"]
            saved += info["energy_saved_kwh"]
        if terminated or truncated:
            break
    return EpisodeRecord(name, episode, seed, start, info["event"], steps, total, kept,
                         minutes, float(np.mean(mlu)), float(np.max(mlu)),
                         energy if has_energy else None, saved if has_energy else None,
                         changes, time.perf_counter() - t0)


def evaluate_policy(make_env: Callable[..., gymnasium.Env[Any, Any]], policy: Policy, *,
                    name: str, episodes: int, seed: int) -> list[EpisodeRecord]:
    """``episodes`` episodes with seeds seed, seed + 1, ... (the same for every policy).
    ``make_env(**overrides)`` builds the environment; a policy with an ``action_type``
    (continuous) gets one with that action type: the episodes are the same."""
    if episodes < 1:
        raise ValidationError([Problem("episodes", "must be >= 1", value=episodes)])
    env = make_env()
    wanted = getattr(policy, "action_type", None)
    if wanted is not None and getattr(env.unwrapped, "action_type", wanted) != wanted:
        env.close()
        env = make_env(action_type=wanted)  # same episodes, the policy's kind of action
    try:
        return [run_episode(env, policy, seed + i, name=name, episode=i)
                for i in range(episodes)]
    finally:
        env.close()


def aggregate(records: list[EpisodeRecord]) -> dict[str, Any]:
    """Per policy: means over episodes (and the SLA share kept over all of them)."""
    out: dict[str, Any] = {}
    for name in dict.fromkeys(r.policy for r in records):
        rs = [r for r in records if r.policy == name]
        kept = sum(r.sla_minutes_kept for r in rs)
        total = sum(r.sla_minutes_total for r in rs)
        row = {"episodes": len(rs), "mean_reward": float(np.mean([r.reward for r in rs])),
               "sla_minutes_kept": kept, "sla_minutes_lost": total - kept,
               "sla_kept_share": kept / total if total else 1.0,
               "mean_max_utilisation": float(np.mean([r.mean_max_utilisation for r in rs])),
               "peak_max_utilisation": float(np.max([r.peak_max_utilisation for r in rs])),
               "changes": int(sum(r.changes for r in rs))}
        if rs[0].energy_kwh is not None:
            row["energy_kwh"] = float(sum(r.energy_kwh or 0.0 for r in rs))
            row["energy_saved_kwh"] = float(sum(r.energy_saved_kwh or 0.0 for r in rs))
        out[name] = row
    return out


def records_as_dicts(records: list[EpisodeRecord]) -> list[dict[str, Any]]:
    return [asdict(r) for r in records]


@dataclass(frozen=True)
class TrainingLog:
    generation: int
    mean_return: float
    best_return: float
    elite_return: float


def train_link_score(env_kwargs: dict[str, Any], *, generations: int = 25,
                     population: int = 32, episodes: int = 4, elite_share: float = 0.25,
                     seed: int = 0, progress: Callable[[TrainingLog], None] | None = None,
                     kind: str = "link-score"
                     ) -> tuple[LinkScorePolicy | LinkLevelPolicy, list[TrainingLog]]:
    """Cross-entropy search over the parameters of a LinkScorePolicy (``kind``
    'link-score', discrete actions) or a LinkLevelPolicy ('link-level', continuous) on
    TrafficEngineering-v0 built from ``env_kwargs`` (its ``days`` are the training days).
    Every candidate of a generation meets the same ``episodes`` episodes; all of them step
    together in one vector environment."""
    policy_cls: type[LinkScorePolicy] | type[LinkLevelPolicy] = (
        LinkLevelPolicy if kind == "link-level" else LinkScorePolicy)
    if kind not in ("link-score", "link-level"):
        raise ValidationError([Problem("training", "unknown policy kind", value=kind,
                                       fix="link-score or link-level")])
    env_kwargs = {**env_kwargs, "action_type": "continuous" if kind == "link-level"
                  else "discrete"}
    if population < 4 or episodes < 1 or generations < 1 or not 0 < elite_share < 1:
        raise ValidationError([Problem("training", "need population >= 4, episodes >= 1, "
                                       "generations >= 1, 0 < elite_share < 1",
                                       value=(population, episodes, generations,
                                              elite_share))])
    venv = TrafficEngineeringVectorEnv(num_envs=population * episodes, **env_kwargs)
    t = venv.template
    rng = np.random.default_rng(seed)
    mean = policy_cls().parameters  # link-score: "never change"; link-level: all at level 0
    dim = mean.size
    std = np.full(dim, 1.0)
    n_elite = max(2, round(elite_share * population))
    log: list[TrainingLog] = []
    per_day = t.series.steps_per_day
    for g in range(generations):
        thetas = mean + std * rng.standard_normal((population, dim))
        thetas[0] = mean
        policies = [policy_cls.from_parameters(th) for th in thetas]
        episode_seeds = rng.integers(0, 2**31 - 1, episodes)
        venv.reset(seed=[int(episode_seeds[j]) for _ in range(population)
                         for j in range(episodes)])
        returns = np.zeros(population * episodes)
        for _ in range(t.episode_steps):
            s = venv.stepper
            angle = 2 * np.pi * ((venv.start + venv.k) % per_day) / per_day
            time_sc = np.c_[np.sin(angle), np.cos(angle)]
            actions = (np.empty((population * episodes, t.n_links)) if kind == "link-level"
                       else np.empty(population * episodes, np.int64))
            for i, pol in enumerate(policies):
                sl = slice(i * episodes, (i + 1) * episodes)
                actions[sl] = pol.act_batch(s.utilisation[sl], venv.level[sl],
                                            t.metric_levels, time_sc[sl])
            _, reward, _, _, _ = venv.step(actions)
            returns += reward
        score = returns.reshape(population, episodes).mean(axis=1)
        order = np.argsort(-score)
        elite = thetas[order[:n_elite]]
        mean = elite.mean(axis=0)
        # smoothed, with a floor that shrinks over the run: keeps searching while it can
        std = np.maximum(0.5 * std + 0.5 * elite.std(axis=0), 0.3 * (1 - g / generations) + 0.02)
        entry = TrainingLog(g, float(score.mean()), float(score[order[0]]),
                            float(score[order[:n_elite]].mean()))
        log.append(entry)
        if progress is not None:
            progress(entry)
    return policy_cls.from_parameters(mean), log  # the search's mean, not a lucky draw
