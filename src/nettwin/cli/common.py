"""What every command shares: consoles, exit codes, loading with progress, options."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from nettwin.engine.options import (
    IMIX_MEAN_PACKET_BYTES,
    IMIX_PACKET_SCV,
    ArrivalModel,
    QueueModel,
    SimulationOptions,
)
from nettwin.errors import ImportFormatError, NettwinError, SimulationError, ValidationError
from nettwin.examples import example_path
from nettwin.io import ImportOptions, MetricPolicy, NetworkFormat, load_network, load_traffic
from nettwin.io.metrics import apply_metrics_file, check_metrics_path
from nettwin.model import Network
from nettwin.model.problems import Severity

EXIT_SLA_VIOLATED = 1
EXIT_BAD_INPUT = 3
EXIT_SIMULATION = 4

out = Console()
err = Console(stderr=True)  # progress, notes, 'wrote ...': silenced by --quiet
alert = Console(stderr=True)  # errors and what the user must see: never silenced


def set_quiet(quiet: bool) -> None:
    """Start of every command: --quiet silences ``err``; stdout is back to normal."""
    err.quiet = quiet
    out.quiet = False


@contextlib.contextmanager
def step(message: str) -> Iterator[None]:
    """A spinner on stderr while a step runs (quiet when stderr is not a terminal)."""
    if err.is_terminal:
        with err.status(message):
            yield
    else:
        yield


def fail(exc: NettwinError) -> typer.Exit:
    code = EXIT_SIMULATION if isinstance(exc, SimulationError) else EXIT_BAD_INPUT
    kind = "invalid input" if isinstance(exc, ValidationError | ImportFormatError) else "error"
    alert.print(f"[bold red]{kind}:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


FileArg = Annotated[Path | None, typer.Argument(
    help="Network file (native YAML/JSON, RFC 8345 JSON, GraphML, SNDlib, REPETITA .graph, "
         "Rocketfuel weights.intra). Default: the bundled Abilene example.")]
NetworkAliasOpt = Annotated[Path | None, typer.Option(
    "--network", "-n", hidden=True, show_default=False,
    help="Deprecated: give the network file as the FILE argument.")]


def network_file(positional: Path | None, alias: Path | None) -> Path | None:
    """The network file from the positional ``FILE`` (as ``simulate`` takes it) or the old
    ``--network/-n`` option, kept hidden so scripts written against it still run."""
    if alias is None:
        return positional
    if positional is not None and positional != alias:
        raise typer.BadParameter(f"two network files, {positional} and {alias}: give one, as "
                                 "the FILE argument", param_hint="--network")
    err.print("[dim]note:[/] --network is deprecated: give the network file as the FILE "
              "argument, as `nettwin simulate FILE` does", highlight=False)
    return alias


FormatOpt = Annotated[NetworkFormat | None, typer.Option(
    "--format", "-f", help="Network file format; detected from the name/content if omitted.")]
TrafficOpt = Annotated[Path | None, typer.Option(
    "--traffic", "-t", help="Traffic matrix replacing the file's demands: SNDlib XML "
                            "demandMatrix, REPETITA .demands, CSV (src,dst,rate_bps) or YAML.")]
CapacityOpt = Annotated[float, typer.Option(
    "--default-capacity", min=1.0, help="Capacity (bit/s) for links a format leaves without.")]
MetricOpt = Annotated[MetricPolicy, typer.Option(
    "--metric-policy", help="IGP metrics for formats that carry none.")]
MetricsFileOpt = Annotated[Path | None, typer.Option(
    "--metrics", help="The network's real IGP metrics (CSV link,metric[_ab,metric_ba] or "
                      "src,dst,metric; or 'router_a router_b metric' lines as Rocketfuel's "
                      "weights.intra), applied over the file's or --metric-policy's.")]


def load(path: Path | None, fmt: NetworkFormat | None, traffic: Path | None,
          default_capacity: float, metric_policy: MetricPolicy,
          skip_invalid: bool = False, metrics: Path | None = None) -> Network:
    path = path or example_path()
    options = ImportOptions(default_capacity_bps=default_capacity, metric_policy=metric_policy)
    if metrics is not None:
        check_metrics_path(metrics)  # a typo in the path: said before a large network loads
    with step(f"loading {path.name}"):
        network = load_network(path, fmt, options)
        if traffic is not None:
            network = load_traffic(network, traffic, skip_invalid=skip_invalid)
    if metrics is not None:
        with step(f"reading IGP metrics from {metrics.name}"):
            network = apply_metrics_file(network, metrics)
    return network


def print_notes(network: Network, limit: int = 8) -> None:
    notes = [n for n in network.notes if n.severity is Severity.NOTE]
    for n in notes[:limit]:
        err.print(f"[dim]note:[/] {escape(str(n))}", highlight=False, soft_wrap=True)
    if len(notes) > limit:
        err.print(f"[dim]... {len(notes) - limit} more notes (see --json output)[/]")


ModelOpt = Annotated[QueueModel, typer.Option("--model", "-m", help="Queueing model per arc.")]
PacketBytesOpt = Annotated[float | None, typer.Option(
    "--packet-bytes", min=1.0, help="Mean packet size (default: simple IMIX, 340 B).")]
PacketScvOpt = Annotated[float | None, typer.Option(
    "--packet-scv", min=0.0,
    help="Squared coefficient of variation of packet size, for M/G/1 (default: IMIX 1.59).")]
BufferOpt = Annotated[int, typer.Option(
    "--buffer-packets", min=1, help="Buffer per arc where the network gives none.")]
ArrivalsOpt = Annotated[ArrivalModel, typer.Option(
    "--arrivals", help="bursty: links carrying demands with an arrival process (field "
                       "'arrival': onoff, mmpp, dispersion) are queued as MMPP/G/1/K; poisson: "
                       "the textbook model on every link (Poisson arrivals).")]


def simulation_options(model: QueueModel, packet_bytes: float | None,
                       packet_scv: float | None, buffer_packets: int,
                       arrivals: ArrivalModel = ArrivalModel.BURSTY) -> SimulationOptions:
    return SimulationOptions(
        queue_model=model, mean_packet_bytes=packet_bytes or IMIX_MEAN_PACKET_BYTES,
        packet_size_scv=IMIX_PACKET_SCV if packet_scv is None else packet_scv,
        default_buffer_packets=buffer_packets, arrival_model=arrivals)


# how often a long run says how far it got when stderr is no terminal (a log file, CI, a pipe)
PIPED_EVERY_S = 10.0


class PipedProgress:
    """Where a bar cannot be drawn (stderr is no terminal), a plain line on stderr at most
    every ``every_s`` seconds, so a long run in a log or a pipe is not silent until it ends
    (``--quiet`` silences it with the rest of stderr)."""

    def __init__(self, every_s: float | None = None) -> None:
        self.every_s = PIPED_EVERY_S if every_s is None else every_s
        self.started = self.said = time.monotonic()

    def __call__(self, line: str) -> None:
        now = time.monotonic()
        if err.is_terminal or now - self.said < self.every_s:
            return
        self.said = now
        err.print(f"{line} ({now - self.started:.0f} s)", highlight=False)


class ProgressBar:
    """What a command's work reports to (``progress_bar`` makes it): ``bar(done, total)``
    counts items, ``bar.share(fraction, status)`` gives a share of the work and what it is
    at; a rich bar on a terminal, a ``PipedProgress`` line otherwise."""

    def __init__(self, bar: Progress, description: str) -> None:
        self._bar, self._description = bar, description
        self._task = bar.add_task(description, total=None)
        self._piped = PipedProgress()

    def __call__(self, done: int, total: int) -> None:
        self._bar.update(self._task, completed=done, total=total)
        self._piped(f"{self._description}: {done:,}/{total:,}")

    def share(self, fraction: float, status: str) -> None:
        done = min(1.0, fraction)
        self._bar.update(self._task, completed=done, total=1.0, description=status)
        self._piped(f"{status}: {done:.0%}")


@contextlib.contextmanager
def progress_bar(description: str, *, counted: bool = True) -> Iterator[ProgressBar]:
    """The one progress display of every command, on stderr (silenced by --quiet): items
    done of a total with the time left (``counted``), else the time taken so far, for work
    that knows only its share done (a search up to a time limit, a MILP)."""
    columns = ((MofNCompleteColumn(), TimeRemainingColumn()) if counted
               else (TimeElapsedColumn(),))
    bar = Progress("[progress.description]{task.description}", BarColumn(), *columns,
                   console=err, transient=True, disable=not err.is_terminal)
    with bar:
        yield ProgressBar(bar, description)


JsonOpt = Annotated[str | None, typer.Option(
    "--json", metavar="PATH|-", show_default=False,
    help="Write the result as JSON to PATH; '-' (or --json alone) prints it on stdout "
         "instead of the tables.")]


def json_to_stdout(target: str | Path | None) -> bool:
    """Whether ``--json`` asks for stdout; if so the tables stay off stdout, so what comes
    out parses as one JSON document."""
    if target is not None and str(target) == "-":
        out.quiet = True
        return True
    return False


def emit_json(target: str | Path | None, doc: object) -> None:
    """The ``--json PATH|-`` convention: nothing when not asked, the document on stdout for
    '-', else written to the file (non-finite numbers as null) and said on stderr."""
    if target is None:
        return
    from nettwin.report import json_safe, write_json

    if str(target) == "-":
        print(json.dumps(json_safe(doc), allow_nan=False))
        return
    write_json(doc, Path(target))
    err.print(f"wrote {target}")


def write_json_file(path: str | Path, doc: object) -> None:
    """Write a JSON document (or print it, for '-'): see ``emit_json``."""
    emit_json(path, doc)
