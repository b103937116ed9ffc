"""Every command takes the network file the way ``simulate`` does: a positional ``[FILE]``
(default: the bundled example), with ``--network/-n`` kept as a hidden, deprecated alias so
scripts written against the old agent/ingest/mcp options keep working. Oracle: the alias's
own result, and the command objects click builds from the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from typer.core import TyperArgument, TyperOption
from typer.testing import CliRunner

from nettwin.cli import app
from tests.cli.commands import every_command
from tests.conftest import data_path

runner = CliRunner()
ATLANTA = data_path("sndlib", "xml", "atlanta.xml")  # not the default, Abilene
SHORT = ["--episodes", "1", "--episode-steps", "3", "--traffic-scale", "2.5", "--seed", "1"]


def test_no_command_shows_a_network_option() -> None:
    for path, command in every_command():
        for param in command.params:
            if "--network" in getattr(param, "opts", []):
                assert isinstance(param, TyperOption) and param.hidden, path
                positional = [p for p in command.params if isinstance(p, TyperArgument)
                              and p.name in {"file", "network_file", "network"}]
                assert positional, f"{path}: --network without a positional network file"


def _evaluate(tmp_path: Path, name: str, *args: str) -> dict:
    target = tmp_path / name
    res = runner.invoke(app, ["agent", "evaluate", "noop", *args, *SHORT,
                              "--json", str(target)])
    assert res.exit_code == 0, res.output
    doc = json.loads(target.read_text())
    for row in doc["episodes"]:
        row.pop("wall_s")
    return {"settings": doc["settings"], "policies": doc["policies"],
            "episodes": doc["episodes"]}


def test_agent_evaluate_takes_the_network_as_simulate_does(tmp_path: Path) -> None:
    positional = _evaluate(tmp_path, "a.json", str(ATLANTA))
    alias = _evaluate(tmp_path, "b.json", "--network", str(ATLANTA))
    short = _evaluate(tmp_path, "c.json", "-n", str(ATLANTA))
    assert positional == alias == short
    default = _evaluate(tmp_path, "d.json")
    assert default["settings"]["network"] != positional["settings"]["network"]


def test_the_alias_and_the_argument_must_agree(tmp_path: Path) -> None:
    res = runner.invoke(app, ["agent", "evaluate", "noop", str(ATLANTA), "--network",
                              str(tmp_path / "other.yaml"), *SHORT])
    assert res.exit_code == 2
    assert "--network" in res.output


def test_agent_help_shows_the_positional_file() -> None:
    for sub in ("evaluate", "train"):
        res = runner.invoke(app, ["agent", sub, "--help"], terminal_width=200)
        assert res.exit_code == 0, res.output
        assert "[file]" in res.stdout.lower() and "--network" not in res.stdout, sub
