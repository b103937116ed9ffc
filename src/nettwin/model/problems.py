"""Problems found while building or importing a network: errors stop a load, notes inform."""

from __future__ import annotations

import difflib
import enum
from collections.abc import Iterable
from dataclasses import dataclass


class Severity(enum.Enum):
    """How serious a problem is: an ERROR stops the load, a NOTE only informs."""

    ERROR = "error"
    NOTE = "note"


@dataclass(frozen=True)
class Problem:
    """One finding about one element: where, which field, what value, what is wrong, the fix."""

    element: str
    message: str
    fix: str = ""
    field: str | None = None
    value: object = None
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        where = self.element if self.field is None else f"{self.element}, field '{self.field}'"
        shown = "" if self.value is None else f" (got {self.value!r})"
        fix = f" Fix: {self.fix}" if self.fix else ""
        return f"{where}: {self.message}{shown}.{fix}"


def note(element: str, message: str, fix: str = "") -> Problem:
    """A finding that does not stop the load (a default applied, a decision an importer made)."""
    return Problem(element=element, message=message, fix=fix, severity=Severity.NOTE)


def unknown_id_fix(kind: str, value: object, known: Iterable[str]) -> str:
    """The fix for an id that is not there: the closest ids (a typo or the wrong case is the
    usual cause), else a few of the valid ones; never just how many there are."""
    pool = list(known)
    by_lower: dict[str, str] = {}
    for k in pool:
        by_lower.setdefault(str(k).lower(), k)
    close = difflib.get_close_matches(str(value).lower(), list(by_lower), n=3, cutoff=0.5)
    if close:
        return f"did you mean {', '.join(repr(by_lower[c]) for c in close)}?"
    return f"use one of the {len(pool)} {kind} ids, e.g. {', '.join(map(str, pool[:3]))}"
