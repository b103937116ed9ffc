"""``nettwin agent evaluate|train --metrics FILE``: the network's real IGP metrics, as for
every other command that loads a network. Oracle: the same command run on a native file that
carries those metrics (written by ``nettwin convert --metrics``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from nettwin.cli import app
from nettwin.io import load_network
from tests.conftest import data_path, random_metrics_csv

runner = CliRunner()
ABILENE = data_path("sndlib", "xml", "abilene.xml")
SHORT = ["--episode-steps", "3", "--traffic-scale", "2.5", "--seed", "1"]


def _metrics_file(tmp_path: Path) -> tuple[Path, Path]:
    path = random_metrics_csv(load_network(ABILENE), tmp_path / "igp.csv", seed=7)
    native = tmp_path / "abilene.json"
    res = runner.invoke(app, ["convert", str(ABILENE), str(native), "--metrics", str(path)])
    assert res.exit_code == 0, res.output
    return path, native


def _evaluate(tmp_path: Path, name: str, *args: str) -> dict:
    res = runner.invoke(app, ["agent", "evaluate", "noop", "--episodes", "1", *SHORT,
                              *args, "--json", str(tmp_path / name)])
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / name).read_text())
    for row in doc["episodes"]:
        row.pop("wall_s")  # timing, the one field that may differ
    return {"policies": doc["policies"], "episodes": doc["episodes"]}


def test_agent_evaluate_takes_the_real_metrics(tmp_path: Path) -> None:
    path, native = _metrics_file(tmp_path)
    with_file = _evaluate(tmp_path, "a.json", "--network", str(ABILENE), "--metrics", str(path))
    carried = _evaluate(tmp_path, "b.json", "--network", str(native))
    plain = _evaluate(tmp_path, "c.json", "--network", str(ABILENE))
    assert with_file == carried
    assert with_file != plain  # the metrics changed the routing the agent sees


def test_agent_train_takes_the_real_metrics(tmp_path: Path) -> None:
    path, native = _metrics_file(tmp_path)
    args = ["agent", "train", "--generations", "1", "--population", "4", "--episodes", "1",
            *SHORT]
    one = runner.invoke(app, [*args, "--network", str(ABILENE), "--metrics", str(path),
                              "--out", str(tmp_path / "a.npz")])
    two = runner.invoke(app, [*args, "--network", str(native), "--out", str(tmp_path / "b.npz")])
    assert one.exit_code == 0 and two.exit_code == 0, one.output + two.output
    a, b = np.load(tmp_path / "a.npz"), np.load(tmp_path / "b.npz")
    np.testing.assert_array_equal(a["parameters"], b["parameters"])
    bad = runner.invoke(app, [*args, "--metrics", str(tmp_path / "no.csv"),
                              "--out", str(tmp_path / "c.npz")])
    assert bad.exit_code != 0 and "no such file" in bad.output
