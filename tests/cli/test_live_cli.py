"""ingest / state / estimate-tm from the command line, against the library's own answers."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nettwin import compile_network, simulate
from nettwin.cli import app
from nettwin.estimate import estimate_tm, routing_matrix
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.live.simulated import counter_records
from tests.conftest import february_days, write_dated_matrix

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
        rows = list(csv.DictReader(fh))
    # the library's tomogravity estimate on the same counters (all links up at T0 + 150)
    c = compile_network(NET)
    rm = routing_matrix(c)
    est = estimate_tm(rm, rate, c.arc_src, c.arc_dst, c.n_nodes)
    ids = NET.node_ids
    got = {(r["src"], r["dst"]): float(r["rate_bps"]) for r in rows}
    want = {(ids[s], ids[d]): float(x)
            for s, d, x in zip(est.src, est.dst, est.rate_bps, strict=True) if x > 0}
    assert got.keys() == want.keys()
    for pair, x in want.items():
        assert got[pair] == pytest.approx(x, rel=1e-9), pair
    # and the estimate reproduces the measured loads through the ECMP routing matrix
    # (tomogravity trades a residual of mu^2-order against the prior: 1e-3 of the peak)
    x = np.array([got.get((ids[s], ids[d]), 0.0) for s, d in zip(rm.src, rm.dst, strict=True)])
    assert np.abs(rm.a @ x - measured).max() <= 1e-3 * measured.max()

def test_state_without_history_says_so(tmp_path: Path) -> None:
    res = runner.invoke(app, ["state", "--store", f"sqlite:///{tmp_path / 'empty.db'}"])
    assert res.exit_code == 3 and "`nettwin ingest OBSERVATIONS.jsonl`" in res.output


def test_bad_time_is_a_clear_error(tmp_path: Path) -> None:
    obs = tmp_path / "obs.jsonl"
    _observations(obs)
    store = f"sqlite:///{tmp_path / 'twin.db'}"
    runner.invoke(app, ["ingest", str(obs), "--store", store])
    res = runner.invoke(app, ["state", "--store", store, "--at", "yesterday"])
    assert res.exit_code == 2 and "ISO 8601" in res.output


def test_estimate_tm_says_it_uses_the_prior_kept_by_ingest(tmp_path: Path) -> None:
    # ingest --prior-from keeps the matrices; a later estimate-tm without --prior-from uses
    # the prior learned from them (oracle: a twin given the same files), labels its column
    # so and says where the prior came from
    from nettwin.io.tm_history import load_tm_history
    from nettwin.live import LiveTwin
    from tests.conftest import data_path

    abilene = data_path("sndlib", "xml", "abilene.xml")
    net = load_network(abilene)
    files = sorted(data_path("traffic", "abilene-zhang-5min").glob("*20040301-*.xml"))[::12]
    oracle = LiveTwin(net, None, drift_every_s=None)
    oracle.use_history(load_tm_history(files, list(net.node_ids), oracle.routing()))
    truth = load_tm_history(files[-1:], list(net.node_ids), oracle.routing()).rate_bps[0]
    rate = oracle.routing().a @ truth
    obs = tmp_path / "obs.jsonl"
    with obs.open("w") as fh:
        for recs in counter_records(net, rate, start=T0, interval_s=60, steps=3):
            fh.writelines(json.dumps(r) + "\n" for r in recs)
    store = f"sqlite:///{tmp_path / 'twin.db'}"
    glob = str(data_path("traffic", "abilene-zhang-5min")) + "/*20040301-*00.xml"
    res = runner.invoke(app, ["ingest", str(obs), str(abilene), "--store", store,
                              "--prior-from", glob, "--drift-every", "0"])
    assert res.exit_code == 0, res.output
    out_csv = tmp_path / "tm.csv"
    out_json = tmp_path / "tm.json"
    res = runner.invoke(app, ["estimate-tm", str(abilene), "--store", store,
                              "--csv", str(out_csv), "--json", str(out_json)])
    assert res.exit_code == 0, res.output
    assert "history prior" in res.output and "gravity prior" not in res.output
    assert f"{len(files)} measured matrices kept in the store" in res.output
    assert files[0].name in res.output and files[-1].name in res.output
    # the JSON says the same: where the prior came from and from which matrices
    doc = json.loads(out_json.read_text())
    assert doc["prior"] == "history" and doc["prior_source"] == "store"
    assert doc["prior_matrices"] == len(files)
    assert doc["prior_labels"] == list(oracle.prior_labels)
    with out_csv.open() as fh:
        got = {(r["src"], r["dst"]): float(r["rate_bps"]) for r in csv.DictReader(fh)}
    assert {(r["src"], r["dst"]): r["rate_bps"] for r in doc["pairs"]} == got
    est = oracle.estimate_tm(arc_rate_bps=rate, at=T0 + 120)
    ids = net.node_ids
    want = {(ids[s], ids[d]): float(x)
            for s, d, x in zip(est.src, est.dst, est.rate_bps, strict=True) if x > 0}
    assert got.keys() == want.keys()
    for pair, x in want.items():
        assert got[pair] == pytest.approx(x, rel=1e-6), pair
    res = runner.invoke(app, ["ingest", str(obs), str(abilene), "--store", store,
                              "--drift-every", "0"])
    assert res.exit_code == 0 and "kept in the store" in res.output, res.output


def test_estimate_tm_forget_prior_goes_back_to_tomogravity_for_good(tmp_path: Path) -> None:
    # the CLI twin of DELETE .../traffic-history: after --forget-prior the estimate is
    # tomogravity's (oracle: the library's estimate_tm on the same counters), now and later
    from tests.conftest import data_path

    obs = tmp_path / "obs.jsonl"
    rate = _observations(obs)
    store = f"sqlite:///{tmp_path / 'twin.db'}"
    abilene_tm = data_path("traffic", "abilene-zhang-5min")
    # the example's node names differ from SNDlib's: a history on its own pairs instead
    c = compile_network(NET)
    rm = routing_matrix(c)
    ids = NET.node_ids
    hist = tmp_path / "hist"
    hist.mkdir()
    rng = np.random.default_rng(1)
    for k in range(4):
        (hist / f"m{k}.csv").write_text("src,dst,rate_bps\n" + "".join(
            f"{ids[s]},{ids[d]},{r}\n" for s, d, r in zip(
                rm.src, rm.dst, rng.uniform(1e6, 1e9, rm.src.size), strict=True)))
    assert abilene_tm.is_dir()
    res = runner.invoke(app, ["ingest", str(obs), "--store", store, "--prior-from",
                              str(hist), "--drift-every", "0"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["estimate-tm", "--store", store, "--at", str(T0 + 150)])
    assert res.exit_code == 0 and "history prior" in res.output, res.output
    for args in (["--forget-prior"], []):
        out_csv = tmp_path / "tm.csv"
        out_json = tmp_path / "tm.json"
        res = runner.invoke(app, ["estimate-tm", "--store", store, "--at", str(T0 + 150),
                                  "--csv", str(out_csv), "--json", str(out_json), *args])
        assert res.exit_code == 0 and "gravity prior" in res.output, res.output
        doc = json.loads(out_json.read_text())
        assert (doc["prior"], doc["prior_source"], doc["prior_matrices"]) == ("gravity", None, 0)
        with out_csv.open() as fh:
            got = {(r["src"], r["dst"]): float(r["rate_bps"]) for r in csv.DictReader(fh)}
        est = estimate_tm(rm, rate, c.arc_src, c.arc_dst, c.n_nodes)
        want = {(ids[s], ids[d]): float(x)
                for s, d, x in zip(est.src, est.dst, est.rate_bps, strict=True) if x > 0}
        assert got.keys() == want.keys()
        for pair, x in want.items():
            assert got[pair] == pytest.approx(x, rel=1e-9), pair


def test_synth_help_replays_with_a_working_ingest_command(tmp_path: Path) -> None:
    # the replay command synth's help gives must be one ingest accepts (oracle: ingest
    # itself mirrors the synthesised counters with no dead letters)
    import re
    import shlex

    from nettwin.cli.synth import synth_cmd

    doc = " ".join((synth_cmd.__doc__ or "").split())
    cmd = re.search(r"`nettwin (ingest [^`]+)`", doc)
    assert cmd is not None, doc
    out = tmp_path / "syn"
    res = runner.invoke(app, ["synth", str(example_path()), "-o", str(out), "--episodes", "1",
                              "--scenarios", "none", "--steps", "6", "--no-noise"])
    assert res.exit_code == 0, res.output
    args = [a.replace("observations.jsonl", str(out / "observations.jsonl"))
             .replace("NET", str(example_path())) for a in shlex.split(cmd.group(1))]
    res = runner.invoke(app, [*args, "--store", f"sqlite:///{tmp_path / 'twin.db'}"])
    assert res.exit_code == 0 and "0 dead letters" in res.output, (args, res.output)


def _changed_network(tmp_path: Path) -> tuple[Path, object]:
    """The example with one more link between two of its routers: other ports (another
    store key), the same node pairs."""
    import dataclasses

    from nettwin.io import NetworkFormat, save_network

    first = next(iter(NET.links.values()))
    extra = dataclasses.replace(first, id="Second--Link")
    changed = dataclasses.replace(NET, links={**NET.links, extra.id: extra})
    path = tmp_path / "changed.json"
    save_network(changed, path, NetworkFormat.NATIVE)
    return path, load_network(path)


def _history_rows(db: Path) -> dict[str, int]:
    import sqlite3

    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT network, matrices FROM traffic_history").fetchall())


def test_a_changed_topology_hints_at_the_kept_history_and_carries_it_over(
        tmp_path: Path) -> None:
    # history kept under the old version's key; the changed network says it exists, carries
    # it over on request (oracle: a twin of the changed network given the same files) or
    # forgets it
    from nettwin.io.tm_history import load_tm_history
    from nettwin.live import LiveTwin

    hist = tmp_path / "hist"
    hist.mkdir()
    c = compile_network(NET)
    rm = routing_matrix(c)
    ids = NET.node_ids
    rng = np.random.default_rng(2)
    for k in range(4):
        (hist / f"m{k}.csv").write_text("src,dst,rate_bps\n" + "".join(
            f"{ids[s]},{ids[d]},{r}\n" for s, d, r in zip(
                rm.src, rm.dst, rng.uniform(1e6, 1e9, rm.src.size), strict=True)))
    example = tmp_path / "example.json"
    from nettwin.io import NetworkFormat, save_network

    save_network(NET, example, NetworkFormat.NATIVE)
    changed_path, changed = _changed_network(tmp_path)
    rate = simulate(compile_network(changed)).arc_load_bps
    obs = tmp_path / "obs.jsonl"
    with obs.open("w") as fh:
        for recs in counter_records(changed, rate, start=T0, interval_s=60, steps=3):
            fh.writelines(json.dumps(r) + "\n" for r in recs)
    for verb in ("carry", "forget"):
        db = tmp_path / f"{verb}.db"
        store = f"sqlite:///{db}"
        res = runner.invoke(app, ["ingest", str(obs), str(example), "--store",
                                  store, "--prior-from", str(hist), "--drift-every", "0"])
        assert res.exit_code == 0, res.output
        (old_key,) = _history_rows(db)
        res = runner.invoke(app, ["ingest", str(obs), str(changed_path),
                                  "--store", store, "--drift-every", "0"])
        assert res.exit_code == 0, res.output
        said = " ".join(res.output.split())
        assert f"4 measured matrices are kept in the store under {old_key}" in said, said
        assert "--carry-prior" in said and "--forget-prior" in said
        out_csv = tmp_path / "tm.csv"
        out_json = tmp_path / "tm.json"
        res = runner.invoke(app, ["estimate-tm", str(changed_path), "--store", store,
                                  f"--{verb}-prior", "--csv", str(out_csv), "--json",
                                  str(out_json)])
        assert res.exit_code == 0, res.output
        doc = json.loads(out_json.read_text())
        assert doc["prior_source"] == ("store" if verb == "carry" else None)  # documented
        assert res.output.count("prior learned from") == (verb == "carry")
        kept = _history_rows(db)
        assert old_key not in kept
        with out_csv.open() as fh:
            got = {(r["src"], r["dst"]): float(r["rate_bps"]) for r in csv.DictReader(fh)}
        oracle = LiveTwin(changed, None, drift_every_s=None)
        if verb == "carry":
            assert "history prior" in res.output and list(kept.values()) == [4]
            assert f"over from {old_key} (" in res.output  # which earlier version, when
            oracle.use_history(load_tm_history(sorted(hist.iterdir()),
                                               list(changed.node_ids), oracle.routing()))
        else:
            assert "gravity prior" in res.output and kept == {}
        est = oracle.estimate_tm(arc_rate_bps=rate, at=T0 + 180)
        cids = changed.node_ids
        want = {(cids[s], cids[d]): float(x)
                for s, d, x in zip(est.src, est.dst, est.rate_bps, strict=True) if x > 0}
        assert got.keys() == want.keys()
        for pair, x in want.items():
            assert got[pair] == pytest.approx(x, rel=1e-6), pair
        # said once: the next run has nothing to hint at
        res = runner.invoke(app, ["estimate-tm", str(changed_path), "--store", store])
        assert res.exit_code == 0 and "--carry-prior" not in res.output, res.output


@pytest.mark.parametrize("command", [["estimate-tm"], ["state"]])
def test_reading_an_empty_history_creates_no_store(tmp_path: Path, command: list[str]) -> None:
    # a new user's `nettwin estimate-tm` made ~/.local/share/nettwin/twin.db just to find it
    # empty, and said "ingest first" without the command. Oracle: the file system
    data = tmp_path / "data"
    res = CliRunner().invoke(app, command, env={"NETTWIN_DATA_DIR": str(data)})
    assert res.exit_code == 3, res.output
    assert not data.exists()
    assert "nettwin ingest" in res.stderr
    if command == ["estimate-tm"]:
        assert "--validate" in res.stderr
    db = tmp_path / "other.db"
    res = CliRunner().invoke(app, [*command, "--store", f"sqlite:///{db}"],
                             env={"NETTWIN_DATA_DIR": str(data)})
    assert res.exit_code == 3 and not db.exists() and not data.exists()
    # the same database named with its driver, as SQLAlchemy takes it
    res = CliRunner().invoke(app, [*command, "--store", f"sqlite+pysqlite:///{db}"],
                             env={"NETTWIN_DATA_DIR": str(data)})
    assert res.exit_code == 3 and not db.exists() and not data.exists()


def test_the_counter_noise_default_is_the_live_twins_everywhere() -> None:
    # the CLI writes the live twin's default out (so --help loads no numba) and the API's
    # settings carry their own: all three must stay the twin's
    from nettwin.api.settings import Settings
    from nettwin.cli.live_twin import COUNTER_NOISE as CLI_NOISE
    from nettwin.live.live_network import COUNTER_NOISE

    assert CLI_NOISE == COUNTER_NOISE
    assert Settings.model_fields["counter_noise"].default == COUNTER_NOISE


def test_estimate_tm_reads_the_counters_time_in_the_operators_zone(tmp_path: Path) -> None:
    # daily matrices dated in their names (local dates), weekends unlike weekdays; counters
    # on Friday 11 February 2005 at 23:30 UTC, Saturday 00:30 in Berlin (the calendar):
    # --timezone Europe/Berlin estimates with the weekend's prior, the default with the
    # weekday's (oracle: the library's estimate told that day)
    import datetime

    from nettwin.estimate.history import estimate_tm_with_prior, prior_from_history
    from nettwin.io.tm_history import load_tm_history
    from nettwin.live.live_network import COUNTER_NOISE

    c = compile_network(NET)
    rm = routing_matrix(c)
    ids = NET.node_ids
    folder = tmp_path / "days"
    folder.mkdir()
    for day, x in enumerate(february_days(NET, seed=2), start=1):
        write_dated_matrix(folder / f"m-200502{day:02d}.csv", NET, x)
    hist = load_tm_history(sorted(folder.iterdir()), list(ids), rm)
    prior, choice = prior_from_history(hist, rm, c.n_nodes, edge=False)
    assert choice.day_weight < 1.0
    t = datetime.datetime(2005, 2, 11, 23, 30, tzinfo=datetime.UTC).timestamp()
    rate = rm.a @ (hist.rate_bps[4] * 1.02)  # a Saturday, a little louder
    obs = tmp_path / "obs.jsonl"
    with obs.open("w") as fh:
        for recs in counter_records(NET, rate, start=t - 60, interval_s=60, steps=2):
            fh.writelines(json.dumps(r) + "\n" for r in recs)
    store = f"sqlite:///{tmp_path / 'twin.db'}"
    res = runner.invoke(app, ["ingest", str(obs), "--store", store, "--drift-every", "0",
                              "--timezone", "Europe/Berlin"])
    assert res.exit_code == 0, res.output
    got = {}
    runs: list[tuple[str | None, float]] = [("Europe/Berlin", 5.0), (None, 4.0)]
    for zone, weekday in runs:
        out_json = tmp_path / f"tm-{weekday}.json"
        res = runner.invoke(app, ["estimate-tm", "--store", store, "--prior-from", str(folder),
                                  "--json", str(out_json)]
                            + ([] if zone is None else ["--timezone", zone]))
        assert res.exit_code == 0, res.output
        assert f"({zone or 'UTC'} days)" in " ".join(res.output.split())
        got[zone] = {(p["src"], p["dst"]): p["rate_bps"]
                     for p in json.loads(out_json.read_text())["pairs"]}
        est = estimate_tm_with_prior(rm, rate, prior, day_of_week=weekday, noise=COUNTER_NOISE,
                                     time_of_day_s=1800.0 if zone else 84_600.0)
        for s, d, x in zip(est.src, est.dst, est.rate_bps, strict=True):
            if x > 0:
                assert got[zone][(ids[s], ids[d])] == pytest.approx(x, rel=1e-9)
    assert got["Europe/Berlin"] != got[None]


@pytest.mark.parametrize("command", [["estimate-tm"], ["ingest", "obs.jsonl"], ["serve"]])
def test_a_bad_time_zone_is_refused_at_the_command_line(tmp_path: Path,
                                                        command: list[str]) -> None:
    res = runner.invoke(app, [*command, "--timezone", "Europe/Berln",
                              *(["--store", f"sqlite:///{tmp_path / 'x.db'}"]
                                if command[0] != "serve" else [])])
    text = " ".join(res.output.split())
    assert res.exit_code == 2, res.output
    assert "'Europe/Berln'" in text and "'Europe/Berlin'" in text
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize("command", [["serve"], ["token", "list"]])
def test_a_bad_time_zone_in_the_environment_stops_serve_naming_it(tmp_path: Path,
                                                                  command: list[str]) -> None:
    # every command reading the service's settings (the token commands printed pydantic's
    # raw error and exited 1)
    res = runner.invoke(app, [*command, "--data-dir", str(tmp_path)],
                        env={"NETTWIN_TIMEZONE": "Europe/Berln"})
    text = " ".join(res.output.split())
    assert res.exit_code == 2 and "'Europe/Berln'" in text and "timezone" in text, text
