"""Self-contained HTML reports: tables and embedded PNG plots in one file.

Values are formatted by what their column name says they are (``*_bps`` in bit/s with SI
prefixes, ``*utilisation*`` and ``*loss*`` in %, ``*_s`` in ms), headers lose their unit
suffixes, and lists become comma-separated text: no raw field names or JSON in a report."""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path
from typing import Any

_STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}th,td{border:1px solid #ccc;
padding:3px 8px;text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{
text-align:left}.bad{color:#b00020;font-weight:600}.ok{color:#1b7e3c}img{max-width:100%}
dl.inputs{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px}dl.inputs dt{color:#555}
dl.inputs dd{margin:0}figure.map{margin:1em 0}figure.map svg{background:#fff;border:1px solid #ddd}
figcaption{font-size:12px;color:#444}.verdict{font-weight:600;padding:6px;background:#eef6ee}
.verdict.bad{background:#fdecea}"""


def _si(value: float, unit: str) -> str:
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.2f} {prefix}{unit}"
    return f"{value:.0f} {unit}"


def format_value(key: str, value: Any) -> str:
    """A value as people read it, by what its name says it is."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(format_value(key, v) if isinstance(v, float) else str(v)
                         for v in value) or "—"
    if isinstance(value, int | float) and not isinstance(value, bool):
        v = float(value)
        if not math.isfinite(v):
            return "unbounded" if v > 0 else "—"
        k = key.lower()
        if k.endswith("_bps"):
            return _si(v, "bit/s")
        if "utilisation" in k or k.endswith("loss") or k.startswith("p_") \
                or k.endswith("_fraction") or k.endswith("probability"):
            return f"{100 * v:.2f} %" if abs(v) < 0.01 and v else f"{100 * v:.1f} %"
        if k.endswith("_s"):
            return f"{1e3 * v:.2f} ms" if abs(v) < 10 else f"{v:.1f} s"
        if k.endswith("_db"):
            return f"{v:.1f} dB"
        if k.endswith("_km"):
            return f"{v:.1f} km"
        if k.endswith("_h"):
            return f"{v:g} h"
        if isinstance(value, int):
            return f"{value:,}".replace(",", " ")
        return f"{v:.4g}"
    return str(value)


def header_of(key: str) -> str:
    """A column name without its unit suffix, in words."""
    for suffix in ("_bps", "_s", "_db", "_km", "_h"):
        if key.endswith(suffix):
            key = key[: -len(suffix)]
            break
    return key.replace("_", " ")


def inputs_html(inputs: dict[str, Any]) -> str:
    """What a run was given (files, factors, seeds, sigmas): so a report can be repeated."""
    rows = "".join(f"<dt>{html.escape(header_of(k))}</dt><dd>{html.escape(format_value(k, v))}"
                   f"</dd>" for k, v in inputs.items() if v is not None)
    return f'<dl class="inputs">{rows}</dl>'



def table_html(rows: list[dict[str, Any]], limit: int = 50) -> str:
    """Rows as an HTML table, values formatted by their column names."""
    if not rows:
        return "<p>(none)</p>"
    head = "".join(f"<th>{html.escape(header_of(k))}</th>" for k in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(format_value(k, v))}</td>"
                                    for k, v in row.items()) + "</tr>" for row in rows[:limit])
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
