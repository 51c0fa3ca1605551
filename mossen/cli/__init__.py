"""The `mossen` command line: a typer app whose commands are imported only when they run.

`mossen search` must not pay for importing the model providers, the agent or
prompt_toolkit, so each command's module is imported by name when that command
is chosen (`--help` of the whole program imports them all, to list them).
"""

from __future__ import annotations

import importlib
from typing import Any

import click
import typer
from typer.core import TyperGroup

from mossen import __version__

# name -> (module, attribute): a command function, or a typer app for a command with subcommands
COMMANDS: dict[str, tuple[str, str]] = {
    "index": ("mossen.cli.index_cmd", "index_command"),
    "search": ("mossen.cli.search_cmd", "search_command"),
    "status": ("mossen.cli.status_cmd", "status_command"),
    "serve": ("mossen.cli.serve_cmd", "serve_command"),
    "ask": ("mossen.cli.ask_cmd", "ask_command"),
    "chat": ("mossen.cli.chat_cmd", "chat_command"),
    "eval": ("mossen.cli.eval_cmd", "eval_app"),
    "mcp": ("mossen.cli.mcp_cmd", "mcp_command"),
}


class LazyGroup(TyperGroup):
    """The root group: lists COMMANDS and imports one only when it is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute = COMMANDS[name]
        target: Any = getattr(importlib.import_module(module), attribute)
        if not isinstance(target, typer.Typer):
            single = typer.Typer(add_completion=False, rich_markup_mode="rich")
            single.command(name)(target)
            target = single
        command = typer.main.get_command(target)
        command.name = name
        return command


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mossen {__version__}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    """The CLI application."""
    app = typer.Typer(
        name="mossen", cls=LazyGroup, no_args_is_help=True, add_completion=False, rich_markup_mode="rich",
        pretty_exceptions_enable=False,
        help="A local-first, retrieval-augmented coding assistant. Your code is indexed and searched "
             "on this machine.",
    )

    @app.callback()
    def root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")) -> None:
        """mossen: index a codebase locally, then search it, ask about it, and work on it."""

    return app


def main() -> None:
    """Console-script entry point."""
    build_app()()
