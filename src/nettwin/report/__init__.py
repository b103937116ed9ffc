"""Results for people and other systems: named tables (JSON/CSV/Parquet), plots, HTML."""

from nettwin.report.tables import (
    arc_records,
    arc_table,
    demand_records,
    demand_table,
    json_safe,
    result_document,
    service_records,
    service_table,
    top_arcs,
    write_csv,
    write_json,
    write_parquet,
    write_rows,
)

__all__ = [
    "arc_records",
    "arc_table",
    "demand_records",
    "demand_table",
    "json_safe",
    "result_document",
    "service_records",
    "service_table",
    "top_arcs",
    "write_csv",
    "write_json",
    "write_parquet",
    "write_rows",
]
