"""Synthetic datasets as Parquet: one columnar table of observations (the live observation
format, one column per field of any record kind, null where a kind has no such field) and
one of labels. The schemas are declared once here; ``nettwin synth --help`` documents them
(a test keeps the two equal) and :func:`read_observations_parquet` turns a file back into
the records ``nettwin diagnose`` and ``nettwin ingest`` take."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from nettwin.errors import NettwinError
from nettwin.extras import naming_extra

try:
    import pyarrow as pa
    import pyarrow.parquet as pq
except ModuleNotFoundError as exc:  # pip install nettwin[arrow]
    raise naming_extra(exc) from None

# field -> (arrow type, the record kinds that carry it); declared once
OBSERVATION_FIELDS: dict[str, tuple[pa.DataType, tuple[str, ...]]] = {
    "kind": (pa.string(), ("counter", "radio", "event")),
    "time": (pa.float64(), ("counter", "radio", "event")),
    "device": (pa.string(), ("counter",)),
    "interface": (pa.string(), ("counter",)),
    "out_octets": (pa.float64(), ("counter",)),
    "out_packets": (pa.float64(), ("counter",)),
    "out_drops": (pa.float64(), ("counter",)),  # packets, like ifOutDiscards
    "oper_status": (pa.string(), ("counter",)),
    "counter_bits": (pa.int8(), ("counter",)),
    "link": (pa.string(), ("radio",)),
    "rsl_dbm": (pa.float64(), ("radio",)),
    "modulation": (pa.string(), ("radio",)),
    "capacity_bps": (pa.float64(), ("radio",)),
    "object": (pa.string(), ("event",)),
    "event": (pa.string(), ("event",)),
    "severity": (pa.string(), ("event",)),
    "message": (pa.string(), ("event",)),
}
OBSERVATION_SCHEMA = pa.schema([pa.field(name, t) for name, (t, _) in
                                OBSERVATION_FIELDS.items()])
LABEL_SCHEMA = pa.schema([
    pa.field("event_id", pa.string()), pa.field("scenario", pa.string()),
    pa.field("kind", pa.string()), pa.field("element", pa.string()),
    pa.field("elements", pa.list_(pa.string())), pa.field("start", pa.float64()),
    pa.field("end", pa.float64()), pa.field("window_start", pa.float64()),
    pa.field("window_end", pa.float64()), pa.field("params", pa.string()),  # JSON object
    pa.field("chain", pa.list_(pa.string())),
    pa.field("affected_services", pa.list_(pa.string())),
])


class ParquetDatasetError(NettwinError):
    """A Parquet file that is not a synthetic observation or label table."""


def observations_table(records: Iterable[dict[str, Any]]) -> pa.Table:
    """The records as one table (columns of the declared schema, nulls elsewhere)."""
    rows = list(records)
    return pa.table({name: pa.array([r.get(name) for r in rows], type=t)
                     for name, (t, _) in OBSERVATION_FIELDS.items()}, schema=OBSERVATION_SCHEMA)


def labels_table(labels: Iterable[dict[str, Any]]) -> pa.Table:
    rows = [dict(r, params=orjson.dumps(r.get("params", {})).decode()) for r in labels]
    return pa.Table.from_pylist(rows, schema=LABEL_SCHEMA)


class ParquetSink:
    """Observation and label tables written episode by episode (row groups), so a large
    dataset never sits in memory."""

    def __init__(self, out_dir: Path) -> None:
        self.obs = pq.ParquetWriter(out_dir / "observations.parquet", OBSERVATION_SCHEMA)
        self.labels = pq.ParquetWriter(out_dir / "labels.parquet", LABEL_SCHEMA)

    def write(self, records: list[dict[str, Any]], label: dict[str, Any]) -> None:
        if records:
            self.obs.write_table(observations_table(records))
        self.labels.write_table(labels_table([label]))

    def close(self) -> None:
        self.obs.close()
        self.labels.close()


def read_observations_parquet(path: Path) -> list[dict[str, Any]]:
    """The records of an observation table, each with only its kind's fields (nulls
    dropped): the same dictionaries as the JSON lines file."""
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ParquetDatasetError(f"{path}: not a readable Parquet file ({exc})") from None
    missing = {"kind", "time"} - set(table.column_names)
    if missing:
        raise ParquetDatasetError(f"{path}: no column(s) {', '.join(sorted(missing))}: write "
                                  "it with 'nettwin synth --parquet'")
    return [{k: v for k, v in row.items() if v is not None} for row in table.to_pylist()]


def read_labels_parquet(path: Path) -> list[dict[str, Any]]:
    """The label rows (params decoded back into a dictionary)."""
    rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
    for r in rows:
        r["params"] = orjson.loads(r["params"]) if r.get("params") else {}
    return rows
