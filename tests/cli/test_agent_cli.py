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
    with_file = _evaluate(tmp_path, "a.json", str(ABILENE), "--metrics", str(path))
    carried = _evaluate(tmp_path, "b.json", str(native))
    plain = _evaluate(tmp_path, "c.json", str(ABILENE))
    assert with_file == carried
    assert with_file != plain  # the metrics changed the routing the agent sees


def test_agent_train_takes_the_real_metrics(tmp_path: Path) -> None:
    path, native = _metrics_file(tmp_path)
    args = ["agent", "train", "--generations", "1", "--population", "4", "--episodes", "1",
            *SHORT]
    one = runner.invoke(app, [*args, str(ABILENE), "--metrics", str(path),
                              "--out", str(tmp_path / "a.npz")])
    two = runner.invoke(app, [*args, str(native), "--out", str(tmp_path / "b.npz")])
    assert one.exit_code == 0 and two.exit_code == 0, one.output + two.output
    a, b = np.load(tmp_path / "a.npz"), np.load(tmp_path / "b.npz")
    np.testing.assert_array_equal(a["parameters"], b["parameters"])
    bad = runner.invoke(app, [*args, "--metrics", str(tmp_path / "no.csv"),
                              "--out", str(tmp_path / "c.npz")])
    assert bad.exit_code != 0 and "no such file" in bad.output


def _shown(cell: str, value: float) -> bool:
    """The figure in a table cell is the value, rounded to the decimals it shows (so no
    digit was cut off)."""
    text = cell.strip().removesuffix("%").strip()
    decimals = len(text.partition(".")[2])
    return abs(float(text) - value) <= 0.5 * 10.0 ** -decimals + 1e-12


def test_agent_evaluate_table_keeps_every_number_whole_at_80_columns(tmp_path: Path) -> None:
    # at 80 columns the mean reward showed as "-123.0…" and the title said "1 episodes".
    # Oracle: the command's own JSON; each cell must round it, whole
    doc = tmp_path / "e.json"
    res = runner.invoke(app, ["agent", "evaluate", "noop,greedy", str(ABILENE), "--episodes",
                              "1", "--episode-steps", "3", "--traffic-scale", "40",
                              "--json", str(doc)], terminal_width=80, env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    assert max(len(line) for line in res.stdout.splitlines()) <= 80
    assert "…" not in res.stdout
    policies = json.loads(doc.read_text())["policies"]
    assert any(abs(row["mean_reward"]) >= 1000 for row in policies.values())  # a wide one
    for name, row in policies.items():
        line = next(ln for ln in res.stdout.splitlines() if f" {name} " in ln)
        cells = [c for c in line.split("│") if c.strip()]
        for cell, value in zip(cells[1:6], (row["mean_reward"], 100 * row["sla_kept_share"],
                                            row["sla_minutes_lost"],
                                            row["mean_max_utilisation"],
                                            row["peak_max_utilisation"]), strict=True):
            assert _shown(cell, value), (cell, value, line)
    assert "1 episode," in res.stdout and "1 episodes" not in res.output


def test_agent_evaluate_on_bursty_demands_says_the_sandbox_queues_them_as_poisson(
        tmp_path: Path) -> None:
    """The sandbox's queues are Poisson: on a network whose demands carry bursty arrival
    processes the command says so and evaluates on the textbook queues (the library's
    environment refuses such a network unless told), with the same figures as the same
    network with every demand Poisson."""
    from tests.cli.test_cli import ONOFF_NETWORK

    bursty = tmp_path / "onoff.yaml"
    bursty.write_text(ONOFF_NETWORK)
    poisson = tmp_path / "poisson.yaml"
    poisson.write_text(ONOFF_NETWORK.replace(", arrival: onoff, on_mean_s: 0.05, "
                                             "off_mean_s: 0.05", ""))
    res = runner.invoke(app, ["agent", "evaluate", "noop", str(bursty), "--episodes", "1",
                              *SHORT])
    assert res.exit_code == 0, res.output
    assert "queues every link as Poisson" in res.output and "1 demand" in res.output
    assert _evaluate(tmp_path, "b.json", str(bursty)) == \
        _evaluate(tmp_path, "p.json", str(poisson))
