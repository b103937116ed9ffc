"""Agents in continuous shadow mode: a policy runs on a network's live state every
``every_s`` seconds for as long as the service runs (weeks, if that is what trust takes),
and each change it would make is judged by the twin on the state of that instant, recorded
beside the proposals external agents POST, and never applied.

The policies are the sandbox's own (``nettwin.gym.agents.BASELINES``: noop, random, greedy,
optimizer) or, from the command line only (``nettwin serve --shadow``), a model saved by
``nettwin agent train``: the API never opens a file a caller names. One run proposes what
the policy's first step on a ``TrafficEngineeringEnv`` of the state would change
(``nettwin.gym.shadow.agent_proposal``); a policy that keeps the metrics proposes nothing
and leaves no record, only its run count. A failing run is kept as the agent's last error;
the agent keeps its schedule.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nettwin.errors import NettwinError, ValidationError
from nettwin.model.problems import Problem

if TYPE_CHECKING:
    from nettwin.api.service import Twin

MIN_EVERY_S = 5.0
MAX_AGENTS = 32  # per service


@dataclass
class ShadowAgent:
    """One scheduled policy on one network."""

    network_id: str
    name: str  # the agent name its records carry ("shadow:<policy>" unless given)
    policy: str  # a baseline name or, from the command line, a saved model's path
    every_s: float
    survive: str = "n-1"
    owner: str = "service"
    runs: int = 0
    proposals: int = 0
    last_run: float | None = None
    last_error: str | None = None
    next_at: float = 0.0
    _policy: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def document(self) -> dict[str, Any]:
        return {"network_id": self.network_id, "name": self.name, "policy": self.policy,
                "every_s": self.every_s, "survive": self.survive, "owner": self.owner,
                "runs": self.runs, "proposals": self.proposals, "last_run": self.last_run,
                "last_error": self.last_error}


def make_policy(spec: str, *, allow_files: bool) -> Any:
    """A sandbox baseline by name, or (``allow_files``) a saved model (.npz)."""
    from nettwin.gym.agents import BASELINES, load_policy

    if spec in BASELINES:
        return BASELINES[spec]()
    if allow_files and spec.endswith(".npz") and Path(spec).is_file():
        return load_policy(spec)
    fix = "one of " + ", ".join(sorted(BASELINES))
    if allow_files:
        fix += ", or a policy saved by `nettwin agent train` (.npz)"
    raise ValidationError([Problem("shadow agent", "unknown policy", field="policy",
                                   value=spec, fix=fix)])


class ShadowAgents:
    """The service's scheduled shadow agents; ``run_due`` judges what is due."""

    def __init__(self) -> None:
        self.agents: dict[tuple[str, str], ShadowAgent] = {}
        self._lock = threading.Lock()

    def add(self, network_id: str, policy: str, *, every_s: float, name: str | None = None,
            survive: str = "n-1", owner: str = "service", allow_files: bool = False
            ) -> ShadowAgent:
        if not every_s >= MIN_EVERY_S:
            raise ValidationError([Problem("shadow agent", "runs too often", field="every_s",
                                           value=every_s,
                                           fix=f"every_s >= {MIN_EVERY_S:g} seconds")])
        made = make_policy(policy, allow_files=allow_files)
        label = name or f"shadow:{Path(policy).stem if policy.endswith('.npz') else policy}"
        with self._lock:
            key = (network_id, label)
            if key not in self.agents and len(self.agents) >= MAX_AGENTS:
                raise ValidationError([Problem("shadow agent", "too many agents",
                                               value=len(self.agents),
                                               fix=f"at most {MAX_AGENTS}: remove one first")])
            agent = ShadowAgent(network_id, label, policy, float(every_s), survive, owner,
                                next_at=time.time(), _policy=made)
            self.agents[key] = agent
        return agent

    def remove(self, network_id: str, name: str) -> bool:
        with self._lock:
            return self.agents.pop((network_id, name), None) is not None

    def of(self, network_id: str) -> list[ShadowAgent]:
        with self._lock:
            return [a for (nid, _), a in sorted(self.agents.items()) if nid == network_id]

    def forget_network(self, network_id: str) -> None:
        with self._lock:
            for key in [k for k in self.agents if k[0] == network_id]:
                del self.agents[key]

    def due(self, now: float) -> list[ShadowAgent]:
        with self._lock:
            return [a for a in self.agents.values() if a.next_at <= now]


def run_once(twin: Twin, agent: ShadowAgent) -> dict[str, Any] | None:
    """One run of ``agent``: its proposal on the network's state now, judged and recorded
    (the record's document), or None when it proposes nothing."""
    from nettwin.api.basis import resolve_basis
    from nettwin.api.routes.shadow import network_of
    from nettwin.gym.shadow import agent_proposal
    from nettwin.report import json_safe
    from nettwin.validate import ChangeSet, Survive
    from nettwin.validate.shadow import judge

    with agent._lock:  # one run of an agent at a time (its policy keeps state)
        b = resolve_basis(twin, agent.network_id, "auto")
        network = network_of(b)
        at = b.measured_at if b.measured_at is not None else time.time()
        # a new episode seed each run (a random policy explores, a greedy one is unmoved)
        scenario, _info = agent_proposal(agent._policy, network, name=agent.name,
                                         seed=agent.runs)
        agent.runs += 1
        agent.last_run = time.time()
        if scenario is None:
            return None
        body = {"name": agent.name, "survive": agent.survive,
                "changes": [change_document(c) for c in scenario.changes]}
        record = judge(network, ChangeSet(agent.name, scenario), agent=agent.name, at=at,
                       basis=b.kind, basis_note=b.note, survive=Survive(agent.survive),
                       body=body)
        doc: dict[str, Any] = json_safe(record.document())
        twin.record_proposal(agent.network_id, agent.owner, doc)
        agent.proposals += 1
        return doc


def change_document(change: Any) -> dict[str, Any]:
    """A metric change as a what-if / proposal body writes it (what the agent proposes)."""
    from nettwin.scenarios.changes import Direction, SetMetric

    if not isinstance(change, SetMetric):
        raise NettwinError(f"a shadow agent proposed {type(change).__name__}: only metric "
                           "changes are expected")
    doc: dict[str, Any] = {"link": change.link, "metric": int(change.metric)}
    if change.direction is not Direction.BOTH:
        doc["direction"] = change.direction.value
    return {"set_metric": doc}


async def schedule(twin: Twin, tick_s: float = 1.0) -> None:
    """The service's loop: every ``tick_s``, each due agent runs (in a worker thread, one
    after another so the agents never take both cores from the API)."""
    while True:
        for agent in twin.shadow.due(time.time()):
            agent.next_at = time.time() + agent.every_s
            if not twin.has(agent.network_id):
                agent.last_error = "the network is gone"
                continue
            try:
                await asyncio.to_thread(run_once, twin, agent)
                agent.last_error = None
            except Exception as exc:
                agent.last_error = f"{type(exc).__name__}: {str(exc)[:300]}"
        await asyncio.sleep(tick_s)
