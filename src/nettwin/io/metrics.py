"""The network's real IGP metrics from a file, over a topology whose format carries none
(SNDlib, GraphML, a CSV of links): routing, and everything estimated through it, must use
the metrics the routers use, not a policy's guess.

Accepted layouts (``#`` starts a comment):

* CSV with a header, one row per link: ``link,metric`` (both directions) or
  ``link,metric_ab,metric_ba``;
* CSV with a header, one row per direction: ``src,dst,metric`` (``a,b`` and ``from,to`` are
  read as ``src,dst``): the metric of the arc from ``src`` to ``dst``;
* whitespace-separated ``router_a router_b metric`` lines, one direction each (Rocketfuel's
  ``weights.intra``).

A direction given alone sets the reverse direction too (a note says how many); links the file
does not name keep their metric (a note says how many). Every bad row is reported with its
line, value and fix, and none of the file is applied then.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path

from nettwin.errors import ImportFormatError, ValidationError
from nettwin.io.text import read_text
from nettwin.model import Network
from nettwin.model.fields import MAX_IGP_METRIC
from nettwin.model.problems import Problem, note

_SRC = ("src", "a", "from", "source")
_DST = ("dst", "b", "to", "target")
_MAX_PROBLEMS = 50


def _metric(raw: str, where: str, problems: list[Problem]) -> int | None:
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 1 <= value <= MAX_IGP_METRIC:  # NaN compares false
        problems.append(Problem(where, f"IGP metric must be a number from 1 to "
                                       f"{MAX_IGP_METRIC:,}", fix="give a positive whole metric "
                                       "(OSPF cost or IS-IS wide metric)", value=raw))
        return None
    return round(value)


def _rows(path: Path) -> tuple[list[str] | None, list[tuple[int, list[str]]]]:
    """(CSV header or None for whitespace lines, [(line number, fields)])."""
    lines = [(i, ln.strip()) for i, ln in enumerate(read_text(path).splitlines(), start=1)]
    lines = [(i, ln) for i, ln in lines if ln and not ln.startswith("#")]
    if not lines:
        raise ImportFormatError(str(path), "no metrics in the file")
    parsed = [(i, next(csv.reader(io.StringIO(ln)))) for i, ln in lines]
    header = [h.strip().lower() for h in parsed[0][1]]
    if not {"link", *_SRC} & set(header):  # router names may hold commas (Rocketfuel's)
        if len(header) > 1 and len(lines[0][1].split()) != 3:
            raise ImportFormatError(str(path), f"columns {header}: give a header link,metric "
                                               "or src,dst,metric", 1)
        return None, [(i, ln.split()) for i, ln in lines]
    return header, [(i, [f.strip() for f in row]) for i, row in parsed[1:]]


def _pair_index(network: Network) -> dict[tuple[str, str], list[tuple[str, bool]]]:
    """(src, dst) -> [(link id, True if src is the link's a-end)]."""
    index: dict[tuple[str, str], list[tuple[str, bool]]] = {}
    for link in network.links.values():
        index.setdefault((link.a, link.b), []).append((link.id, True))
        index.setdefault((link.b, link.a), []).append((link.id, False))
    return index


def apply_metrics_file(network: Network, path: str | Path) -> Network:
    """The network with the IGP metrics of ``path`` (see the module's layouts)."""
    path = Path(path)
    if not path.is_file():
        raise ImportFormatError(str(path), "no such file")
    header, rows = _rows(path)
    name = path.name
    problems: list[Problem] = []
    # (link id, forward?) -> (metric, line)
    given: dict[tuple[str, bool], tuple[int, int]] = {}
    pairs = _pair_index(network)

    def set_arc(link_id: str, forward: bool, metric: int | None, line: int) -> None:
        if metric is not None:
            given[(link_id, forward)] = (metric, line)

    if header is not None and "link" in header:
        col = {h: k for k, h in enumerate(header)}
        if "metric" not in col and not {"metric_ab", "metric_ba"} <= col.keys():
            raise ImportFormatError(name, f"columns {header}: with 'link' give 'metric' or "
                                          "'metric_ab,metric_ba'", 1)
        for line, row in rows:
            if len(row) != len(header):
                problems.append(Problem(f"{name}:{line}", f"{len(row)} fields, the header has "
                                        f"{len(header)}", fix="one value per column",
                                        value=",".join(row)))
                continue
            link_id = row[col["link"]]
            if link_id not in network.links:
                problems.append(Problem(f"{name}:{line}", "no such link in the network",
                                        fix="use the network's link ids (nettwin info "
                                            "--json lists them) or the src,dst,metric layout",
                                        field="link", value=link_id))
                continue
            where = f"{name}:{line} (link {link_id})"
            if "metric" in col:
                m = _metric(row[col["metric"]], where, problems)
                set_arc(link_id, True, m, line)
                set_arc(link_id, False, m, line)
            else:
                set_arc(link_id, True, _metric(row[col["metric_ab"]], where, problems), line)
                set_arc(link_id, False, _metric(row[col["metric_ba"]], where, problems), line)
            if len(problems) >= _MAX_PROBLEMS:
                break
    else:
        if header is not None:
            col = {h: k for k, h in enumerate(header)}
            src = next((col[h] for h in _SRC if h in col), None)
            dst = next((col[h] for h in _DST if h in col), None)
            met = col.get("metric", col.get("weight", col.get("cost")))
            if src is None or dst is None or met is None:
                raise ImportFormatError(name, f"columns {header}: give link,metric or "
                                              "src,dst,metric", 1)
            width = len(header)
        else:
            src, dst, met, width = 0, 1, 2, 3
        for line, row in rows:
            if len(row) != width:
                layout = "one value per column" if header else "'router_a router_b metric'"
                problems.append(Problem(f"{name}:{line}", f"{len(row)} fields, expected "
                                        f"{width}", fix=layout, value=" ".join(row)))
            else:
                a, b = row[src], row[dst]
                found = pairs.get((a, b), [])
                where = f"{name}:{line} ({a} -> {b})"
                if not found:
                    unknown = [n for n in (a, b) if n not in network.nodes]
                    what = (f"no node {unknown[0]!r} in the network" if unknown
                            else "no link between these nodes")
                    problems.append(Problem(where, what, fix="name nodes as the network "
                                            "does, one line per existing link direction",
                                            value=f"{a},{b}"))
                elif len(found) > 1:
                    problems.append(Problem(where, f"{len(found)} parallel links "
                                            f"({', '.join(i for i, _ in found)})",
                                            fix="use the link,metric layout to name each"))
                else:
                    link_id, forward = found[0]
                    set_arc(link_id, forward, _metric(row[met], where, problems), line)
            if len(problems) >= _MAX_PROBLEMS:
                break
    if problems:
        raise ValidationError(problems, source=name)
    return _with_metrics(network, given, name)


def _with_metrics(network: Network, given: dict[tuple[str, bool], tuple[int, int]],
                  name: str) -> Network:
    links = dict(network.links)
    one_way = 0
    for link_id, link in network.links.items():
        ab, ba = given.get((link_id, True)), given.get((link_id, False))
        if ab is None and ba is None:
            continue
        if ab is None or ba is None:
            one_way += 1
        m_ab = (ab or ba)[0]  # type: ignore[index]
        m_ba = (ba or ab)[0]  # type: ignore[index]
        links[link_id] = dataclasses.replace(link, metric_ab=m_ab, metric_ba=m_ba)
    untouched = _untouched(network, given)
    notes = [note(name, f"IGP metrics of {len(links) - untouched} of {len(links)} link(s) "
                        "read from the file")]
    if untouched:
        notes.append(note(name, f"{untouched} link(s) not in the file keep their metric",
                          fix="list every link to route on the file's metrics alone"))
    if one_way:
        notes.append(note(name, f"{one_way} link(s) given in one direction only; the "
                                "reverse direction gets the same metric"))
    return dataclasses.replace(network, links=links, notes=network.notes + tuple(notes))


def _untouched(network: Network, given: dict[tuple[str, bool], tuple[int, int]]) -> int:
    named = {link_id for link_id, _ in given}
    return sum(1 for link_id in network.links if link_id not in named)
