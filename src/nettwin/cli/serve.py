"""``nettwin serve`` and ``nettwin token create|list|revoke``: run the API, manage tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nettwin.api.auth import Role, TokenStore
from nettwin.api.settings import Settings
from nettwin.cli.common import (
    EXIT_BAD_INPUT,
    JsonOpt,
    alert,
    emit_json,
    err,
    fail,
    json_to_stdout,
    out,
)
from nettwin.cli.live_twin import check_timezone_option
from nettwin.errors import NettwinError

commands = typer.Typer()

token_app = typer.Typer(help="Local API tokens (stored hashed in the data folder).",
                        no_args_is_help=True)

DataDirOpt = Annotated[Path | None, typer.Option(
    "--data-dir", help="Tokens and audit log (default: NETTWIN_DATA_DIR or "
                       "~/.local/share/nettwin).")]


def _settings(data_dir: Path | None, **extra: object) -> Settings:
    """The service's settings (NETTWIN_* from the environment, then these); a value the
    service refuses ends the command with exit 2 naming it (every command here reads them)."""
    from pydantic import ValidationError

    values = {"data_dir": data_dir} if data_dir else {}
    try:
        return Settings(**values, **extra)  # type: ignore[arg-type]
    except ValidationError as exc:  # NETTWIN_* set to a value the service refuses
        alert.print(f"[bold red]error:[/] {'; '.join(str(e['msg']) for e in exc.errors())} "
                    f"(settings: {', '.join(str(e['loc'][0]) for e in exc.errors())})",
                    highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option("--name", help="Who or what uses the token.")],
    role: Annotated[str, typer.Option(
        "--role", help="viewer, planner, operator or admin.")] = "viewer",
    data_dir: DataDirOpt = None,
) -> None:
    """Create a token and print it once (only its hash is kept)."""
    try:
        the_role = Role[role.upper()]
    except KeyError:
        alert.print(f"unknown role {role!r}: use viewer, planner, operator or admin")
        raise typer.Exit(2) from None
    if not name.strip() or len(name) > 100 or not name.isprintable():
        err.print(f"bad token name {name[:100]!r}: use 1 to 100 printable characters")
        raise typer.Exit(EXIT_BAD_INPUT)
    settings = _settings(data_dir)
    print(TokenStore(settings.tokens_file).create(name, the_role))
    err.print(f"[dim]token for {name!r} ({the_role.name.lower()}) stored hashed in "
              f"{settings.tokens_file}[/]")



@token_app.command("list")
def token_list(
    data_dir: DataDirOpt = None,
    json_out: JsonOpt = None,
) -> None:
    """List tokens: id, name, role, created, revoked (never the tokens themselves)."""
    from rich.table import Table

    rows = TokenStore(_settings(data_dir).tokens_file).entries()
    if json_out is not None:
        emit_json(json_out, rows)
        if json_to_stdout(json_out):
            return
    table = Table("id", "name", "role", "created", "revoked")
    for row in rows:
        table.add_row(row["id"], row["name"], row["role"], row.get("created", ""),
                      row.get("revoked", ""))
    out.print(table)


@token_app.command("revoke")
def token_revoke(
    name_or_id: Annotated[str, typer.Argument(
        metavar="NAME|ID", help="A token id (see `token list`), or a name: all its tokens.")],
    data_dir: DataDirOpt = None,
) -> None:
    """Revoke tokens: refused from the next request on (kept in the file, marked revoked)."""
    store = TokenStore(_settings(data_dir).tokens_file)
    revoked = store.revoke(name_or_id)
    if not revoked:
        err.print(f"no live token with id or name {name_or_id!r}: see `nettwin token list`")
        raise typer.Exit(EXIT_BAD_INPUT)
    for row in revoked:
        err.print(f"revoked {row['id']} ({row['name']}, {row['role']})")

@commands.command()
def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8080,
    data_dir: DataDirOpt = None,
    certfile: Annotated[Path | None, typer.Option("--certfile", help="TLS certificate.")] = None,
    keyfile: Annotated[Path | None, typer.Option("--keyfile", help="TLS private key.")] = None,
    telemetry_s: Annotated[float, typer.Option(
        "--telemetry-s", min=0.0, help="Feed the example network simulated live traffic "
                                       "every this many seconds (0: off).")] = 2.0,
    shadow: Annotated[list[str] | None, typer.Option(
        "--shadow", help="Run a policy in continuous shadow mode on every simulated network "
                         "(its changes judged and recorded, never applied): greedy, "
                         "optimizer, random, noop, or a model saved by `nettwin agent train` "
                         "(.npz). Repeatable.")] = None,
    shadow_every_s: Annotated[float, typer.Option(
        "--shadow-every-s", min=5.0, help="Seconds between a shadow policy's runs.")] = 60.0,
    timezone: Annotated[str | None, typer.Option(
        "--timezone", callback=check_timezone_option, metavar="ZONE",
        help="The operator's IANA time zone (Europe/Berlin): the live twins read the "
             "counters' and uploaded matrices' times of day and days of the week in it, as "
             "history files' dates are written (default: NETTWIN_TIMEZONE, else UTC).")
    ] = None,
) -> None:
    """Serve the twin: REST API (OpenAPI at /docs) and the dashboard (/ui), with the bundled
    Abilene core and Munich microwave backhaul fed simulated live traffic and weather.

    On the first start (no tokens yet) an admin token is created and a sign-in link printed."""
    import uvicorn

    from nettwin.api import create_app

    zone = {} if timezone is None else {"timezone": timezone}
    settings = _settings(data_dir, host=host, port=port, simulate_telemetry_s=telemetry_s,
                         shadow_policies=shadow or [], shadow_every_s=shadow_every_s, **zone)
    if shadow:
        from nettwin.api.shadow_agents import make_policy

        try:
            for spec in shadow:
                make_policy(spec, allow_files=True)
        except NettwinError as exc:
            raise fail(exc) from None
    store = TokenStore(settings.tokens_file)
    scheme = "https" if certfile else "http"
    if not store.path.exists():
        token = store.create("local-admin", Role.ADMIN)
        alert.print(f"first start: created an admin token (stored hashed in {store.path}).\n"
                  f"dashboard: [bold]{scheme}://{host}:{port}/ui/#token={token}[/]\n"
                  "more tokens: `nettwin token create --name NAME --role viewer`", soft_wrap=True)
    else:
        alert.print(f"dashboard: {scheme}://{host}:{port}/ui/ (sign in with a token from "
                  "`nettwin token create`)")
    if telemetry_s > 0:
        from nettwin.cli.warmup import cache_note

        err.print(f"kernels, in the background: {cache_note()}; progress at /api/v1/warmup "
                  "(`nettwin warmup` does it ahead)")
    app = create_app(settings)
    try:  # the MCP server at /mcp, for AI agents, when nettwin[agents] is installed
        from nettwin.mcp import mount_mcp
    except ModuleNotFoundError as exc:
        if exc.name != "mcp":
            raise
        err.print("[dim]no MCP server at /mcp: pip install 'nettwin[agents]'[/]")
    else:
        mount_mcp(app)
    uvicorn.run(app, host=host, port=port,
                ssl_certfile=str(certfile) if certfile else None,
                ssl_keyfile=str(keyfile) if keyfile else None)
