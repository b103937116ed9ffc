"""``nettwin mcp``: the twin as an MCP server over stdio, for a local AI agent."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer

from nettwin.cli.common import alert, err, fail
from nettwin.errors import NettwinError

commands = typer.Typer()


@commands.command("mcp")
def mcp(
    network: Annotated[list[Path] | None, typer.Argument(
        metavar="FILE", show_default=False,
        help="Network files to serve (each one's id is the file's stem). Default: the "
             "bundled examples 'example' and 'munich'.")] = None,
    network_alias: Annotated[list[Path] | None, typer.Option(
        "--network", "-n", hidden=True, show_default=False,
        help="Deprecated: give the network files as FILE arguments.")] = None,
    role: Annotated[str, typer.Option(
        "--role", help="The local agent's role: viewer (reads), planner (simulate, "
                       "what-if, sweeps), operator (acknowledge alarms).")] = "planner",
    name: Annotated[str | None, typer.Option(
        "--name", help="Identity in the audit log (default: local:USER).")] = None,
    data_dir: Annotated[Path | None, typer.Option(
        "--data-dir", help="Audit log and live history (default: NETTWIN_DATA_DIR or "
                           "~/.local/share/nettwin).")] = None,
) -> None:
    """Serve the twin to a local AI agent over MCP (stdio): tools to list, describe,
    simulate, what-if, sweep, read the live state and estimate the traffic matrix; calls
    audited and rate limited as over HTTP (`nettwin serve` serves the same at /mcp)."""
    from nettwin.api.auth import Principal, Role
    from nettwin.api.service import Twin
    from nettwin.api.settings import Settings
    from nettwin.io import load_network
    from nettwin.mcp import build_server

    try:
        the_role = Role[role.upper()]
    except KeyError:
        alert.print(f"unknown role {role!r}: use viewer, planner, operator or admin")
        raise typer.Exit(2) from None
    if network_alias:
        err.print("[dim]note:[/] --network is deprecated: give the network files as FILE "
                  "arguments, as `nettwin simulate FILE` does", highlight=False)
        network = [*(network or []), *network_alias]
    settings = Settings(data_dir=data_dir) if data_dir else Settings()
    twin = Twin(settings)
    try:
        for path in network or []:
            if path.stem in twin.networks:
                alert.print(f"two networks named {path.stem!r}: rename one file")
                raise typer.Exit(2)
            twin.networks[path.stem] = load_network(path)
    except NettwinError as exc:
        raise fail(exc) from exc
    if not network:
        twin.load_examples()
    who = Principal(name or f"local:{getpass.getuser()}", the_role)
    try:
        build_server(twin, who).run("stdio")
    finally:
        twin.jobs.shutdown()
