"""ingest / state / estimate-tm from the command line, against the library's own answers."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from nettwin import compile_network, simulate
from nettwin.cli import app
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.live.simulated import counter_records

runner = CliRunner()
NET = load_network(example_path())
T0 = 1.7e9


def _observations(path: Path) -> np.ndarray:
    rate = simulate(compile_network(NET)).arc_load_bps
    with path.open("w") as fh:
        for k, recs in enumerate(counter_records(NET, rate, start=T0, interval_s=60, steps=6)):
            # counters without oper status: the link state comes from the event alone
            fh.writelines(json.dumps({k: v for k, v in r.items() if k != "oper_status"})
                          + "\n" for r in recs)
            if k == 3:
                fh.write(json.dumps({"kind": "event", "time": T0 + 200,
                                     "object": "Denver--Kansas-City",
                                     "event": "link_down"}) + "\n")
        fh.write("not json\n")
    return rate


def test_ingest_then_state_diff_and_estimate(tmp_path: Path) -> None:
    obs = tmp_path / "obs.jsonl"
    rate = _observations(obs)
    store = f"sqlite:///{tmp_path / 'twin.db'}"
    res = runner.invoke(app, ["ingest", str(obs), "--store", store])
    assert res.exit_code == 0, res.output
    assert "1 dead letters" in res.output and "Denver--Kansas-City" in res.output

    snap = tmp_path / "state.json"
    res = runner.invoke(app, ["state", "--store", store, "--at", str(T0 + 150),
                              "--json", str(snap)])
    assert res.exit_code == 0, res.output
    doc = json.loads(snap.read_text())
    assert doc["links_down"] == []
    measured = np.array([a["rate_bps"] for a in doc["arcs"]], dtype=float)
    np.testing.assert_allclose(measured, rate, rtol=1e-9)

    diff = tmp_path / "diff.json"
    res = runner.invoke(app, ["state", "--store", store, "--at", str(T0 + 150),
                              "--diff", str(T0 + 300), "--json", str(diff)])
    assert res.exit_code == 0, res.output
    assert json.loads(diff.read_text())["links"] == {
        "Denver--Kansas-City": {"before": True, "after": False}}

    out_csv = tmp_path / "tm.csv"
    res = runner.invoke(app, ["estimate-tm", "--store", store, "--at", str(T0 + 150),
                              "--csv", str(out_csv)])
    assert res.exit_code == 0, res.output
    with out_csv.open() as fh:
        total = sum(float(r["rate_bps"]) for r in csv.DictReader(fh))
    # the estimate carries the measured traffic (the counters determine the total carried)
    assert abs(total - NET.demands.total_rate_bps) / NET.demands.total_rate_bps < 0.25


def test_state_without_history_says_so(tmp_path: Path) -> None:
    res = runner.invoke(app, ["state", "--store", f"sqlite:///{tmp_path / 'empty.db'}"])
    assert res.exit_code == 3 and "ingest first" in res.output


def test_bad_time_is_a_clear_error(tmp_path: Path) -> None:
    obs = tmp_path / "obs.jsonl"
    _observations(obs)
    store = f"sqlite:///{tmp_path / 'twin.db'}"
    runner.invoke(app, ["ingest", str(obs), "--store", store])
    res = runner.invoke(app, ["state", "--store", store, "--at", "yesterday"])
    assert res.exit_code == 2 and "ISO 8601" in res.output
