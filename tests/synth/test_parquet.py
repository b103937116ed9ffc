"""Parquet output of ``nettwin synth``: the same records and labels as the JSON lines files
(the oracle), the schema documented in ``--help``, and a Parquet dataset replays through
``nettwin diagnose`` exactly as the JSON lines one does."""

from __future__ import annotations

import json
import re

import orjson
from typer.testing import CliRunner

from nettwin.cli.app import app
from nettwin.synth.parquet import (
    LABEL_SCHEMA,
    OBSERVATION_SCHEMA,
    read_labels_parquet,
    read_observations_parquet,
)


def test_parquet_equals_json_lines_and_replays(tmp_path) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    res = runner.invoke(app, ["synth", "-n", "2", "--steps", "10", "--seed", "4", "-o",
                              str(tmp_path), "--parquet", "-q",
                              "--scenarios", "fibre_cut_peak,traffic_surge"])
    assert res.exit_code == 0, res.output
    want = [orjson.loads(ln) for ln in (tmp_path / "observations.jsonl").read_bytes()
            .splitlines()]
    got = read_observations_parquet(tmp_path / "observations.parquet")
    assert got == want
    labels = [orjson.loads(ln) for ln in (tmp_path / "labels.jsonl").read_bytes().splitlines()]
    assert read_labels_parquet(tmp_path / "labels.parquet") == labels
    outs = []
    for name in ("observations.jsonl", "observations.parquet"):
        out = tmp_path / f"{name}.json"
        res = runner.invoke(app, ["diagnose", "--observations", str(tmp_path / name),
                                  "--until", str(labels[0]["window_end"]), "--json", str(out),
                                  "-q"])
        assert res.exit_code == 0, res.output
        doc = json.loads(out.read_text())
        outs.append([(c["kind"], c["element"], round(c["cost"], 6)) for c in doc["causes"]])
    assert outs[0] == outs[1]


def test_help_documents_every_parquet_column() -> None:
    res = CliRunner().invoke(app, ["synth", "--help"], terminal_width=400)
    text = re.sub(r"[\s│]+", " ", res.output)
    for schema in (OBSERVATION_SCHEMA, LABEL_SCHEMA):
        for f in schema:
            typ = "list<string>" if str(f.type).startswith("list") else \
                {"double": "float64"}.get(str(f.type), str(f.type))
            assert f"{f.name} {typ}" in text, f.name


def test_bad_parquet_is_a_clear_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "x.parquet"
    bad.write_bytes(b"not parquet")
    res = CliRunner().invoke(app, ["diagnose", "--observations", str(bad)])
    assert res.exit_code == 3
    assert "Parquet" in res.output


def test_ingest_replays_a_parquet_dataset_as_its_json_lines(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # the JSON lines replay is the oracle: the same samples, dead letters and mirrored state
    runner = CliRunner()
    res = runner.invoke(app, ["synth", "-n", "1", "--steps", "8", "--seed", "7", "-o",
                              str(tmp_path), "--parquet", "-q", "--scenarios", "fibre_cut_peak"])
    assert res.exit_code == 0, res.output
    docs = []
    for name in ("observations.jsonl", "observations.parquet"):
        out = tmp_path / f"ingest-{name}.json"
        store = f"sqlite:///{tmp_path / (name + '.db')}"
        res = runner.invoke(app, ["ingest", str(tmp_path / name), "--store", store,
                                  "--json", str(out)])
        assert res.exit_code == 0, res.output
        docs.append(json.loads(out.read_text()))
    jsonl, parquet = docs
    assert parquet["summary"]["samples"] == jsonl["summary"]["samples"] > 0
    assert parquet["summary"]["dead_letters"] == jsonl["summary"]["dead_letters"]
    assert parquet["arcs"] == jsonl["arcs"] and parquet["links_down"] == jsonl["links_down"]
    bad = tmp_path / "x.parquet"
    bad.write_bytes(b"not parquet")
    res = runner.invoke(app, ["ingest", str(bad), "--store",
                              f"sqlite:///{tmp_path / 'bad.db'}"])
    assert res.exit_code == 3 and "Parquet" in res.output
