"""Many TrafficEngineering-v0 copies stepped in one numba call (Gymnasium ``VectorEnv``).

Each copy keeps its own metrics, traffic interval and routing state; actions are applied
with array operations over all copies, and ``Stepper.step`` evaluates all copies in
parallel. Seeding and autoreset follow ``gymnasium.vector.SyncVectorEnv`` (copy i is seeded
with seed + i; a finished copy resets on its next step), so the batch equals N single
environments step for step (a test checks it).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from nettwin.errors import ValidationError
from nettwin.gym.envs import TrafficEngineeringEnv
from nettwin.gym.stepper import Stepper
from nettwin.model.problems import Problem


class TrafficEngineeringVectorEnv(VectorEnv[Any, Any, Any]):
    """``num_envs`` copies of TrafficEngineeringEnv (same keyword arguments);
    ``parallel=True`` spreads the copies over numba threads."""

    metadata: dict[str, Any] = {"render_modes": [],  # noqa: RUF012
                                "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int = 8, *, parallel: bool = False, **kwargs: Any) -> None:
        if num_envs < 1:
            raise ValidationError([Problem("num_envs", "must be >= 1", value=num_envs)])
        if kwargs.get("events"):
            raise ValidationError([Problem("events", "the vector environment has no events",
                                           fix="use FailureRecovery-v0 environments")])
        kwargs.pop("render_mode", None)
        self.template = TrafficEngineeringEnv(**kwargs)
        t = self.template
        self.num_envs = num_envs
        self.single_observation_space = t.observation_space
        self.single_action_space = t.action_space
        self.observation_space = batch_space(t.observation_space, num_envs)
        self.action_space = batch_space(t.action_space, num_envs)
        self.stepper = Stepper(t.compiled, t.options, t.sla, copies=num_envs,
                               parallel=parallel)
        self.level = np.zeros((num_envs, t.n_links), np.int64)
        self.start = np.zeros(num_envs, np.int64)
        self.k = np.zeros(num_envs, np.int64)
        self.done = np.zeros(num_envs, bool)
        self._rngs: list[np.random.Generator] = [seeding.np_random(None)[0]
                                                 for _ in range(num_envs)]
        self._arcs = np.arange(t.compiled.n_arcs)
        self._rows = np.arange(num_envs)

    def _draw(self, i: int) -> None:
        t = self.template
        rng = self._rngs[i]
        day = t.days[int(rng.integers(len(t.days)))]
        per_day = t.series.steps_per_day
        last = t.series.steps - 1 - t.episode_steps
        offset = int(rng.integers(per_day - t.episode_steps + 1)) \
            if t.episode_steps < per_day else 0
        self.start[i] = min(day * per_day + offset, last)
        self.k[i] = 0
        self.level[i] = 0
        self.done[i] = False

    def _load_and_step(self) -> None:
        t = self.template
        s = self.stepper
        lv = t.metric_levels
        s.metric[:] = t.ladder[self.level.repeat(2, axis=1) + lv, self._arcs]
        s.rate_bps[:] = t.series.rate_bps[self.start + self.k]
        s.step()

    def _observations(self) -> np.ndarray:
        t = self.template
        s = self.stepper
        parts = []
        for part in t.observe:
            if part == "utilisation":
                parts.append(s.utilisation)
            elif part == "delay":
                parts.append(s.delay_s)
            elif part == "sla":
                parts.append(s.unit_violated.astype(np.float64))
            elif part == "traffic":
                parts.append(s.rate_bps / t.peak_rate_bps)
            elif part == "metric":
                parts.append(self.level / t.metric_levels)
            elif part == "up":
                parts.append(s.up.astype(np.float64))
            else:
                angle = 2 * math.pi * ((self.start + self.k) % t.series.steps_per_day) / \
                    t.series.steps_per_day
                parts.append(np.c_[np.sin(angle), np.cos(angle)])
        return np.concatenate(parts, axis=1)

    def _infos(self, changes: np.ndarray) -> dict[str, Any]:
        s = self.stepper.summary
        return {"max_utilisation": s[:, 0].copy(), "sla_units_violated": s[:, 3].astype(int),
                "unroutable_bps": s[:, 1].copy(), "changes": changes}

    def reset(self, *, seed: int | list[int] | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
        seeds = (list(seed) if isinstance(seed, list) else
                 [None] * self.num_envs if seed is None else
                 [seed + i for i in range(self.num_envs)])
        for i, sd in enumerate(seeds):
            if sd is not None or self._rngs[i] is None:
                self._rngs[i] = seeding.np_random(sd)[0]
            self._draw(i)
        self._load_and_step()
        return self._observations(), self._infos(np.zeros(self.num_envs, np.int64))

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                          dict[str, Any]]:
        t = self.template
        lv = t.metric_levels
        finished = np.flatnonzero(self.done)
        for i in finished.tolist():
            self._draw(i)
        live = ~np.isin(self._rows, finished)
        if t.action_type == "continuous":
            box = np.clip(np.asarray(actions, np.float64).reshape(self.num_envs, t.n_links),
                          -1.0, 1.0)
            new = np.rint(box * lv).astype(np.int64)
            new[~live] = 0
            before = t.ladder[self.level.repeat(2, axis=1) + lv, self._arcs]
            after = t.ladder[new.repeat(2, axis=1) + lv, self._arcs]
            changes = (before != after).reshape(self.num_envs, -1, 2).any(axis=2).sum(axis=1)
            self.level[:] = new
        else:
            a = np.asarray(actions).astype(np.int64).reshape(self.num_envs)
            if ((a < 0) | (a > 3 * t.n_links)).any():
                raise ValidationError([Problem("actions", "out of range",
                                               value=a[(a < 0) | (a > 3 * t.n_links)][:5],
                                               fix=f"use 0..{3 * t.n_links}")])
            act = live & (a > 0)
            link = np.where(act, (a - 1) // 3, 0)
            move = (a - 1) % 3
            old = self.level[self._rows, link]
            new = np.where(move == 0, np.minimum(old + 1, lv),
                           np.where(move == 1, np.maximum(old - 1, -lv), 0))
            new = np.where(act, new, old)
            changes = ((t.ladder[old + lv, 2 * link] != t.ladder[new + lv, 2 * link])
                       | (t.ladder[old + lv, 2 * link + 1] != t.ladder[new + lv, 2 * link + 1])
                       ).astype(np.int64)
            self.level[self._rows, link] = new
        self.k[live] += 1
        self._load_and_step()
        s = self.stepper.summary
        reward = -s[:, 0] - t.sla_weight * s[:, 3] / max(1, t.sla.n) - t.change_cost * changes
        reward[~live] = 0.0
        truncated = live & (self.k >= t.episode_steps)
        self.done = truncated.copy()
        return (self._observations(), reward, np.zeros(self.num_envs, bool), truncated,
                self._infos(changes))
