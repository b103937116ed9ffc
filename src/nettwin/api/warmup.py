"""Warm the numba kernels: once after install (``nettwin warmup``, run by ``make setup``)
and in the background whenever the service starts.

The first simulation, what-if, N-1 sweep, validation or storm compiles (or loads from the
on-disk cache, ``cache=True``) the kernels it needs: ~20-30 s on a cold machine for the
first N-1 click. Running each once on the bundled networks moves that wait out of the
user's way: compiled once into numba's cache, a later process only loads them (~1-2 s);
in the service a thread does it at start-up, ``GET /api/v1/warmup`` says how far it got, and
the dashboard shows "warming up" meanwhile.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

STEPS = ("simulate", "what-if", "N-1 sweep", "validate", "optimise", "storm")


@dataclass
class Warmup:
    """Progress of the background warm-up (read by the route, written by its thread)."""

    steps: tuple[str, ...] = STEPS
    done: list[str] = field(default_factory=list)
    running: str | None = None
    started: float = field(default_factory=time.time)
    finished: float | None = None
    error: str | None = None

    def document(self) -> dict[str, Any]:
        state = ("failed" if self.error else "ready" if self.finished is not None
                 else "warming")
        return {"state": state, "done": list(self.done), "running": self.running,
                "steps": list(self.steps),
                "elapsed_s": (self.finished or time.time()) - self.started,
                "error": self.error}


def _work(w: Warmup, on_step: Callable[[str], None] | None = None) -> None:
    try:
        for name, run in zip(STEPS, _steps(), strict=True):
            w.running = name
            if on_step is not None:
                on_step(name)
            run()
            w.done.append(name)
    except Exception as exc:  # a failed warm-up only means the first click waits
        w.error = f"{type(exc).__name__}: {exc}"
    finally:
        w.running = None
        w.finished = time.time()


def _steps() -> tuple[Callable[[], object], ...]:
    """One call per step of ``STEPS``, on the bundled networks."""
    from nettwin.api.basis import plan_basis
    from nettwin.api.whatif import whatif_diff
    from nettwin.engine import compile_network, simulate
    from nettwin.examples import abilene
    from nettwin.scenarios import parse_scenario, run_sweep, run_whatif
    from nettwin.scenarios.changes import Scenario, SetMetric
    from nettwin.validate import ChangeSet, validate_change

    net = abilene()
    compiled = compile_network(net)
    first = next(iter(net.links))

    def whatif() -> None:  # both ways the API answers one: full engine and, for failures,
        # incremental from the basis's kept state (a link and a node: both kernels' paths)
        run_whatif(net, parse_scenario({"changes": [{"fail_link": first}]}),
                   compiled=compiled)
        basis = plan_basis(net, compiled)
        for change in ({"fail_link": first}, {"fail_node": next(iter(net.nodes))}):
            whatif_diff(basis, parse_scenario({"changes": [change]}))

    def validate() -> None:
        change = Scenario("warm-up", (SetMetric(first, 2 * int(compiled.arc_metric[0]) + 1),))
        validate_change(net, ChangeSet("warm-up", change))

    def optimise() -> None:  # a search's time limit counts from its start: a first job
        # that compiled its kernels spent 10-20 s of a 3-s limit doing so (19 evaluations)
        from nettwin.optimize import optimize_paths, optimize_weights

        optimize_weights(net, iterations=20, compiled=compiled)
        optimize_paths(net, time_limit_s=1.0, compiled=compiled)

    return (lambda: simulate(compiled), whatif,
            lambda: run_sweep(net, links=True, nodes=True, compiled=compiled), validate,
            optimise, _warm_storm)


def _warm_storm() -> None:
    import yaml

    from nettwin.examples import example_path, munich
    from nettwin.radio.acm import load_acm_profiles
    from nettwin.radio.budget import compile_radio
    from nettwin.radio.storm import parse_storm, run_storm

    net = munich()
    profiles = load_acm_profiles(example_path("munich-backhaul").with_name(
        "munich-acm-38ghz.txt"))
    storm = parse_storm(yaml.safe_load(example_path("munich-storm").read_text("utf-8")),
                        "munich-storm.yaml")
    run_storm(net, compile_radio(net, profiles), storm)


def start_warmup() -> Warmup:
    """Start warming in a daemon thread; returns the progress record at once. An edited
    checkout's cache may hold kernels inlining old callees: dropped first (``nettwin
    warmup`` drops them itself, saying how many)."""
    from nettwin.kernel_cache import drop_stale_kernels

    w = Warmup()

    def warm() -> None:
        drop_stale_kernels()
        _work(w)

    threading.Thread(target=warm, name="nettwin-warmup", daemon=True).start()
    return w


def run_warmup(on_step: Callable[[str], None] | None = None) -> Warmup:
    """Warm in this thread (``nettwin warmup``); ``on_step`` hears each step as it starts."""
    w = Warmup()
    _work(w, on_step)
    return w


def warmup_document(w: Warmup | None) -> dict[str, Any]:
    """The progress as the API answers it (no warm-up started: ready, nothing to do)."""
    if w is None:
        return {"state": "ready", "done": [], "running": None, "steps": [],
                "elapsed_s": 0.0, "error": None}
    return w.document()
