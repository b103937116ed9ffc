"""Shadow mode: a policy (a Python callable, a Gymnasium agent, an external agent over the
API) proposes changes on the live state; the twin validates each against the state at that
instant, records the verdict and the predicted effect, and never applies it.

Later the record is set against what came: the change re-predicted with the traffic that
really followed (``hindsight``: the network at a later instant, as the live twin rebuilt it
from the measurements) beside what the network did (the measured maximum utilisation then).
``scorecard`` sums the records of one agent: proposals, unsafe ones caught, the predicted
gain of its safe proposals and how far the realised effect fell from the predicted one.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from nettwin.model import Network
from nettwin.scenarios.changes import Scenario
from nettwin.validate.changeset import ChangeSet
from nettwin.validate.performance import Survive
from nettwin.validate.verdict import Grade, Verdict, validate_change

Policy = Callable[[Network], ChangeSet | Scenario | None]


@dataclass(frozen=True)
class Prediction:
    """Maximum utilisation (and broken SLAs) before and after the change, as predicted."""

    max_utilisation_before: float
    max_utilisation_after: float
    sla_violated_before: int
    sla_violated_after: int

    @property
    def gain(self) -> float:
        """Utilisation points the change takes off the busiest link (negative: adds)."""
        return self.max_utilisation_before - self.max_utilisation_after

    @staticmethod
    def of(verdict: Verdict) -> Prediction:
        return Prediction(verdict.before.max_utilisation, verdict.after.max_utilisation,
                          sum(s.violated for s in verdict.before.services),
                          sum(s.violated for s in verdict.after.services))

    def document(self) -> dict[str, Any]:
        return {"max_utilisation_before": self.max_utilisation_before,
                "max_utilisation_after": self.max_utilisation_after,
                "delta_max_utilisation": self.max_utilisation_after - self.max_utilisation_before,
                "sla_violated_before": self.sla_violated_before,
                "sla_violated_after": self.sla_violated_after}


@dataclass(frozen=True)
class ShadowRecord:
    """One proposal as judged when it was made (nothing of it was applied)."""

    id: str
    agent: str
    time: float  # Unix seconds of the state it was judged on
    basis: str  # "live" or "plan"
    basis_note: str
    grade: Grade
    reasons: tuple[str, ...]
    change: str
    prediction: Prediction
    verdict: dict[str, Any] = field(compare=False)  # Verdict.document()
    body: dict[str, Any] = field(default_factory=dict, compare=False)  # how to rebuild it

    def document(self) -> dict[str, Any]:
        return {"id": self.id, "agent": self.agent, "time": self.time, "basis": self.basis,
                "basis_note": self.basis_note, "verdict": self.grade.value,
                "reasons": list(self.reasons), "change": self.change,
                "predicted": self.prediction.document(), "applied": False,
                "body": self.body, "verdict_document": self.verdict}

    @staticmethod
    def from_document(doc: dict[str, Any]) -> ShadowRecord:
        p = doc["predicted"]
        return ShadowRecord(
            doc["id"], doc["agent"], float(doc["time"]), doc["basis"], doc["basis_note"],
            Grade(doc["verdict"]), tuple(doc["reasons"]), doc["change"],
            Prediction(p["max_utilisation_before"], p["max_utilisation_after"],
                       p["sla_violated_before"], p["sla_violated_after"]),
            doc.get("verdict_document") or {}, doc.get("body") or {})


@dataclass(frozen=True)
class Hindsight:
    """The change re-predicted on the network at a later instant, beside what was measured."""

    time: float
    prediction: Prediction  # with the traffic that really came
    measured_max_utilisation: float | None  # what the network did (the change not applied)

    def document(self) -> dict[str, Any]:
        return {"time": self.time, "predicted": self.prediction.document(),
                "measured_max_utilisation": self.measured_max_utilisation}


def judge(network: Network, change: ChangeSet, *, agent: str, at: float, basis: str = "plan",
          basis_note: str = "", survive: Survive = Survive.N1,
          body: dict[str, Any] | None = None, **checks: Any) -> ShadowRecord:
    """Validate ``change`` on ``network`` (the state at ``at``) and record it, unapplied.
    ``checks`` pass on to ``validate_change`` (rules, red_team, seed, ...)."""
    verdict = validate_change(network, change, survive=survive, **checks)
    return ShadowRecord(uuid.uuid4().hex[:16], agent, at, basis, basis_note, verdict.grade,
                        verdict.reasons, verdict.change, Prediction.of(verdict),
                        verdict.document(), body or {})


def repredict(network_later: Network, change: ChangeSet, at: float,
              measured_max_utilisation: float | None) -> Hindsight:
    """What the change would have done with the later traffic: the same change on the
    network as it was at ``at`` (performance only; no failures)."""
    verdict = validate_change(network_later, change, survive=Survive.NONE)
    return Hindsight(at, Prediction.of(verdict), measured_max_utilisation)


def shadow_run(policy: Policy, states: Iterable[tuple[float, Network]], *, agent: str,
               **checks: Any) -> list[ShadowRecord]:
    """Run a policy in shadow over a sequence of (time, network as it was then) states:
    each proposal (None: the policy proposes nothing then) judged on its own instant. A
    Gymnasium agent: ``lambda net: nettwin.gym.shadow.agent_proposal(agent, net)[0]``."""
    records = []
    for at, network in states:
        change = policy(network)
        if isinstance(change, Scenario):
            change = ChangeSet(change.name, change)
        if change is not None:
            records.append(judge(network, change, agent=agent, at=at, **checks))
    return records


def scorecard(records: Sequence[ShadowRecord],
              hindsights: Sequence[Hindsight | None] = ()) -> dict[str, Any]:
    """One agent's record: proposals by verdict, the unsafe ones the twin caught, the mean
    predicted gain (maximum-utilisation points) of the safe ones and, where the traffic
    that came is known, the mean |realised - predicted| utilisation after the change and
    the mean |model - measured| utilisation of the unchanged network."""
    by = {g: sum(1 for r in records if r.grade is g) for g in Grade}
    safe = [r.prediction.gain for r in records if r.grade is Grade.SAFE]
    pairs = [(r, h) for r, h in zip(records, hindsights, strict=False) if h is not None]
    err = [abs(h.prediction.max_utilisation_after - r.prediction.max_utilisation_after)
           for r, h in pairs]
    model = [abs(h.prediction.max_utilisation_before - h.measured_max_utilisation)
             for _r, h in pairs if h.measured_max_utilisation is not None]
    return {"proposals": len(records), "safe": by[Grade.SAFE], "risky": by[Grade.RISKY],
            "unsafe": by[Grade.UNSAFE], "unsafe_caught": by[Grade.UNSAFE],
            "predicted_gain": _mean(safe), "with_hindsight": len(pairs),
            "realised_vs_predicted_error": _mean(err),
            "model_vs_measured_error": _mean(model)}


def _mean(xs: list[float]) -> float | None:
    return math.fsum(xs) / len(xs) if xs else None
