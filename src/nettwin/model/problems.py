"""Problems found while building or importing a network: errors stop a load, notes inform."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from nettwin.errors import close_names


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
    close = close_names(value, pool)
    if close:
        return f"did you mean {', '.join(repr(c) for c in close)}?"
    return f"use one of the {len(pool)} {kind} ids, e.g. {', '.join(map(str, pool[:3]))}"
