"""The one exception tree of nettwin.

::

    NettwinError                    anything nettwin raises on purpose
    ├── ValidationError             a network or traffic matrix breaks the model's rules;
    │                               carries *all* problems found, never just the first
    ├── ImportFormatError           a file is not valid in the format it claims (names file + line)
    │   ├── UnknownFormatError      the format of a file cannot be told from its name or content
    │   └── InputLimitError         a file is larger than the input limits allow (bytes,
    │                               elements): the service answers 413
    ├── SimulationError             the engine was asked something it cannot answer
    │                               (bad options, arrays of the wrong shape)
    └── ClimateDataError            ITU-R climate maps needed but not installed, and no
                                    value given instead

Every message names the element, the bad value and how to fix it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nettwin.model.problems import Problem


class NettwinError(Exception):
    """Base class of every error nettwin raises on purpose."""


class ValidationError(NettwinError):
    """The input breaks the model's rules; ``problems`` lists every one of them."""

    def __init__(self, problems: Sequence[Problem], source: str | None = None) -> None:
        self.problems = tuple(problems)
        self.source = source
        where = f" in {source}" if source else ""
        lines = [f"{len(self.problems)} problem(s){where}:"]
        lines += [f"  - {p}" for p in self.problems[:50]]
        if len(self.problems) > 50:
            lines.append(f"  ... and {len(self.problems) - 50} more")
        super().__init__("\n".join(lines))


class ImportFormatError(NettwinError):
    """A file does not follow the format it claims to be in."""

    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.message = message
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")


class UnknownFormatError(ImportFormatError):
    """The format of a file cannot be told from its name or content."""


class InputLimitError(ImportFormatError):
    """A file holds more than the input limits in force allow (bytes or elements)."""


class SimulationError(NettwinError):
    """The engine was given options or arrays it cannot work with."""


class ClimateDataError(NettwinError):
    """The ITU-R climate maps are not installed and no value was given instead."""
