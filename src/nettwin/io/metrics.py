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
does not name keep their metric (a note says how many); fractional metrics (Rocketfuel's
``2.5``) are rounded as the Rocketfuel importer rounds them (a note lists them). Every bad
row is reported with its line, value and fix (at most 50, the file is read no further), a
direction given twice is refused (naming both lines), and none of the file is applied then.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import itertools
from collections.abc import Iterator
from pathlib import Path

from nettwin.errors import ImportFormatError, ValidationError
from nettwin.io.options import POLICY_METRIC_FIELD
from nettwin.io.text import read_text
from nettwin.model import Network
from nettwin.model.fields import MAX_IGP_METRIC
from nettwin.model.problems import Problem, Severity, note

_SRC = ("src", "a", "from", "source")
_DST = ("dst", "b", "to", "target")
_MAX_PROBLEMS = 50


def _shown(raw: str) -> str:
    """A value as a problem quotes it: at most 80 characters (a hostile row stays short)."""
    return raw if len(raw) <= 80 else f"{raw[:77]}..."


def _metric(raw: str, where: str, problems: list[Problem]) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 1 <= value <= MAX_IGP_METRIC:  # NaN compares false
        problems.append(Problem(where, f"IGP metric must be a number from 1 to "
                                       f"{MAX_IGP_METRIC:,}", fix="give a positive whole metric "
                                       "(OSPF cost or IS-IS wide metric)", value=_shown(raw)))
        return None
    return value


def _near(name: str, known: list[str]) -> str:
    """'did you mean X? ' for a name that differs from a known one in case or a few
    characters, else ''."""
    folded = {k.casefold(): k for k in known}
    close = ([folded[name.casefold()]] if name.casefold() in folded
             else difflib.get_close_matches(name, known, n=1))
    return f"did you mean {close[0]!r}? " if close else ""


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, stripped line) of the lines that are neither blank nor comments."""
    for i, ln in enumerate(text.splitlines(), start=1):
        ln = ln.strip()
        if ln and not ln.startswith("#"):
            yield i, ln


def _csv_fields(line: str) -> list[str] | None:
    """One CSV line's fields, None when the csv module refuses it (a field beyond its size
    limit, a NUL)."""
    try:
        return [f.strip() for f in next(csv.reader([line]), [])]
    except csv.Error:
        return None


def _rows(path: Path, name: str, problems: list[Problem]
          ) -> tuple[list[str] | None, Iterator[tuple[int, list[str]]]]:
    """(CSV header or None for whitespace lines, lazily the rows as (line number, fields));
    a CSV line the csv module refuses is a problem, not a row."""
    lines = _lines(read_text(path))
    first = next(lines, None)
    if first is None:
        raise ImportFormatError(str(path), "no metrics in the file; give a header link,metric "
                                           "or src,dst,metric and one row per link, or "
                                           "'router_a router_b metric' lines")
    head = _csv_fields(first[1]) or []
    header = [h.lower() for h in head]
    if not {"link", *_SRC} & set(header):  # router names may hold commas (Rocketfuel's)
        if len(header) > 1 and len(first[1].split()) != 3:
            raise ImportFormatError(str(path), f"columns {[_shown(h) for h in header]}: give a "
                                               "header link,metric or src,dst,metric", first[0])
        return None, ((i, ln.split()) for i, ln in itertools.chain([first], lines))

    def csv_rows() -> Iterator[tuple[int, list[str]]]:
        for i, ln in lines:
            if len(problems) >= _MAX_PROBLEMS:
                return
            fields = _csv_fields(ln)
            if fields is None:
                problems.append(Problem(f"{name}:{i}", "not a readable CSV row (a field "
                                        f"longer than {csv.field_size_limit():,} characters, "
                                        "or a NUL)", fix="one short value per column",
                                        value=_shown(ln)))
                continue
            yield i, fields

    return header, csv_rows()


def _pair_index(network: Network) -> dict[tuple[str, str], list[tuple[str, bool]]]:
    """(src, dst) -> [(link id, True if src is the link's a-end)]."""
    index: dict[tuple[str, str], list[tuple[str, bool]]] = {}
    for link in network.links.values():
        index.setdefault((link.a, link.b), []).append((link.id, True))
        index.setdefault((link.b, link.a), []).append((link.id, False))
    return index


def check_metrics_path(path: str | Path) -> None:
    """Refuse at once a metrics path that is no file (before a large network is loaded)."""
    path = Path(path)
    if path.is_dir():
        raise ImportFormatError(str(path), "a directory, not a metrics file: give the file "
                                           "(CSV link,metric or src,dst,metric, or "
                                           "Rocketfuel's weights.intra)")
    if not path.is_file():
        raise ImportFormatError(str(path), "no such file")


def apply_metrics_file(network: Network, path: str | Path) -> Network:
    """The network with the IGP metrics of ``path`` (see the module's layouts)."""
    path = Path(path)
    check_metrics_path(path)
    read = _Read(network, path.name)
    header, rows = _rows(path, read.name, read.problems)
    if header is not None and "link" in header:
        read.link_rows(header, rows)
    else:
        read.pair_rows(header, rows)
    if read.problems:
        raise ValidationError(read.problems[:_MAX_PROBLEMS], source=read.name)
    if not read.given:
        raise ImportFormatError(str(path), "no metrics in the file, only its header: give "
                                           "one row per link (or per direction)")
    return _with_metrics(network, read.given, read.name)


class _Read:
    """The metrics read so far, (link id, forward?) -> (metric as given, line), and every
    problem met."""

    def __init__(self, network: Network, name: str) -> None:
        self.network, self.name = network, name
        self.given: dict[tuple[str, bool], tuple[float, int]] = {}
        self.problems: list[Problem] = []

    def set_arc(self, link_id: str, forward: bool, metric: float | None, line: int,
                where: str) -> None:
        if metric is None:
            return
        before = self.given.get((link_id, forward))
        if before is not None:
            link = self.network.links[link_id]
            src, dst = (link.a, link.b) if forward else (link.b, link.a)
            self.problems.append(Problem(where, f"the metric of {src} -> {dst} is given twice "
                                         f"(line {before[1]} gives {before[0]:g})",
                                         fix="keep one row per link (or per direction)",
                                         value=f"{metric:g}"))
            return
        self.given[(link_id, forward)] = (metric, line)

    def link_rows(self, header: list[str], rows: Iterator[tuple[int, list[str]]]) -> None:
        """``link,metric`` or ``link,metric_ab,metric_ba`` rows."""
        name, links, problems = self.name, self.network.links, self.problems
        col = {h: k for k, h in enumerate(header)}
        if "metric" not in col and not {"metric_ab", "metric_ba"} <= col.keys():
            raise ImportFormatError(name, f"columns {header}: with 'link' give 'metric' or "
                                          "'metric_ab,metric_ba'", 1)
        for line, row in rows:
            if len(row) != len(header):
                problems.append(Problem(f"{name}:{line}", f"{len(row)} fields, the header has "
                                        f"{len(header)}", fix="one value per column",
                                        value=_shown(",".join(row))))
                continue
            link_id = row[col["link"]]
            where = f"{name}:{line} (link {link_id})"
            before = self.given.get((link_id, True)) or self.given.get((link_id, False))
            if link_id not in links:
                hint = _near(link_id, list(links))
                problems.append(Problem(f"{name}:{line}", "no such link in the network",
                                        fix=f"{hint}use the network's link ids (`nettwin "
                                            "convert FILE net.yaml` lists them under links) "
                                            "or the src,dst,metric layout",
                                        field="link", value=_shown(link_id)))
            elif before is not None:
                problems.append(Problem(where, f"the link is given twice (line "
                                        f"{before[1]} gives it already)",
                                        fix="keep one row per link"))
            elif "metric" in col:
                m = _metric(row[col["metric"]], where, problems)
                self.set_arc(link_id, True, m, line, where)
                self.set_arc(link_id, False, m, line, where)
            else:
                for forward, key in ((True, "metric_ab"), (False, "metric_ba")):
                    self.set_arc(link_id, forward, _metric(row[col[key]], where, problems),
                                 line, where)
            if len(problems) >= _MAX_PROBLEMS:
                return

    def pair_rows(self, header: list[str] | None,
                  rows: Iterator[tuple[int, list[str]]]) -> None:
        """``src,dst,metric`` rows, or whitespace ``router_a router_b metric`` lines."""
        name, network, problems = self.name, self.network, self.problems
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
        pairs = _pair_index(network)
        for line, row in rows:
            if len(row) != width:
                layout = ("one value per column" if header else
                          "'router_a router_b metric' (names with spaces: use the CSV "
                          "layout src,dst,metric)")
                problems.append(Problem(f"{name}:{line}", f"{len(row)} fields, expected "
                                        f"{width}", fix=layout, value=_shown(" ".join(row))))
                continue
            a, b = row[src], row[dst]
            found = pairs.get((a, b), [])
            where = f"{name}:{line} ({_shown(a)} -> {_shown(b)})"
            if not found:
                unknown = [n for n in (a, b) if n not in network.nodes]
                what = (f"no node {_shown(unknown[0])!r} in the network" if unknown
                        else "no link between these nodes")
                problems.append(Problem(where, what, fix="name nodes as the network "
                                        "does, one line per existing link direction",
                                        value=_shown(f"{a},{b}")))
            elif len(found) > 1:
                problems.append(Problem(where, f"{len(found)} parallel links "
                                        f"({', '.join(i for i, _ in found)})",
                                        fix="use the link,metric layout to name each"))
            else:
                link_id, forward = found[0]
                self.set_arc(link_id, forward, _metric(row[met], where, problems), line, where)
            if len(problems) >= _MAX_PROBLEMS:
                return


def _with_metrics(network: Network, given: dict[tuple[str, bool], tuple[float, int]],
                  name: str) -> Network:
    links = dict(network.links)
    one_way = 0
    for link_id, link in network.links.items():
        ab, ba = given.get((link_id, True)), given.get((link_id, False))
        if ab is None and ba is None:
            continue
        if ab is None or ba is None:
            one_way += 1
        # rounded as the Rocketfuel importer rounds its weights (half to even)
        m_ab = round((ab or ba)[0])  # type: ignore[index]
        m_ba = round((ba or ab)[0])  # type: ignore[index]
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
    fractional = sorted({m for m, _ in given.values() if m != round(m)})
    if fractional:
        shown = ", ".join(f"{m:g} -> {round(m)}" for m in fractional[:3])
        notes.append(note(name, f"{len(fractional)} fractional metric value(s) rounded to "
                                f"whole IGP metrics as the Rocketfuel importer does ({shown}"
                                f"{', ...' if len(fractional) > 3 else ''})",
                          fix="give whole metrics, scaled if ties matter"))
    earlier = network.notes
    if not untouched:  # every metric replaced: the importer's policy note no longer holds
        earlier = tuple(n for n in earlier if not (
            n.severity is Severity.NOTE and n.field == POLICY_METRIC_FIELD))
    return dataclasses.replace(network, links=links, notes=earlier + tuple(notes))


def _untouched(network: Network, given: dict[tuple[str, bool], tuple[float, int]]
               ) -> int:
    named = {link_id for link_id, _ in given}
    return sum(1 for link_id in network.links if link_id not in named)
