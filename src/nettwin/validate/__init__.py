"""Trust before touch: validate a proposed change in the twin before it reaches the network.

Change sets (scenario changes and FRR configuration), per-prefix forwarding checks (loops,
blackholes, reachability, asymmetry), performance now and under failures, guardrails and a
red team, reduced to one verdict: SAFE, RISKY or UNSAFE.
"""

from nettwin.validate.addressing import AddressPlan, Prefix, plan_addresses
from nettwin.validate.changeset import (
    AddStaticRoute,
    ChangeSet,
    RemoveStaticRoute,
    SetLinkAdmin,
    StaticRoute,
    merge_change_sets,
)
from nettwin.validate.guardrails import Rule, parse_guardrails
from nettwin.validate.performance import Survive
from nettwin.validate.redteam import Budget
from nettwin.validate.verdict import Grade, Verdict, validate_change

__all__ = [
    "AddStaticRoute",
    "AddressPlan",
    "Budget",
    "ChangeSet",
    "Grade",
    "Prefix",
    "RemoveStaticRoute",
    "Rule",
    "SetLinkAdmin",
    "StaticRoute",
    "Survive",
    "Verdict",
    "merge_change_sets",
    "parse_guardrails",
    "plan_addresses",
    "validate_change",
]
