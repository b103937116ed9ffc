"""Replaying observations from a file (JSON lines, CSV or Parquet) at a chosen speed, line
numbers as positions, so a replay resumes where the store's cursor stands."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from nettwin.errors import ImportFormatError
from nettwin.extras import require
from nettwin.live.feed import Ack, Message

HEAD_BYTES = 4096  # what identifies a replay file's content, with its inode


def file_identity(path: Path) -> str:
    """A replay file by content, not by name: device, inode and a hash of its first 4 KiB.
    A rotated file with the same name is another file (new inode, new head) and is replayed;
    the same file grown by appending keeps its identity and resumes after its last line."""
    st = path.stat()
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES)
    digest = hashlib.sha256(head).hexdigest()[:16]
    return f"{st.st_dev:x}:{st.st_ino:x}:{digest}"


class FileReplaySource:
    """JSON lines (``.jsonl``/``.json``), CSV (header: kind,time,device,interface,
    out_octets,... as in the JSON form) or Parquet (a table with those columns, e.g. ``nettwin
    synth --parquet``; nulls are absent fields, read a row group at a time) replayed at
    ``speed`` x real time (0: as fast as possible). Positions are line (row) numbers of *this
    content* (the source's name carries the file's identity, see ``file_identity``), so a
    replay into a store resumes after the last committed line of the same file, and a new
    file under an old name is read in full."""

    def __init__(self, path: str | Path, speed: float = 0.0) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ImportFormatError(str(self.path), "no such file")
        if speed < 0:
            raise ValueError(f"speed {speed} must be >= 0 (0: as fast as possible)")
        self.speed = speed
        if self.path.suffix.lower() == ".parquet":
            _parquet_columns(self.path)  # unreadable or not observations: refused now
        self.identity = file_identity(self.path)
        self.name = f"file:{self.path.name[:80]}@{self.identity}"

    def resume_note(self, committed_line: int | None) -> str:
        """What a replay will do given the store's cursor for this source (say it when
        lines are skipped)."""
        if committed_line is None:
            return f"{self.path.name}: new content ({self.identity}), replayed from line 1"
        return (f"{self.path.name}: lines 1..{committed_line} of this content "
                f"({self.identity}) are already committed and are skipped; replay resumes "
                f"at line {committed_line + 1}")

    def _lines(self) -> Iterator[tuple[int, Any]]:
        if self.path.suffix.lower() == ".parquet":
            pq = require("pyarrow.parquet")

            i = 0
            for rows in pq.ParquetFile(self.path).iter_batches(batch_size=10_000):
                for row in rows.to_pylist():
                    i += 1
                    yield i, {k: v for k, v in row.items() if v is not None}
            return
        if self.path.suffix.lower() == ".csv":
            with self.path.open(newline="", encoding="utf-8") as fh:
                for i, row in enumerate(csv.DictReader(fh), start=2):
                    yield i, {k: _csv_value(k, v) for k, v in row.items() if v not in ("", None)}
        else:
            with self.path.open("rb") as fh:
                for i, line in enumerate(fh, start=1):
                    if line.strip():
                        yield i, line

    async def batches(self, max_batch: int = 10_000, max_wait_s: float = 0.05
                      ) -> AsyncIterator[tuple[list[Message], Ack | None]]:
        batch: list[Message] = []
        t0_data: float | None = None
        t0_wall = time.monotonic()
        for pos, payload in self._lines():
            if self.speed > 0:
                t = _peek_time(payload)
                if t is not None:
                    t0_data = t if t0_data is None else t0_data
                    wait = (t - t0_data) / self.speed - (time.monotonic() - t0_wall)
                    if wait > 0:
                        if batch:
                            yield batch, None
                            batch = []
                        await asyncio.sleep(wait)
            batch.append(Message(payload, pos))
            if len(batch) >= max_batch:
                yield batch, None
                batch = []
                await asyncio.sleep(0)
        if batch:
            yield batch, None

    async def close(self) -> None:
        return None


def _parquet_columns(path: Path) -> list[str]:
    """The columns of a Parquet observation table; a clear error for anything else."""
    pa = require("pyarrow")
    pq = require("pyarrow.parquet")

    try:
        names = list(pq.ParquetFile(path).schema_arrow.names)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ImportFormatError(str(path), f"not a readable Parquet file ({exc})") from None
    missing = {"kind", "time"} - set(names)
    if missing:
        raise ImportFormatError(str(path), f"no column(s) {', '.join(sorted(missing))}: an "
                                           "observation table has kind, time and the fields "
                                           "of each kind (see nettwin synth --parquet)")
    return names


def _csv_value(key: str, value: str) -> Any:
    if key in ("kind", "device", "interface", "link", "object", "event", "severity",
               "message", "modulation", "oper_status"):
        return value
    try:
        return float(value)
    except ValueError:
        return value


def _peek_time(payload: Any) -> float | None:
    from nettwin.live.observations import parse_time

    try:
        doc = json.loads(payload) if isinstance(payload, bytes | str) else payload
        return parse_time(doc.get("time"))
    except (ValueError, AttributeError, TypeError):
        return None
