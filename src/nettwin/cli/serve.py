"""``nettwin serve`` and ``nettwin token create``: run the API, hand out tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nettwin.api.auth import Role, TokenStore
from nettwin.api.settings import Settings
from nettwin.cli.common import alert, err

commands = typer.Typer()

token_app = typer.Typer(help="Local API tokens (stored hashed in the data folder).",
                        no_args_is_help=True)

DataDirOpt = Annotated[Path | None, typer.Option(
    "--data-dir", help="Tokens and audit log (default: NETTWIN_DATA_DIR or "
                       "~/.local/share/nettwin).")]


def _settings(data_dir: Path | None, **extra: object) -> Settings:
    values = {"data_dir": data_dir} if data_dir else {}
    return Settings(**values, **extra)  # type: ignore[arg-type]


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
    settings = _settings(data_dir)
    print(TokenStore(settings.tokens_file).create(name, the_role))
    err.print(f"[dim]token for {name!r} ({the_role.name.lower()}) stored hashed in "
              f"{settings.tokens_file}[/]")


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
) -> None:
    """Serve the twin: REST API (OpenAPI at /docs) and the dashboard (/ui), with the bundled
    Abilene core and Munich microwave backhaul fed simulated live traffic and weather.

    On the first start (no tokens yet) an admin token is created and a sign-in link printed."""
    import uvicorn

    from nettwin.api import create_app

    settings = _settings(data_dir, host=host, port=port, simulate_telemetry_s=telemetry_s)
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
