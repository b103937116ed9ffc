"""``nettwin optimize energy``: the JSON agrees with an independent simulation of the
measured traffic; bad input exits 3 with the element and the fix, writing nothing."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from nettwin.cli import app
from nettwin.cli.common import EXIT_BAD_INPUT
from nettwin.engine import compile_network, simulate
from nettwin.io import load_network, load_traffic

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
ABILENE = DATA / "sndlib" / "xml" / "abilene.xml"
SERIES = DATA / "traffic" / "abilene-zhang-5min"

runner = CliRunner()


def test_a_measured_morning_writes_json_and_html(tmp_path: Path) -> None:
    out, html = tmp_path / "out.json", tmp_path / "report.html"
    res = runner.invoke(app, ["optimize", "energy", str(ABILENE), "--traffic-series",
                              str(SERIES / "*20040301-00*.xml"), "--min-dwell", "2",
                              "--json", str(out), "--html", str(html)])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    assert doc["steps"] == 12 and doc["sla_violations"] == 0
    assert doc["energy_saved_fraction"] > 0
    # the saving is the difference of the two printed figures, exactly as decimals (it
    # printed 0.05200000000000002 for 0.195 - 0.143)
    assert doc["kwh_saved"] == float(Decimal(repr(doc["kwh_all_awake"]))
                                     - Decimal(repr(doc["kwh_schedule"])))
    files = sorted(SERIES.glob("*20040301-00*.xml"))
    base = load_network(ABILENE)
    for row, f in zip(doc["intervals"][::5], files[::5], strict=True):
        net = load_traffic(base, f)  # the interval's matrix, read on its own
        compiled = compile_network(net)
        up = [lk not in row["asleep"] for lk in net.links for _ in (0, 1)]
        res_t = simulate(compiled, arc_up=up)
        assert res_t.demand_routed.all()
        assert row["mlu"] == pytest.approx(float(res_t.arc_utilisation[up].max()), rel=1e-9)
    assert "most links asleep" in html.read_text()


def test_missing_series_is_a_clear_error(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    res = runner.invoke(app, ["optimize", "energy", str(ABILENE), "--traffic-series",
                              str(tmp_path / "nowhere"), "--json", str(out)])
    assert res.exit_code == EXIT_BAD_INPUT
    assert "no traffic files found" in res.output and not out.exists()
    res = runner.invoke(app, ["optimize", "energy", str(ABILENE)])
    assert res.exit_code == EXIT_BAD_INPUT and "--traffic-series is required" in res.output


def test_series_naming_an_unknown_node_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "series"
    folder.mkdir()
    for i, extra in enumerate(("", "ATLAng,NOWHERE,1e6\n")):
        (folder / f"tm-{i}.csv").write_text("src,dst,rate_bps\nATLAng,CHINng,1e6\n" + extra)
    out = tmp_path / "out.json"
    res = runner.invoke(app, ["optimize", "energy", str(ABILENE), "--traffic-series",
                              str(folder), "--json", str(out)])
    assert res.exit_code == EXIT_BAD_INPUT, res.output
    assert "NOWHERE" in res.output and not out.exists()


def test_files_after_the_option_as_a_shell_glob_gives_them(tmp_path: Path) -> None:
    files = [str(p) for p in sorted(SERIES.glob("*20040301-000*.xml"))]
    out = tmp_path / "out.json"
    res = runner.invoke(app, ["optimize", "energy", str(ABILENE), "--min-dwell", "1",
                              "--traffic-series", *files, "--json", str(out)])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    assert doc["steps"] == len(files) == 2
    assert [row["label"][-8:-3] for row in doc["intervals"]] == ["00:00", "00:05"]


def test_network_named_after_a_shell_glob_is_not_taken_for_a_series(tmp_path: Path) -> None:
    # the shell's files then the network: typer reads the second file as the network,
    # a demandMatrix with nodes and no links (the file itself shows none)
    files = [str(p) for p in sorted(SERIES.glob("*20040301-00[01]*.xml"))]
    assert len(load_network(files[1]).links) == 0
    out = tmp_path / "out.json"
    res = runner.invoke(app, ["optimize", "energy", "--traffic-series", *files, str(ABILENE),
                              "--json", str(out)])
    assert res.exit_code == EXIT_BAD_INPUT, res.output
    assert "no links" in res.output and "before --traffic-series" in res.output
    assert not out.exists()


def test_sla_keeps_the_services_of_the_network_file(tmp_path: Path) -> None:
    import dataclasses

    from nettwin import run
    from nettwin.examples import abilene
    from nettwin.io import save_network
    from nettwin.model import Service

    # one service, Atlanta -> Indianapolis within 4 ms: only the direct link (3.4 ms) keeps it
    base = abilene()
    service = Service(id="hub", demands=("Atlanta->Indianapolis",), max_delay_s=0.004)
    net = dataclasses.replace(base, services={"hub": service})
    save_network(net, tmp_path / "net.yaml")
    folder = tmp_path / "series"
    folder.mkdir()
    rows = run(net).demands.to_pylist()
    for k, level in enumerate((0.6, 0.5, 0.6)):
        (folder / f"tm-{k}.csv").write_text("src,dst,rate_bps\n" + "".join(
            f"{r['src']},{r['dst']},{r['rate_bps'] * level}\n" for r in rows))
    docs = {}
    for sla in (False, True):
        out = tmp_path / f"out-{sla}.json"
        res = runner.invoke(app, ["optimize", "energy", str(tmp_path / "net.yaml"),
                                  "--traffic-series", str(folder), "--min-dwell", "1",
                                  "--json", str(out), *(["--sla"] if sla else [])])
        assert res.exit_code == 0, res.output
        assert "no services" not in res.output
        docs[sla] = json.loads(out.read_text())
    files = sorted(folder.iterdir())

    def delay(row: dict[str, Any], f: Path) -> float:  # the engine's own replay
        result = run(load_traffic(net, f), fail_links=list(row["asleep"]))
        return float(next(d["delay_worst_s"] for d in result.demands.to_pylist()
                          if d["id"] == "Atlanta->Indianapolis"))

    # without --sla the schedule breaks it (so the test can fail); with it, never
    assert any(delay(row, f) > 0.004 for row, f in zip(docs[False]["intervals"], files,
                                                       strict=True))
    assert all(delay(row, f) <= 0.004 for row, f in zip(docs[True]["intervals"], files,
                                                        strict=True))
    assert docs[True]["sla_violations"] == 0 and docs[True]["energy_saved_fraction"] > 0


def test_an_empty_matrix_in_the_series_is_told(tmp_path: Path) -> None:
    folder = tmp_path / "series"
    folder.mkdir()
    for i, body in enumerate(("ATLAng,CHINng,1e6\n", "", "ATLAng,CHINng,2e6\n")):
        (folder / f"tm-{i}.csv").write_text("src,dst,rate_bps\n" + body)
    res = runner.invoke(app, ["optimize", "energy", str(ABILENE), "--traffic-series",
                              str(folder), "--min-dwell", "1", "--json", "-"])
    assert res.exit_code == 0, res.output
    assert "1 interval(s) carry no traffic" in res.output and "tm-1" in res.output
