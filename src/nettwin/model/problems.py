"""Problems found while building or importing a network: errors stop a load, notes inform."""

from __future__ import annotations

import enum
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
