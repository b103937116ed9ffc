"""Conventions every command shares: --json PATH|-, --version, --quiet, one registry."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nettwin import __version__, compile_network, simulate
from nettwin.cli import app
from nettwin.cli.app import COMMANDS, load_command
from nettwin.examples import example_path
from nettwin.io import load_network
from nettwin.scenarios import run_sweep
from tests.cli.commands import every_command

runner = CliRunner()


def _json(args: list[str]) -> object:
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)  # nothing but the document on stdout


def test_json_dash_prints_one_document_on_stdout() -> None:
    net = load_network(example_path())
    result = simulate(compile_network(net))
    info = _json(["info", "--json", "-"])
    assert isinstance(info, dict) and info["links"] == len(net.links)
    sim = _json(["simulate", "--json", "-"])
    assert isinstance(sim, dict)
    assert sim["kpis"]["max_utilisation"] == pytest.approx(result.kpis()["max_utilisation"])
    sweep = _json(["sweep", "--json", "-"])
    assert isinstance(sweep, dict)
    expected = run_sweep(net)
    assert len(sweep["failures"]) == len(expected.failure_rows()) == len(net.links)
    what = _json(["whatif", "--fail-link", "Denver--Kansas-City", "--json", "-"])
    assert isinstance(what, list) and what[0]["scenario"]


def test_json_to_a_file_keeps_the_tables(tmp_path: Path) -> None:
    target = tmp_path / "abilene.yaml"
    doc = tmp_path / "convert.json"
    res = runner.invoke(app, ["convert", str(example_path()), str(target), "--json", str(doc)])
    assert res.exit_code == 0, res.output
    assert json.loads(doc.read_text())["nodes"] == len(load_network(target).nodes)
    res = runner.invoke(app, ["info", "--json", str(doc)])
    assert res.exit_code == 0 and "abilene" in res.stdout  # the table still prints


def test_version_and_quiet() -> None:
    res = runner.invoke(app, ["--version"])
    assert res.exit_code == 0 and res.stdout.strip() == f"nettwin {__version__}"
    loud = runner.invoke(app, ["simulate", "--top", "0"])
    quiet = runner.invoke(app, ["--quiet", "simulate", "--top", "0"])
    assert "compile" in loud.stderr and quiet.stderr == ""
    assert quiet.stdout == loud.stdout
    bad = runner.invoke(app, ["--quiet", "info", "/nonexistent.yaml"])
    assert bad.exit_code == 3 and bad.stderr  # errors are never silenced


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_registry_help_is_the_commands_own(name: str) -> None:
    command = load_command(name)
    own = " ".join((command.help or "").split())
    assert own.startswith(COMMANDS[name][1].rstrip(".")), name


def test_help_loads_no_heavy_module() -> None:
    code = ("import sys; from typer.testing import CliRunner; from nettwin.cli import app; "
            "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0, r.output; "
            "print(sorted(m for m in ('numba', 'numpy', 'scipy', 'fastapi', 'sqlalchemy', "
            "'networkx', 'nettwin.engine') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("name", ["simulate", "info", "convert", "schema", "example"])
def test_a_commands_help_does_not_load_the_kernels(name: str) -> None:
    """Option declarations (queue model, packet sizes) come from engine.options: a command's
    --help answers without importing numba or the engine's kernel modules."""
    code = ("import sys; from typer.testing import CliRunner; from nettwin.cli import app; "
            f"r = CliRunner().invoke(app, [{name!r}, '--help']); "
            "assert r.exit_code == 0, r.output; "
            "print(sorted(m for m in ('numba', 'scipy', 'nettwin.engine.compiled', "
            "'nettwin.engine.routing', 'nettwin.engine.queueing') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(("command", "blocked", "extra"), [
    (["serve"], ("fastapi", "pydantic_settings", "uvicorn"), "api"),
    (["ingest", "x.jsonl"], ("sqlalchemy", "orjson"), "live"),
])
def test_a_missing_extra_is_named_not_a_traceback(command: list[str], blocked: tuple[str, ...],
                                                  extra: str) -> None:
    code = ("import sys\n"
            f"for m in {blocked!r}: sys.modules[m] = None  # as if not installed\n"
            "from typer.testing import CliRunner\nfrom nettwin.cli import app\n"
            f"r = CliRunner().invoke(app, {command!r})\n"
            "print(r.exit_code); print(r.stderr); print(repr(r.exception))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    lines = done.stdout.splitlines()
    assert lines[0] == "3", done.stdout
    assert f"pip install 'nettwin[{extra}]'" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_json_dash_on_the_live_commands(tmp_path: Path) -> None:
    from nettwin.live.simulated import counter_records

    net = load_network(example_path())
    compiled = compile_network(net)
    rate = simulate(compiled).arc_load_bps
    obs = tmp_path / "obs.jsonl"
    with obs.open("w") as fh:
        for step in counter_records(net, rate, start=1e9, interval_s=60, steps=3):
            fh.writelines(json.dumps(r) + "\n" for r in step)
    store = f"sqlite:///{tmp_path / 'twin.db'}"
    ingested = _json(["ingest", str(obs), "--store", store, "--json", "-"])
    assert isinstance(ingested, dict) and ingested["summary"]["dead_letters"] == 0
    state = _json(["state", "--store", store, "--json", "-"])
    assert isinstance(state, dict)
    got = np.array([a["rate_bps"] for a in state["arcs"]], dtype=float)
    np.testing.assert_allclose(got, rate, rtol=1e-9)  # counters back to the loads


@pytest.mark.parametrize("group", [n for n, (target, _h) in COMMANDS.items() if ":" in target])
def test_a_groups_listing_gives_each_command_its_first_paragraph_unbroken(group: str) -> None:
    # rich keeps a docstring's line breaks in a group's listing: at any width the text broke
    # mid-sentence ("... (or delay, or SLA breaks),\n optionally robust ..."). Oracle: each
    # command's own first paragraph, its whitespace collapsed, on one line of a wide listing
    res = runner.invoke(app, [group, "--help"], env={"COLUMNS": "1000"}, terminal_width=1000)
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    for name, cmd in load_command(group).commands.items():  # type: ignore[attr-defined]
        first = " ".join((cmd.help or "").split("\n\n")[0].split())
        assert any(first in line for line in lines), (name, first)


def test_every_json_option_says_path_or_dash() -> None:
    # agent evaluate, optimize, validate and apply showed their own placeholders (PATH,
    # <path>) for the one convention: --json PATH writes a file, '-' prints on stdout
    seen = []
    for path, command in every_command():
        for param in command.params:
            if "--json" in getattr(param, "opts", []):
                seen.append(path)
                assert param.metavar == "PATH|-", path
    assert {"agent evaluate", "optimize weights", "validate", "apply"} <= set(seen)
    res = runner.invoke(app, ["agent", "evaluate", "--help"], terminal_width=200)
    assert "--json" in res.stdout and "PATH|-" in res.stdout


def test_an_unknown_command_names_the_closest_ones() -> None:
    # `nettwin plan` answered "No such command 'plan'." and nothing else

    def said(args: list[str]) -> str:  # the error panel's text, its line breaks undone
        res = runner.invoke(app, args)
        assert res.exit_code == 2, res.output
        return " ".join(res.output.replace("│", " ").split())

    assert "Did you mean 'simulate'" in said(["simulat"])
    assert "'qos-simulate'" in said(["qos-simulat"])
    plan = said(["plan"])
    optimize = load_command("optimize").commands  # type: ignore[attr-defined]
    assert "nettwin optimize" in plan
    assert {"capacity", "energy", "slices"} <= set(optimize)
    assert all(f"optimize {name}" in plan for name in ("capacity", "energy", "slices"))
    assert "nettwin optimize" in said(["plan-capacity"])
    assert "nettwin --help" in said(["xyzzy"])  # nothing close: where to look


def test_no_help_text_shows_docstring_markup() -> None:
    # `synth --help` printed reStructuredText's double backticks around commands; the help
    # of every leaf command and every option, as the terminal shows them, has none
    for path, command in every_command():
        texts = [command.help or ""] + [getattr(p, "help", None) or "" for p in command.params]
        assert not any("``" in t for t in texts), path


def test_long_runs_say_how_far_they_got_when_stderr_is_no_terminal(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # with stderr in a log or a pipe the bars drew nothing until the end (a user's trial
    # saw forecast and optimize energy print nothing for about 20 s); now a plain line now
    # and then, whose counts are the run's own (oracle: the sweep's failures are the links)
    import re

    from nettwin.cli import common

    monkeypatch.setattr(common, "PIPED_EVERY_S", 0.0)  # every update, for the test
    n_links = len(load_network(example_path()).links)
    res = runner.invoke(app, ["sweep", "--top", "0"])
    assert res.exit_code == 0, res.output
    counts = [(int(a.replace(",", "")), int(b.replace(",", "")))
              for a, b in re.findall(r"^failures: ([\d,]+)/([\d,]+) \(\d+ s\)$",
                                     res.stderr, re.MULTILINE)]
    assert counts and all(total == n_links for _, total in counts)
    assert [d for d, _ in counts] == sorted(d for d, _ in counts)  # never backwards
    quiet = runner.invoke(app, ["--quiet", "sweep", "--top", "0"])
    assert quiet.exit_code == 0 and "failures:" not in quiet.stderr


def test_work_known_by_its_share_reports_the_same_way(monkeypatch: pytest.MonkeyPatch) -> None:
    # the weight search (a share of its iterations) reports like the sweep (counts): plain
    # lines when stderr is no terminal, never backwards, none with --quiet
    import re

    from nettwin.cli import common

    monkeypatch.setattr(common, "PIPED_EVERY_S", 0.0)
    args = ["optimize", "weights", "--iterations", "20", "--json", "-"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    shares = [int(p) for p in re.findall(r"^searching, best [\d.e+-]+ \(Ctrl-C stops\): "
                                         r"(\d+)% \(\d+ s\)$", res.stderr, re.MULTILINE)]
    assert shares and shares == sorted(shares) and shares[-1] <= 100
    quiet = runner.invoke(app, ["--quiet", *args])
    assert quiet.exit_code == 0 and "searching" not in quiet.stderr


def test_one_progress_builder() -> None:
    # three commands each built their own rich bar and piped-line fallback, and one of them
    # already drifted (its line said "of the time limit" when --iterations bounded the run);
    # oracle: the CLI's sources, where only common.py may build a bar
    import nettwin.cli

    cli = Path(nettwin.cli.__file__).parent
    builders = [p.name for p in sorted(cli.glob("*.py"))
                if "Progress(" in p.read_text(encoding="utf-8") and p.name != "common.py"]
    assert builders == []


def test_quiet_is_taken_after_any_command() -> None:
    # `nettwin optimize paths -q` answered "No such option: -q" where `nettwin -q optimize
    # paths` worked; only five commands took -q of their own. Oracle: the same run with the
    # option before the command
    for path, _command in every_command():
        res = runner.invoke(app, [*path.split(), "-q", "--help"])
        assert res.exit_code == 0, (path, res.output)
    after = runner.invoke(app, ["simulate", "--top", "0", "-q"])
    before = runner.invoke(app, ["-q", "simulate", "--top", "0"])
    assert after.exit_code == before.exit_code == 0
    assert after.stderr == before.stderr == "" and after.stdout == before.stdout
    group = runner.invoke(app, ["sweep", "--top", "0", "--quiet"])
    assert group.exit_code == 0 and group.stderr == ""
