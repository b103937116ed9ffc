"""Warm the numba kernels in the background when the service starts.

The first simulation, what-if, N-1 sweep or storm compiles (or loads from the on-disk cache)
the kernels it needs: ~26 s on a cold machine for the first N-1 click. Running each once on
the bundled Abilene network in a thread at start-up moves that wait out of the user's way;
``GET /api/v1/warmup`` says how far it got, and the dashboard shows "warming up" meanwhile.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Warmup:
    """Progress of the background warm-up (read by the route, written by its thread)."""

    steps: tuple[str, ...] = ("simulate", "what-if", "N-1 sweep", "storm")
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


def _work(w: Warmup) -> None:
    from nettwin.engine import compile_network, simulate
    from nettwin.examples import abilene
    from nettwin.scenarios import parse_scenario, run_sweep, run_whatif

    try:
        net = abilene()
        compiled = compile_network(net)
        w.running = "simulate"
        simulate(compiled)
        w.done.append("simulate")
        w.running = "what-if"
        run_whatif(net, parse_scenario({"changes": [{"fail_link": next(iter(net.links))}]}),
                   compiled=compiled)
        w.done.append("what-if")
        w.running = "N-1 sweep"
        run_sweep(net, links=True, nodes=True, compiled=compiled)
        w.done.append("N-1 sweep")
        w.running = "storm"
        _warm_storm()
        w.done.append("storm")
    except Exception as exc:  # a failed warm-up only means the first click waits
        w.error = f"{type(exc).__name__}: {exc}"
    finally:
        w.running = None
        w.finished = time.time()


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
    """Start warming in a daemon thread; returns the progress record at once."""
    w = Warmup()
    threading.Thread(target=_work, args=(w,), name="nettwin-warmup", daemon=True).start()
    return w


def warmup_document(w: Warmup | None) -> dict[str, Any]:
    """The progress as the API answers it (no warm-up started: ready, nothing to do)."""
    if w is None:
        return {"state": "ready", "done": [], "running": None, "steps": [],
                "elapsed_s": 0.0, "error": None}
    return w.document()
