"""Self-contained HTML reports: tables and embedded PNG plots in one file."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

_STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}th,td{border:1px solid #ccc;
padding:3px 8px;text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{
text-align:left}.bad{color:#b00020;font-weight:600}.ok{color:#1b7e3c}img{max-width:100%}"""


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return "" if value is None else str(value)


def table_html(rows: list[dict[str, Any]], limit: int = 50) -> str:
    if not rows:
        return "<p>(none)</p>"
    head = "".join(f"<th>{html.escape(k)}</th>" for k in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row.values())
                   + "</tr>" for row in rows[:limit])
    more = f"<p>... {len(rows) - limit} more rows in the CSV/JSON output</p>" \
        if len(rows) > limit else ""
    return f"<table><tr>{head}</tr>{body}</table>{more}"


def image_html(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode()
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def write_report(path: Path, title: str, sections: list[tuple[str, str]]) -> None:
    """Write an HTML page: a title, then (heading, html) sections."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
             f"</title><style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>"]
    for heading, body in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>{body}")
    parts.append("</body></html>")
    path.write_text("\n".join(parts), encoding="utf-8")
