"""Gymnasium environment benchmark: steps per second of the nettwin environments.

Workloads
  * TrafficEngineering-v0 on SNDlib Abilene (12 nodes, 15 links, 132 demands) replaying the
    measured 5-minute matrices (Zhang; the bundled Abilene with a synthetic day when the
    shared data are absent): random metric actions, full routing + queueing + per-demand
    SLA every step. Through ``gymnasium.make`` (checker and order wrappers) and unwrapped.
  * Reference in the same run: the same steps done with ``nettwin.simulate`` (a fresh full
    simulation per step, what an environment without cached state would do).
  * The 'optimizer' baseline policy (optimize_weights on the state every step): the cost of
    a decision, beside a bare step.
  * The vector environment: N copies stepped in one numba call.
  * A 200-node network (Topology Zoo Cogentco, 197 nodes, gravity full mesh ~39k demands).
  * reset() after the first.
Grid2Op with lightsim2grid, the power-grid RL twin, is quoted at ~900-980 steps/s on the
IEEE 14-bus case (its own published figures, desktop CPU; not run here).

Run: ``make bench-gym`` or ``python benchmarks/bench_gym.py [--quick]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np

import nettwin.gym
from nettwin.engine import compile_network, simulate
from nettwin.examples import example_path
from nettwin.gym.agents import OptimizerPolicy
from nettwin.io import load_network
from nettwin.io.traffic_series import read_traffic_series, traffic_files
from nettwin.model.gravity import gravity_demands

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def rate(n: int, start: tuple[float, float]) -> str:
    wall = time.perf_counter() - start[0]
    cpu = time.process_time() - start[1]
    return (f"{n / wall:>10,.0f} steps/s wall  {n / cpu:>10,.0f} steps/s CPU "
            f"({wall * 1e6 / n:.1f} us wall per step)")


def abilene() -> tuple[Any, Any]:
    folder = DATA / "traffic" / "abilene-zhang-5min"
    if folder.exists():
        net = load_network(DATA / "sndlib" / "xml" / "abilene.xml")
        return read_traffic_series(net, traffic_files(folder))
    print("(shared data absent: bundled Abilene with a synthetic day)")
    return load_network(example_path("abilene")), None


def step_env(env: gymnasium.Env, actions: np.ndarray) -> None:  # type: ignore[type-arg]
    for a in actions.tolist():
        _, _, _, trunc, _ = env.step(a)
        if trunc:
            env.reset()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer steps")
    args = parser.parse_args()
    n_steps = 5_000 if args.quick else 50_000
    net, series = abilene()
    kw: dict[str, Any] = {"network": net, "traffic": series, "traffic_scale": 2.0}
    env = gymnasium.make("nettwin/TrafficEngineering-v0", **kw)
    env.reset(seed=0)
    c = env.unwrapped.compiled
    print(f"Abilene: {c.n_nodes} nodes, {c.n_arcs // 2} links, {c.n_demands} demands, "
          f"{env.unwrapped.series.steps} intervals; SLA units {env.unwrapped.sla.n}")
    actions = np.random.default_rng(0).integers(0, env.action_space.n, n_steps)
    step_env(env, actions[:2000])  # compile and warm
    t = clock()
    step_env(env, actions)
    print("TE-v0 via gymnasium.make     ", rate(n_steps, t))
    raw = env.unwrapped
    t = clock()
    step_env(raw, actions)
    single = n_steps / (time.perf_counter() - t[0])
    print("TE-v0 unwrapped              ", rate(n_steps, t))

    single_cpu = n_steps / (time.process_time() - t[1])
    # reference: a fresh full simulate of each step's state (what an environment without
    # cached routing state would do), timed on its own
    n_ref = max(200, n_steps // 50)
    states = []
    for i in range(n_ref):
        if raw.step(int(actions[i]))[3]:
            raw.reset()
        s = raw.stepper
        states.append((s.metric[0].copy(), s.up[0].copy(), s.rate_bps[0].copy()))
    nets = [dataclasses.replace(raw.compiled, arc_metric=m) for m, _, _ in states]
    # the 'optimizer' baseline: optimize_weights (60 iterations) on the state, every step
    opt_env = gymnasium.make("nettwin/TrafficEngineering-v0", **kw).unwrapped
    opt_env.reset(seed=0)
    policy = OptimizerPolicy()
    policy.begin_episode(0, opt_env)
    n_opt = 20 if args.quick else 100
    t = clock()
    for _ in range(n_opt):
        if opt_env.step(policy(None, opt_env))[3]:
            opt_env.reset()
    print("TE-v0 + optimizer policy     ", rate(n_opt, t),
          f"-> {single / (n_opt / (time.perf_counter() - t[0])):,.0f}x a bare step")

    t = clock()
    for net_i, (_, up, rate_bps) in zip(nets, states, strict=True):
        simulate(net_i, arc_up=up, demand_rate_bps=rate_bps)
    wall = time.perf_counter() - t[0]
    cpu = time.process_time() - t[1]
    print(f"reference: nettwin.simulate per step  {n_ref / wall:>10,.0f} steps/s wall "
          f"{n_ref / cpu:>10,.0f} steps/s CPU -> the environment is "
          f"{single / (n_ref / wall):.0f}x (wall), {single_cpu / (n_ref / cpu):.0f}x (CPU) "
          "faster")

    t = clock()
    for i in range(200):
        raw.reset(seed=i)
    print(f"reset (after the first)      {(time.perf_counter() - t[0]) / 200 * 1e3:.3f} ms "
          f"wall, {(time.process_time() - t[1]) / 200 * 1e3:.3f} ms CPU")

    for env_id in ("nettwin/FailureRecovery-v0", "nettwin/Energy-v0"):
        other = gymnasium.make(env_id, **kw)
        other.reset(seed=0)
        acts = np.random.default_rng(4).integers(0, other.action_space.n, n_steps // 5)
        step_env(other, acts[:200])
        t = clock()
        step_env(other, acts)
        print(f"{env_id.split('/')[1]:<29}", rate(acts.size, t))
        t = clock()
        for i in range(100):
            other.reset(seed=i)
        print(f"  reset (draws day and event)  {(time.perf_counter() - t[0]) * 10:.3f} ms "
              f"wall, {(time.process_time() - t[1]) * 10:.3f} ms CPU")

    for copies, parallel in ((64, False), (256, False), (256, True)):
        venv = nettwin.gym.TrafficEngineeringVectorEnv(num_envs=copies, parallel=parallel,
                                                       **kw)
        venv.reset(seed=0)
        rng = np.random.default_rng(1)
        batch = [rng.integers(0, raw.action_space.n, copies) for _ in range(50)]
        for a in batch[:5]:
            venv.step(a)
        rounds = max(20, n_steps // copies)
        t = clock()
        for i in range(rounds):
            venv.step(batch[i % 50])
        print(f"vector env, {copies:>3} copies{' threads' if parallel else ' serial '}",
              rate(rounds * copies, t))

    zoo = DATA / "topology_zoo" / "graphml" / "Cogentco.graphml"
    if zoo.exists():
        big = load_network(zoo)
        weights = np.random.default_rng(2).lognormal(0, 1, len(big.nodes))
        big = big.with_demands(gravity_demands(weights, 5e10))
        env = gymnasium.make("nettwin/TrafficEngineering-v0", network=big, traffic_scale=1.0)
        env.reset(seed=0)
        c = env.unwrapped.compiled
        acts = np.random.default_rng(3).integers(0, env.action_space.n, 3000)
        step_env(env, acts[:100])
        t = clock()
        step_env(env, acts)
        print(f"TE-v0 on Cogentco ({c.n_nodes} nodes, {c.n_arcs // 2} links, "
              f"{c.n_demands} demands)", rate(acts.size, t))
        env.reset(seed=0)
        t = clock()
        step_env(env, np.zeros(1000, np.int64))
        print("  same, no metric change (traffic moves only)      ", rate(1000, t))
        compiled_big = compile_network(big)
        simulate(compiled_big)
        t = clock()
        for _ in range(20):
            simulate(compiled_big)
        print(f"reference: nettwin.simulate on Cogentco  "
              f"{20 / (time.perf_counter() - t[0]):,.0f} runs/s wall")


if __name__ == "__main__":
    main()
