"""Rocketfuel ``weights.intra`` (``router_a router_b weight``, one direction per line), with
``latencies.intra`` (milliseconds) read from the same folder when present."""

from __future__ import annotations

from pathlib import Path

from nettwin.errors import ImportFormatError
from nettwin.io.options import ImportOptions
from nettwin.io.text import parse_number, read_text
from nettwin.model import Network, build_network
from nettwin.model.problems import Problem, note


def _rows(path: Path) -> list[tuple[int, str, str, float]]:
    out = []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        if len(parts) != 3:
            raise ImportFormatError(str(path), f"expected 'router_a router_b value', got "
                                               f"{line.strip()!r}", number)
        out.append((number, parts[0], parts[1], parse_number(path, parts[2], "value", number)))
    return out


def import_rocketfuel(path: str | Path, options: ImportOptions | None = None) -> Network:
    """Read a Rocketfuel ISP map. Capacities are not in the data: a default is applied."""
    path = Path(path)
    options = options or ImportOptions()
    rows = _rows(path)
    latency_file = path.with_name("latencies.intra")
    latency: dict[tuple[str, str], float] = {}
    if latency_file.exists():
        for _, a, b, ms in _rows(latency_file):
            latency[(a, b)] = latency[(b, a)] = ms / 1e3
    nodes: dict[str, dict[str, str]] = {}
    arcs: dict[tuple[str, str], float] = {}
    notes: list[Problem] = []
    repeats = 0
    for _, a, b, w in rows:
        for n in (a, b):
            nodes.setdefault(n, {"id": n})
        if (a, b) in arcs:
            repeats += 1
        arcs[(a, b)] = w
    links = []
    done: set[tuple[str, str]] = set()
    one_way = 0
    for (a, b), w in arcs.items():
        if (a, b) in done or a == b:
            continue
        back = arcs.get((b, a))
        if back is None:
            one_way += 1
        done.update({(a, b), (b, a)})
        links.append({"id": f"{a}--{b}", "a": a, "b": b,
                      "capacity_ab_bps": options.default_capacity_bps,
                      "metric_ab": max(1, round(w)), "metric_ba": max(1, round(back or w)),
                      "delay_s": latency.get((a, b))})
    if repeats:
        notes.append(note(path.name, f"{repeats} repeated router pair(s); the last weight wins"))
    if one_way:
        notes.append(note(path.name, f"{one_way} link(s) listed in one direction only; the "
                                     "reverse direction gets the same weight"))
    if any(w != round(w) for w in arcs.values()):
        notes.append(note(path.name, "fractional weights rounded to whole IGP metrics"))
    notes.append(note(path.name, f"Rocketfuel has no capacities: "
                                 f"{options.default_capacity_bps:g} bit/s assumed on every link"
                                 + ("" if latency else "; no latencies.intra found, delays 0")))
    name = f"rocketfuel-{path.parent.name}"
    return build_network(name, list(nodes.values()), links, notes=notes, source=path.name)
