"""REPETITA ``.graph`` (directed edges: IGP weight, bandwidth in kbit/s, delay in µs) and
``.demands`` (bandwidth in kbit/s) files. Opposite edges are paired into one link."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from nettwin.errors import ImportFormatError
from nettwin.io.text import parse_number, read_text
from nettwin.io.traffic import TrafficRecords, apply_traffic
from nettwin.model import Network, build_network
from nettwin.model.problems import Problem, note

KBPS = 1e3
MICROSECOND = 1e-6


def _block(path: Path, lines: list[str], start: int, keyword: str) -> tuple[list[tuple[int,
                                                                                      list[str]]],
                                                                           int]:
    """Rows of a 'KEYWORD count' block (after its column-header line); returns next index."""
    i = start
    while i < len(lines) and not lines[i].strip():
        i += 1
    head = lines[i].split() if i < len(lines) else []
    if len(head) != 2 or head[0] != keyword or not (head[1].isascii() and head[1].isdigit()):
        raise ImportFormatError(str(path), f"expected '{keyword} <count>'", i + 1)
    count = int(head[1])
    rows: list[tuple[int, list[str]]] = []
    j = i + 2  # skip the column-header line
    while len(rows) < count:
        if j >= len(lines):
            raise ImportFormatError(str(path), f"{keyword} announces {count} rows, "
                                               f"found {len(rows)}", j)
        if lines[j].strip():
            rows.append((j + 1, lines[j].split()))
        j += 1
    return rows, j


def _node_number(path: Path, text: str, n_nodes: int, what: str, line: int) -> int:
    """A node number in 0..n_nodes-1 (Python would read -1 as the last node)."""
    if not (text.isascii() and text.isdigit()) or len(text) > 18 or int(text) >= n_nodes:
        raise ImportFormatError(str(path), f"{what} {text[:40]!r} is not a node number; use "
                                           f"0..{n_nodes - 1} (the NODES block's order)", line)
    return int(text)


def import_repetita(path: str | Path, demands: str | Path | None = None) -> Network:
    """Read a REPETITA topology, and optionally one of its demand files."""
    path = Path(path)
    lines = read_text(path).splitlines()
    node_rows, nxt = _block(path, lines, 0, "NODES")
    edge_rows, _ = _block(path, lines, nxt, "EDGES")
    nodes = []
    names: list[str] = []
    for number, row in node_rows:
        if len(row) < 3:
            raise ImportFormatError(str(path), "node row needs 'label x y'", number)
        x, y = (parse_number(path, v, "coordinate", number) for v in row[1:3])
        has_coords = (x, y) != (0.0, 0.0) and -90 <= y <= 90 and -180 <= x <= 180
        names.append(row[0])
        nodes.append({"id": row[0], "longitude": x if has_coords else None,
                      "latitude": y if has_coords else None})
    pending: dict[tuple[int, int], list[tuple[str, int, float, float]]] = defaultdict(list)
    links = []
    notes: list[Problem] = []
    self_loops = 0
    for number, row in edge_rows:
        if len(row) < 6:
            raise ImportFormatError(str(path), "edge row needs 'label src dest weight bw delay'",
                                    number)
        label = row[0]
        s = _node_number(path, row[1], len(names), f"edge {label}: src", number)
        d = _node_number(path, row[2], len(names), f"edge {label}: dest", number)
        if s == d:
            self_loops += 1
            continue
        weight = parse_number(path, row[3], "weight", number)
        bw = parse_number(path, row[4], "bw", number) * KBPS
        delay = parse_number(path, row[5], "delay", number) * MICROSECOND
        back = pending.get((d, s))
        if back:
            blabel, bweight, bbw, bdelay = back.pop(0)
            links.append({"id": blabel, "a": names[d], "b": names[s],
                          "capacity_ab_bps": bbw, "capacity_ba_bps": bw,
                          "metric_ab": bweight, "metric_ba": weight,
                          "delay_s": (bdelay + delay) / 2})
        else:
            pending[(s, d)].append((label, int(weight), bw, delay))
    lonely = [(k, v) for k, vs in pending.items() for v in vs]
    for (s, d), (label, weight, bw, delay) in lonely:
        links.append({"id": label, "a": names[s], "b": names[d], "capacity_ab_bps": bw,
                      "metric_ab": weight, "delay_s": delay})
    if self_loops:
        notes.append(note(path.name, f"{self_loops} self-loop edge(s) dropped "
                                     "(a link needs two nodes)"))
    if lonely:
        notes.append(note(path.name, f"{len(lonely)} edge(s) have no opposite edge; the "
                                     "reverse direction is assumed identical",
                          "add the reverse edge to the .graph file"))
    net = build_network(path.name.split(".")[0], nodes, links, notes=notes, source=path.name)
    if demands is not None:
        net = apply_traffic(net, read_repetita_demands(demands, names),
                            source=Path(demands).name)
    return net


def read_repetita_demands(path: str | Path, node_names: list[str]) -> TrafficRecords:
    """Demands of a REPETITA ``.demands`` file; node numbers are mapped to ``node_names``."""
    path = Path(path)
    rows, _ = _block(path, read_text(path).splitlines(), 0, "DEMANDS")
    out = TrafficRecords([], [], [], [])
    for number, row in rows:
        if len(row) < 4:
            raise ImportFormatError(str(path), "demand row needs 'label src dest bw'", number)
        n = len(node_names)
        s = node_names[_node_number(path, row[1], n, f"demand {row[0]}: src", number)]
        d = node_names[_node_number(path, row[2], n, f"demand {row[0]}: dest", number)]
        out.src.append(s)
        out.dst.append(d)
        out.rate_bps.append(parse_number(path, row[3], "bw", number) * KBPS)
        out.labels.append(f"{path.name}:{number} {row[0]}")
    return out
