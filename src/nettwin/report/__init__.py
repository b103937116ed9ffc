"""Results for people and other systems: named tables (JSON/CSV/Parquet), plots, HTML."""

from nettwin.report.tables import (
    arc_records,
    demand_records,
    json_safe,
    result_document,
    service_records,
    top_arcs,
    write_csv,
    write_json,
    write_parquet,
    write_rows,
)

__all__ = [
    "arc_records",
    "demand_records",
    "json_safe",
    "result_document",
    "service_records",
    "top_arcs",
    "write_csv",
    "write_json",
    "write_parquet",
    "write_rows",
]
