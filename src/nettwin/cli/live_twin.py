"""What the live commands (``ingest``, ``state``, ``estimate-tm``) share: the store, lab and
prior options, how they read an instant, which network they mirror and how they open its
live twin, and how they report the prior the twin learned."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from nettwin.cli.common import (
    EXIT_BAD_INPUT,
    alert,
    err,
    load,
    out,
)
from nettwin.cli.render import pct
from nettwin.io import MetricPolicy

# nettwin.live.live_network.COUNTER_NOISE, written here so that --help loads no numba
# (tests/cli/test_live_cli.py holds the two equal)
COUNTER_NOISE = 1e-3

StoreOpt = Annotated[str | None, typer.Option(
    "--store", help="History database URL: sqlite:///PATH or postgresql+psycopg://USER@HOST/DB "
                    "(default: the embedded twin.db in NETTWIN_DATA_DIR).")]


def parse_when(text: str | None) -> float:
    """Epoch seconds from 'now', epoch seconds, ISO 8601, or -30s / -5m / -2h / -1d."""
    from nettwin.live.observations import parse_time

    if text is None or text == "now":
        return time.time()
    if text.startswith("-") and text[-1] in "smhd":
        try:
            return time.time() - float(text[1:-1]) * {"s": 1, "m": 60, "h": 3600,
                                                        "d": 86400}[text[-1]]
        except ValueError:
            pass
    try:
        return parse_time(float(text) if text.replace(".", "", 1).isdigit() else text)
    except ValueError as exc:
        raise typer.BadParameter(f"{exc}; use now, epoch seconds, ISO 8601 or -5m") from None


def iso(t: float | None) -> str:
    return (datetime.fromtimestamp(t, UTC).isoformat() if t is not None and math.isfinite(t)
            else "never")


LabOpt = Annotated[Path | None, typer.Option(
    "--lab", help="Mirror the FRR lab whose state is in this folder (its routers, links, "
                  "costs and traffic as built). Without a network FILE or --lab, a lab "
                  "running in NETTWIN_DATA_DIR/lab is mirrored; else the bundled Abilene.")]


def network_to_mirror(file: Path | None, fmt: Any, capacity: float, policy: MetricPolicy,
             lab: Path | None = None, metrics: Path | None = None) -> Any:
    """The network FILE, else --lab, else the lab running in the data folder, else Abilene: the
    lab's exporter names its routers and links, which another network would dead-letter."""
    if file is not None and lab is not None:
        raise typer.BadParameter("give a network FILE or --lab, not both",
                                 param_hint="--lab")
    if file is None:
        from nettwin.paths import data_dir

        default = data_dir() / "lab"
        folder = lab or (default if (default / "lab.json").is_file() else None)
        if folder is not None:
            from nettwin.lab.forwarding import network_of
            from nettwin.lab.frr import Lab

            network = network_of(Lab.load(folder).plan, injected=False)
            if lab is None:
                err.print(f"mirroring the lab in {folder} (a network FILE argument mirrors "
                          "another network)")
            if metrics is not None:
                from nettwin.io.metrics import apply_metrics_file

                network = apply_metrics_file(network, metrics)
            return network
    return load(file, fmt, None, capacity, policy, metrics=metrics)


def open_twin(file: Path | None, fmt: Any, capacity: float, policy: MetricPolicy,
              store_url: str | None, lab: Path | None = None, metrics: Path | None = None,
              *, reader: str | None = None, counter_noise: float = COUNTER_NOISE,
              timezone: str | None = None) -> Any:
    """The live twin of the network mirrored, on its history store, reading times in the
    operator's ``timezone`` (None: UTC). A ``reader`` (the command, for the hint) only
    reads the history: an embedded store that does not exist is not created just to be
    found empty (exit 3, saying what to run first)."""
    from nettwin.live import LiveTwin, Store, default_store_url

    network = network_to_mirror(file, fmt, capacity, policy, lab, metrics)
    if reader is not None:
        missing = _missing_sqlite_file(store_url)
        if missing is not None:
            no_history(network.name, f"sqlite:///{missing}", file, reader)
    return LiveTwin(network, Store(store_url or default_store_url()),
                    counter_noise=counter_noise, timezone=timezone)


def _missing_sqlite_file(store_url: str | None) -> Path | None:
    """The embedded store's file when it does not exist yet (a server URL: None, unknown)."""
    from sqlalchemy.engine import make_url

    from nettwin.paths import data_dir

    if store_url is None:
        path = data_dir() / "twin.db"
    else:
        # as SQLAlchemy reads it: a driver named (sqlite+pysqlite://) or options after '?'
        url = make_url(store_url)
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return None
        path = Path(url.database)
    return None if path.exists() else path


def no_history(name: str, url: str, file: Path | None, reader: str) -> NoReturn:
    """Exit 3: nothing measured for this network, and the command that mirrors it first."""
    arg = f" {file}" if file is not None else ""
    hint = (f"mirror its counters first: `nettwin ingest OBSERVATIONS.jsonl{arg}` (a file, "
            f"NATS, MQTT or Prometheus source; `nettwin synth{arg}` writes a sample "
            "to synth-out/observations.jsonl), then "
            f"`nettwin {reader}{arg}` again")
    if reader == "estimate-tm":
        hint += (f"; or, with no store, estimate real matrices back from their link loads: "
                 f"`nettwin estimate-tm{arg} --validate 'MATRICES/*.xml'`")
    alert.print(f"no history for network {name!r} in {url}: {hint}", highlight=False,
                soft_wrap=True)
    raise typer.Exit(EXIT_BAD_INPUT)


NoiseOpt = Annotated[float, typer.Option(
    "--counter-noise", min=1e-6, max=0.5,
    help="The counters' relative error the matrix estimate and its drift alarm assume (0.01 "
         "for 1 %, usual for counters read by polling; too small reads polling noise as "
         "drift). The API takes NETTWIN_COUNTER_NOISE.")]

def check_timezone_option(value: str | None) -> str | None:
    """--timezone refused at the command line (exit 2) when zoneinfo does not know it."""
    from nettwin.errors import NettwinError
    from nettwin.timezones import check_timezone

    if value is None:
        return None
    try:
        return check_timezone(value)
    except NettwinError as exc:
        raise typer.BadParameter(str(exc)) from None


TimezoneOpt = Annotated[str | None, typer.Option(
    "--timezone", callback=check_timezone_option, metavar="ZONE",
    help="The operator's IANA time zone (Europe/Berlin, America/Los_Angeles): the counters' "
         "times are read in it for the prior's time-of-day bins and weekday / weekend day "
         "types, as the history files' dates are written (default UTC). The API takes "
         "NETTWIN_TIMEZONE.")]

PriorOpt = Annotated[str | None, typer.Option(
    "--prior-from", help="Measured past matrices (a folder or a quoted glob of traffic "
                         "files: flow exports, uploaded matrices) to learn the prior from: "
                         "per-source fan-out shares and time-of-day profiles, chosen and "
                         "calibrated on the history's own later part. Without it: gravity.")]


def history_span(twin: Any, file: Path | None, reader: str) -> tuple[float, float]:
    """First and last measured instants in the store; exit 3 when there are none."""
    span: tuple[float, float] | None = twin.store.time_range(twin.name)
    if span is None:
        no_history(twin.name, twin.store.url, file, reader)
    return span


def print_kept_prior(twin: Any) -> None:
    """Say that the twin's prior was learned again from the matrices the store keeps (an
    earlier ``ingest --prior-from`` or PUT .../traffic-history), and from which; or that
    matrices are kept for an earlier version of the network (other links or ports) and how
    to carry them over or forget them."""
    if twin.prior_source is None:
        for key, n in twin.history_elsewhere:
            out.print(f"[dim]note:[/] gravity prior, while {n} measured matrices are kept in "
                      f"the store under {key}, an earlier version of this network (its links "
                      "or ports changed since): `estimate-tm --carry-prior` carries them "
                      "over, `estimate-tm --forget-prior` forgets them")
    if twin.prior_source != "store" or twin.prior_choice is None:
        return
    labels = twin.prior_labels
    span = f" ({labels[0]} .. {labels[-1]})" if labels else ""
    out.print(f"prior: learned from {twin.prior_matrices} measured matrices kept in the store "
              f"for {twin.name}{span}; `ingest --prior-from` replaces them")
    print_choice(twin.prior_matrices, twin.prior_choice, twin.timezone)


def print_choice(n: int, choice: Any, timezone: str | None = "UTC") -> None:
    """The options the prior chose on its history; ``timezone`` the zone its estimates
    read days in (None: days as the files are dated, no live times)."""
    hl = "none" if choice.half_life is None else f"{choice.half_life:.0f} matrices"
    analog = "off" if choice.analog_tau is None else f"tau {choice.analog_tau:g}"
    out.print(f"prior learned from {n} measured matrices: {choice.bins} time-of-day bin(s), "
              f"recency half-life {hl}, analog weighting by node totals: {analog}, "
              f"fan-in combined: {choice.use_fanin}, KL-fitted to "
              f"node totals: {choice.fit_totals}; sd calibrated x{choice.kappa:.2f}; "
              f"{pct(choice.validation_error)} median error on the history's last "
              f"{choice.validation_matrices} matrices"
              + (f"; other day type weighed x{choice.day_weight:g} "
                 + (f"({timezone} days)" if timezone else "(days as dated)")
                 if choice.day_weight != 1.0 else ""))
