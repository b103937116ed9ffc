"""The ``nettwin`` command line, composed in one place.

Every command lives in its own module and is registered here by name with its one-line
help; a module is imported only when one of its commands runs (or its own ``--help`` is
asked for), so ``nettwin --help`` and ``nettwin --version`` answer without loading numpy,
numba or the server stack. Exit codes: 0 ok, 1 SLA violated (with --fail-on-violation),
2 bad command line, 3 bad input file or data (or a missing optional extra), 4 simulation
error.
"""

from __future__ import annotations

import importlib
from typing import Annotated, Any

import typer
from typer import _click as click  # typer vendors its click
from typer.core import TyperCommand, TyperGroup

from nettwin import __version__
from nettwin.extras import missing_extra_message

EXIT_MISSING_EXTRA = 3

# name -> (module[:group attribute], one-line help). A module's plain commands sit on its
# ``commands`` Typer; a group (radio, token, lab) is the named attribute.
COMMANDS: dict[str, tuple[str, str]] = {
    "info": ("nettwin.cli.network", "Load a network, validate it and summarise it (with "
                                    "every default the import applied)."),
    "simulate": ("nettwin.cli.network", "Route the traffic (IGP shortest paths, ECMP), load "
                                        "the links, and report delay, loss and SLAs."),
    "convert": ("nettwin.cli.network", "Convert a network between formats (e.g. Topology Zoo "
                                       "GraphML to native YAML)."),
    "schema": ("nettwin.cli.network", "Print the JSON Schema of the native network format."),
    "example": ("nettwin.cli.network", "Print the path of a bundled example file."),
    "whatif": ("nettwin.cli.analysis", "Compare scenarios (failures, drains, metric/capacity "
                                       "changes, traffic surges) with the baseline"),
    "sweep": ("nettwin.cli.analysis", "Fail every link (and node, SRLG, link pair) in turn, "
                                      "exactly and incrementally"),
    "cascade": ("nettwin.cli.analysis", "Follow an overload cascade from a trigger (failure, "
                                        "surge) to its fixed point."),
    "risk": ("nettwin.cli.analysis", "Monte Carlo risk: random (and SRLG-correlated) failures "
                                     "and traffic growth"),
    "qos-validate": ("nettwin.cli.qos", "Per-pair mean delay (MAPE / median error) and loss of "
                                        "the queueing models against the OMNeT++ results"),
    "qos-simulate": ("nettwin.cli.qos", "Per-class QoS on the network's IGP/ECMP routing: "
                                        "delay, jitter and loss per traffic class and demand"),
    "radio": ("nettwin.cli.radio:radio_app", "Microwave radio: ITU-R link budgets and rain "
                                            "storms."),
    "ingest": ("nettwin.cli.live", "Mirror a network from a stream of counters, radio "
                                   "readings and events"),
    "state": ("nettwin.cli.live", "The mirrored state as the history store has it, at any "
                                  "instant, or two instants compared."),
    "estimate-tm": ("nettwin.cli.estimate_tm", "Traffic matrix from link counters"),
    "lab": ("nettwin.cli.lab:lab_app", "A real network to mirror: FRR routers running OSPF "
                                       "in Linux network namespaces (root)."),
    "validate": ("nettwin.cli.validate", "Validate a change before it reaches the network: "
                                         "forwarding (loops, blackholes, reachability, "
                                         "asymmetry per prefix), performance now and under "
                                         "every failure, guardrails, red team."),
    "apply": ("nettwin.cli.validate", "Validate a change against the lab's twin, push it to "
                                      "the FRR routers (vtysh) only if SAFE, check every "
                                      "kernel forwarding table against the prediction, roll "
                                      "back on mismatch."),
    "agent": ("nettwin.cli.agent:agent_app", "AI agents in the twin: evaluate policies, "
                                             "train one."),
    "optimize": ("nettwin.cli.optimize:optimize_app", "Traffic engineering and planning: IGP "
                                                      "metrics, SR waypoints, capacity, energy "
                                                      "(sleeping links) and slice admission."),
    "synth": ("nettwin.cli.synth", "Labelled synthetic telemetry: the network carries a "
                                   "traffic day"),
    "diagnose": ("nettwin.cli.diagnose", "Counterfactual root cause: candidate faults "
                                         "generated from the symptoms"),
    "anomalies": ("nettwin.cli.diagnose", "Anomalies against the twin: per link the "
                                          "measured rate and drops against what the twin "
                                          "predicts"),
    "radio-health": ("nettwin.cli.diagnose", "Radio predictive maintenance: from "
                                             "received-level history, rain fades"),
    "forecast": ("nettwin.cli.forecast", "Seasonal traffic forecasts per link and demand"),
    "serve": ("nettwin.cli.serve", "Serve the twin: REST API (OpenAPI at /docs) and the "
                                   "dashboard (/ui)"),
    "token": ("nettwin.cli.serve:token_app", "Local API tokens (stored hashed in the data "
                                             "folder)."),
    "mcp": ("nettwin.cli.agents", "Serve the twin to a local AI agent over MCP (stdio)"),
    "warmup": ("nettwin.cli.warmup", "Compile the numba kernels once into their on-disk "
                                     "cache (run by `make setup`)"),
}


class LazyGroup(TyperGroup):
    """Commands imported on first use; the listing in ``--help`` comes from ``COMMANDS``."""

    _listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        if self._listing:  # top-level --help: name and help, nothing imported
            return TyperCommand(cmd_name, help=COMMANDS[cmd_name][1])
        return load_command(cmd_name)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, quiet_anywhere(bare_json_to_stdout(args)))

    def resolve_command(self, ctx: click.Context, args: list[str]
                        ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except ModuleNotFoundError as exc:
            raise _missing(exc) from None
        except click.exceptions.UsageError as exc:
            if args and args[0] not in COMMANDS:
                exc.message = unknown_command_message(args[0])
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ModuleNotFoundError as exc:
            raise _missing(exc) from None


# words a user may try for what lives under another name: (the command, its commands)
ELSEWHERE: dict[str, tuple[str, str]] = {
    "plan": ("optimize", "optimize capacity, optimize energy, optimize slices"),
}


def unknown_command_message(name: str) -> str:
    """'No such command' with the closest registered commands (typer's own suggestions
    read the group's commands, which a lazy group only lists by name), and where a word
    such as 'plan' lives instead."""
    from difflib import get_close_matches

    message = f"No such command {name!r}."
    key = name.lower()
    for word, (command, examples) in ELSEWHERE.items():
        if key.startswith(word) or word in key.split("-"):
            message += (f" That lives under `nettwin {command}`: {examples} (see "
                        f"`nettwin {command} --help`).")
            break
    matches = get_close_matches(key, list(COMMANDS), n=3, cutoff=0.6)
    if matches:
        message += f" Did you mean {', '.join(repr(m) for m in matches)}?"
    elif "That lives" not in message:
        message += " See `nettwin --help` for the commands."
    return message


def _missing(exc: ModuleNotFoundError) -> BaseException:
    """A command that needs an optional extra says which one to install (exit 3)."""
    message = missing_extra_message(exc)
    if message is None:
        return exc
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_MISSING_EXTRA)


def bare_json_to_stdout(args: list[str]) -> list[str]:
    """``--json`` with no value (last, or followed by another option) means ``--json -``:
    every command takes ``--json PATH|-``, and ``info --json`` keeps working."""
    out: list[str] = []
    for i, arg in enumerate(args):
        out.append(arg)
        if arg == "--json" and (i + 1 == len(args)
                                or (args[i + 1].startswith("-") and args[i + 1] != "-")):
            out.append("-")
    return out


QUIET = ("-q", "--quiet")


def quiet_anywhere(args: list[str]) -> list[str]:
    """``-q``/``--quiet`` after a command means nettwin's own ``--quiet`` (moved before the
    command) unless that command takes an option of that name itself: ``nettwin optimize
    paths -q`` answered "No such option" where ``nettwin -q optimize paths`` worked."""
    if not args or args[0] not in COMMANDS:
        return args
    rest = args[1:]
    end = rest.index("--") if "--" in rest else len(rest)
    at = {i for i in range(end) if rest[i] in QUIET}
    if not at:
        return args
    command = load_command(args[0])
    for word in rest:  # into a group's subcommand
        subs: dict[str, click.Command] | None = getattr(command, "commands", None)
        sub = subs.get(word) if subs is not None else None
        if sub is None:
            break
        command = sub
    if any(o in QUIET for p in command.params for o in getattr(p, "opts", ())):
        return args
    return ["--quiet", args[0], *(a for i, a in enumerate(rest) if i not in at)]


def load_command(name: str) -> click.Command:
    """The click command registered as ``name`` (its module imported now)."""
    target, _help = COMMANDS[name]
    module_name, _sep, attribute = target.partition(":")
    module = importlib.import_module(module_name)
    if attribute:
        group = typer.main.get_group(getattr(module, attribute))
        group.name = name
        _one_paragraph_listing(group)
        return group
    command = typer.main.get_group(module.commands).commands.get(name)
    if command is None:
        raise LookupError(f"{module_name} registers no command {name!r}")
    return command


def _one_paragraph_listing(group: TyperGroup) -> None:
    """A group's ``--help`` lists each command with the first paragraph of its docstring as
    one paragraph: rich keeps the docstring's line breaks there (not on the command's own
    page), so the listing broke mid-sentence at any terminal width."""
    for command in group.commands.values():
        if command.short_help is None and command.help:
            command.short_help = " ".join(command.help.split("\n\n", 1)[0].split())
        if isinstance(command, TyperGroup):
            _one_paragraph_listing(command)


app = typer.Typer(cls=LazyGroup, help="nettwin: a network digital twin. Ask 'what happens "
                                      "if ...?'.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"nettwin {__version__}")
        raise typer.Exit


@app.callback()
def root(
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")]
        = False,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="No progress, notes or 'wrote ...' lines on stderr; errors "
                              "still print.")] = False,
) -> None:
    """nettwin: a network digital twin. Ask 'what happens if ...?'."""
    from nettwin.cli.common import set_quiet
    from nettwin.kernel_cache import seed_kernel_cache

    set_quiet(quiet)
    seed_kernel_cache()  # in the image: its compiled kernels into the writable cache


def main() -> None:
    app()
