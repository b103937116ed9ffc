"""--metrics: the network's real IGP metrics over a topology whose format carries none.

Oracles: REPETITA's own weights (stripped, then read back from a weights.intra-style file),
networkx ECMP loads on the network carrying the file's metrics, and the same command run on
a native file that carries them.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nettwin import compile_network, simulate
from nettwin.cli import app
from nettwin.errors import ImportFormatError, ValidationError
from nettwin.io import load_network
from nettwin.io.metrics import apply_metrics_file
from nettwin.io.rocketfuel import import_rocketfuel
from nettwin.model.gravity import gravity_demands
from nettwin.reference import reference_ecmp
from tests.conftest import data_path

runner = CliRunner()
ABILENE = data_path("sndlib", "xml", "abilene.xml")


def _strip(net):  # type: ignore[no-untyped-def]
    links = {k: dataclasses.replace(lk, metric_ab=1, metric_ba=1) for k, lk in net.links.items()}
    return dataclasses.replace(net, links=links)


def test_rocketfuel_weights_intra_read_onto_the_stripped_topology() -> None:
    # the real Rocketfuel weights file, read as a metrics file over the same routers with
    # hop-count metrics, gives back the importer's metrics and networkx's routing on them
    path = data_path("rocketfuel", "1755", "weights.intra")
    real = import_rocketfuel(path)
    real = real.with_demands(gravity_demands(np.linspace(1, 3, len(real.nodes)), 1e11))
    stripped = _strip(real)
    hops, weights = compile_network(stripped), compile_network(real)
    assert hops.arc_metric.tolist() != weights.arc_metric.tolist()
    back = apply_metrics_file(stripped, path)
    assert {k: (lk.metric_ab, lk.metric_ba) for k, lk in back.links.items()} == {
        k: (lk.metric_ab, lk.metric_ba) for k, lk in real.links.items()}
    ref = reference_ecmp(real).arc_load_bps
    got = simulate(compile_network(back)).arc_load_bps
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-6)
    assert not np.allclose(simulate(compile_network(stripped)).arc_load_bps, ref)
    assert any("read from the file" in p.message for p in back.notes)


def test_link_and_pair_layouts_and_one_direction(tmp_path: Path) -> None:
    net = load_network(ABILENE)
    ids = list(net.links)
    by_link = tmp_path / "m.csv"
    by_link.write_text("link,metric_ab,metric_ba\n" + f"{ids[0]},7,9\n" + f"{ids[1]},3,3\n")
    out = apply_metrics_file(net, by_link)
    assert (out.links[ids[0]].metric_ab, out.links[ids[0]].metric_ba) == (7, 9)
    assert out.links[ids[2]] == net.links[ids[2]]  # not named: unchanged, and said so
    assert any(f"{len(ids) - 2} link(s) not in the file" in p.message for p in out.notes)
    lk = net.links[ids[0]]
    pair = tmp_path / "p.csv"
    pair.write_text(f"src,dst,metric\n{lk.b},{lk.a},12\n")  # the b->a direction only
    out = apply_metrics_file(net, pair)
    assert (out.links[ids[0]].metric_ab, out.links[ids[0]].metric_ba) == (12, 12)
    assert any("one direction only" in p.message for p in out.notes)


def test_every_bad_row_named_and_nothing_applied(tmp_path: Path) -> None:
    net = load_network(ABILENE)
    lk = next(iter(net.links.values()))
    path = tmp_path / "bad.csv"
    path.write_text("src,dst,metric\n"
                    f"{lk.a},{lk.b},0\n"           # line 2: metric out of range
                    f"{lk.a},NOPE,5\n"             # line 3: unknown node
                    f"{lk.a},{lk.a},5\n"           # line 4: no such link
                    f"{lk.a},{lk.b},abc\n"         # line 5: not a number
                    f"{lk.a},{lk.b}\n"             # line 6: missing field
                    f"{lk.b},{lk.a},4\n")          # line 7: fine
    with pytest.raises(ValidationError) as info:
        apply_metrics_file(net, path)
    text = str(info.value)
    for line in (2, 3, 4, 5, 6):
        assert f"bad.csv:{line}" in text
    assert "bad.csv:7" not in text
    assert "'NOPE'" in text and "Fix:" in text
    with pytest.raises(ImportFormatError, match="link,metric or src,dst,metric"):
        (tmp_path / "cols.csv").write_text("x,y,z\n1,2,3\n")
        apply_metrics_file(net, tmp_path / "cols.csv")
    with pytest.raises(ImportFormatError, match="no metrics"):
        (tmp_path / "empty.csv").write_text("# nothing\n")
        apply_metrics_file(net, tmp_path / "empty.csv")


def test_cli_metrics_equal_a_native_file_carrying_them(tmp_path: Path) -> None:
    net = load_network(ABILENE)
    rng = np.random.default_rng(3)
    metrics = {k: (int(rng.integers(1, 50)), int(rng.integers(1, 50))) for k in net.links}
    path = tmp_path / "igp.csv"
    path.write_text("link,metric_ab,metric_ba\n"
                    + "".join(f"{k},{ab},{ba}\n" for k, (ab, ba) in metrics.items()))
    res = runner.invoke(app, ["simulate", str(ABILENE), "--metrics", str(path),
                              "--json", str(tmp_path / "a.json")])
    assert res.exit_code == 0, res.output
    arcs = json.loads((tmp_path / "a.json").read_text())["arcs"]
    with_real = dataclasses.replace(net, links={
        k: dataclasses.replace(lk, metric_ab=metrics[k][0], metric_ba=metrics[k][1])
        for k, lk in net.links.items()})
    ref = reference_ecmp(with_real).arc_load_bps
    np.testing.assert_allclose([a["load_bps"] for a in arcs], ref, rtol=1e-9, atol=1e-3)
    plain = reference_ecmp(net).arc_load_bps
    assert not np.allclose(plain, ref)  # the metrics changed the routing
    # estimate-tm --validate on the same metrics equals the run on a file that carries them
    native = tmp_path / "abilene.json"
    assert runner.invoke(app, ["convert", str(ABILENE), str(native), "--metrics",
                               str(path)]).exit_code == 0
    tm = str(data_path("traffic", "abilene-zhang-5min",
                       "demandMatrix-abilene-zhang-5min-20040301-0000.xml"))
    one = runner.invoke(app, ["estimate-tm", str(ABILENE), "--metrics", str(path),
                              "--validate", tm, "--json", str(tmp_path / "x.json")])
    two = runner.invoke(app, ["estimate-tm", str(native), "--validate", tm,
                              "--json", str(tmp_path / "y.json")])
    assert one.exit_code == 0 and two.exit_code == 0, one.output + two.output
    x = json.loads((tmp_path / "x.json").read_text())
    y = json.loads((tmp_path / "y.json").read_text())
    for row in x + y:
        row.pop("seconds")
    assert x == y and x
    res = runner.invoke(app, ["simulate", str(ABILENE), "--metrics", str(tmp_path / "no.csv")])
    assert res.exit_code != 0 and "no such file" in res.output


def _metrics_of(net):  # type: ignore[no-untyped-def]
    return {k: (lk.metric_ab, lk.metric_ba) for k, lk in net.links.items()}


def test_spreadsheet_csv_with_bom_and_crlf_reads_as_plain_csv(tmp_path: Path) -> None:
    # Excel's "CSV UTF-8" starts with a byte order mark and ends lines with CRLF: the same
    # metrics as the plain file (oracle), not a refused header
    net = load_network(ABILENE)
    ids = list(net.links)
    body = "link,metric\n" + "".join(f"{k},{i + 3}\n" for i, k in enumerate(ids))
    plain, excel = tmp_path / "plain.csv", tmp_path / "excel.csv"
    plain.write_text(body)
    excel.write_bytes(b"\xef\xbb\xbf" + body.replace("\n", "\r\n").encode())
    assert _metrics_of(apply_metrics_file(net, excel)) == _metrics_of(
        apply_metrics_file(net, plain))
    quoted = tmp_path / "quoted.csv"
    quoted.write_text('"link","metric"\n' + "".join(f'"{k}","{i + 3}"\n'
                                                    for i, k in enumerate(ids)))
    assert _metrics_of(apply_metrics_file(net, quoted)) == _metrics_of(
        apply_metrics_file(net, plain))


def test_a_link_or_direction_given_twice_is_refused_naming_both_lines(tmp_path: Path) -> None:
    net = load_network(ABILENE)
    lk = next(iter(net.links.values()))
    dup = tmp_path / "dup.csv"
    dup.write_text(f"link,metric\n{lk.id},5\n{lk.id},7\n")
    with pytest.raises(ValidationError, match=r"dup.csv:3.*given twice \(line 2"):
        apply_metrics_file(net, dup)
    pair = tmp_path / "pair.csv"
    pair.write_text(f"src,dst,metric\n{lk.a},{lk.b},5\n{lk.b},{lk.a},6\n{lk.a},{lk.b},9\n")
    with pytest.raises(ValidationError, match=r"pair.csv:4.*given twice \(line 2 gives 5\)"):
        apply_metrics_file(net, pair)


def test_header_only_and_directory_are_refused(tmp_path: Path) -> None:
    net = load_network(ABILENE)
    (tmp_path / "h.csv").write_text("link,metric\n")
    with pytest.raises(ImportFormatError, match="only its header"):
        apply_metrics_file(net, tmp_path / "h.csv")
    with pytest.raises(ImportFormatError, match="a directory, not a metrics file"):
        apply_metrics_file(net, tmp_path)
    res = runner.invoke(app, ["info", str(ABILENE), "--metrics", str(tmp_path / "h.csv")])
    assert res.exit_code == 3 and "only its header" in res.output


def test_fractional_metrics_rounded_as_the_rocketfuel_importer_and_said(tmp_path: Path) -> None:
    # Rocketfuel's 1239 weights hold halves (2.5, 6.5): the file read as --metrics over the
    # importer's topology gives the importer's own metrics (oracle), and a note says so
    path = data_path("rocketfuel", "1239", "weights.intra")
    real = import_rocketfuel(path)
    back = apply_metrics_file(_strip(real), path)
    assert _metrics_of(back) == _metrics_of(real)
    assert any("fractional" in p.message and "2.5 -> 2" in p.message for p in back.notes)


def test_hostile_rows_stop_at_50_problems_without_a_traceback(tmp_path: Path) -> None:
    net = load_network(ABILENE)
    many = tmp_path / "many.csv"
    many.write_text("link,metric\n" + "".join(f"X{i},5\n" for i in range(200_000)))
    with pytest.raises(ValidationError) as info:
        apply_metrics_file(net, many)
    assert len(info.value.problems) == 50 and "many.csv:51" in str(info.value)
    long_field = tmp_path / "long.csv"
    long_field.write_text('link,metric\n"' + "A" * 200_000 + '",5\n')
    res = runner.invoke(app, ["info", str(ABILENE), "--metrics", str(long_field)])
    assert res.exit_code == 3 and "long.csv:2" in res.output, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert len(res.output) < 2_000  # the value is quoted short


def test_unknown_link_suggests_the_near_id(tmp_path: Path) -> None:
    net = load_network(ABILENE)
    lk = next(iter(net.links))
    bad = tmp_path / "typo.csv"
    bad.write_text(f"link,metric\n{lk.lower()},5\n")
    with pytest.raises(ValidationError, match=f"did you mean {lk!r}"):
        apply_metrics_file(net, bad)


def test_traffic_given_a_directory_says_so_like_metrics(tmp_path: Path) -> None:
    # the same convention for --traffic as --metrics: a folder is named as one, exit 3
    res = runner.invoke(app, ["info", str(ABILENE), "--traffic", str(tmp_path)])
    assert res.exit_code == 3 and "a directory, not a traffic file" in res.output, res.output


def test_policy_note_withdrawn_only_when_every_metric_is_replaced(tmp_path: Path) -> None:
    # SNDlib carries no metrics: the import says which policy it applied; once a file gives
    # every link's real metric that note is no longer true, while a partial file keeps it
    net = load_network(ABILENE)

    def policy_notes(n):  # type: ignore[no-untyped-def]
        return [p for p in n.notes if "carries no IGP metrics" in p.message]

    assert len(policy_notes(net)) == 1 and "--metrics" in str(policy_notes(net)[0])
    ids = list(net.links)
    full = tmp_path / "full.csv"
    full.write_text("link,metric\n" + "".join(f"{k},5\n" for k in ids))
    assert policy_notes(apply_metrics_file(net, full)) == []
    part = tmp_path / "part.csv"
    part.write_text("link,metric\n" + "".join(f"{k},5\n" for k in ids[:-1]))
    assert len(policy_notes(apply_metrics_file(net, part))) == 1
