"""Every command of the real CLI, groups walked, for the tests of conventions that hold for
all of them."""

from __future__ import annotations

from typer._click import core as click
from typer.core import TyperGroup

from nettwin.cli.app import COMMANDS, load_command


def every_command() -> list[tuple[str, click.Command]]:
    """(``"agent evaluate"``, its click command) for every leaf command."""
    found: list[tuple[str, click.Command]] = []

    def walk(path: str, command: click.Command) -> None:
        if isinstance(command, TyperGroup):
            for name, sub in command.commands.items():
                walk(f"{path} {name}", sub)
        else:
            found.append((path, command))

    for name in COMMANDS:
        walk(name, load_command(name))
    return found
