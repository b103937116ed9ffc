"""The ``nettwin`` command line (typer + rich)."""

from nettwin.cli.app import app, main

__all__ = ["app", "main"]
