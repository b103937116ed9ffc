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
    ├── ClimateDataError            ITU-R climate maps needed but not installed, and no
    │                               value given instead
    ├── ClientError                 the twin's REST API refused a call (nettwin.client):
    │   │                           status, body, and the server's message and problems
    │   ├── UnauthorizedError       401: no token, or one the twin does not know
    │   ├── ForbiddenError          403: the token's role is below the operation's
    │   ├── NotFoundError           404: no such network, job, alarm or element
    │   ├── ConflictError           409: not now (no live state yet, job not done)
    │   ├── InvalidRequestError     400, 413, 422: bad input (problems name the element)
    │   ├── ServerError             5xx
    │   └── TwinUnreachableError    no answer at all (connection refused, timed out)
    ├── NetworkGoneError            a live twin's network is being or was deleted: nothing
    │                               more is taken for it (the service answers 404)
    ├── StoreError                  the service's store failed a change (locked, full,
    │                               unreachable): nothing was changed (the service answers 503)
    ├── LabError                    the FRR lab cannot be built or driven here (missing tool,
    │                               no root, bad state)
    └── JobError                    a job (sweep) failed or was cancelled (``status``)
        └── JobTimeoutError         ... or did not finish in the time given

Every message names the element, the bad value and how to fix it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
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


class ClientError(NettwinError):
    """The twin's REST API answered an error: ``status``, the decoded ``body``, and the
    server's ``message`` and ``problems`` (element, field, value, fix) when it gave them."""

    def __init__(self, status: int | None, body: object, message: str) -> None:
        self.status = status
        self.body = body
        self.message = message
        problems = body.get("problems") if isinstance(body, dict) else None
        self.problems: list[dict[str, object]] = list(problems or [])
        super().__init__(f"{status}: {message}" if status else message)


class UnauthorizedError(ClientError):
    """401: no bearer token, or one the twin does not know."""


class ForbiddenError(ClientError):
    """403: the token's role is below what the operation needs."""


class NotFoundError(ClientError):
    """404: no such network, job, alarm or element."""


class ConflictError(ClientError):
    """409: not possible now (no live state yet, a job without results yet)."""


class InvalidRequestError(ClientError):
    """400, 413 or 422: the request was refused as bad input."""


class ServerError(ClientError):
    """5xx: the twin failed."""


class TwinUnreachableError(ClientError):
    """No answer at all: connection refused, reset, or timed out."""


class NetworkGoneError(NettwinError):
    """The network is being deleted or was: its live twin takes no more observations."""


class StoreError(NettwinError):
    """The store failed a change as a whole (its transaction rolled back): retry later."""


class LabError(NettwinError):
    """The lab cannot be built or driven here (missing tool, no root, bad state)."""


class JobError(NettwinError):
    """A job failed or was cancelled; ``status`` is its last status."""

    def __init__(self, status: object, message: str) -> None:
        self.status = status
        super().__init__(message)


class JobTimeoutError(JobError, TimeoutError):
    """A job did not finish within the time given (it goes on running on the twin)."""


def close_names(value: object, known: Iterable[object], cutoff: float = 0.5) -> list[str]:
    """Up to three of ``known`` closest to ``value``, case aside (a typo or the wrong case
    is the usual cause of a name that is not there), as the known spell them."""
    by_lower: dict[str, str] = {}
    for k in known:
        by_lower.setdefault(str(k).lower(), str(k))
    return [by_lower[c] for c in difflib.get_close_matches(str(value).lower(), list(by_lower),
                                                           n=3, cutoff=cutoff)]
