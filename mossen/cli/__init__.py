"""The `mossen` command line: typer app wiring the commands together."""

from __future__ import annotations

import typer

from mossen import __version__
from mossen.cli.ask_cmd import ask_command
from mossen.cli.chat_cmd import chat_command
from mossen.cli.eval_cmd import eval_app
from mossen.cli.index_cmd import index_command
from mossen.cli.search_cmd import search_command
from mossen.cli.status_cmd import status_command


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mossen {__version__}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    """The CLI application with every command registered."""
    app = typer.Typer(
        name="mossen", no_args_is_help=True, add_completion=False, rich_markup_mode="rich",
        pretty_exceptions_enable=False,
        help="A local-first, retrieval-augmented coding assistant. Your code is indexed and searched "
             "on this machine.",
    )

    @app.callback()
    def root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")) -> None:
        """mossen: index a codebase locally, then search it."""

    app.command("index")(index_command)
    app.command("search")(search_command)
    app.command("status")(status_command)
    app.command("ask")(ask_command)
    app.command("chat")(chat_command)
    app.add_typer(eval_app, name="eval")
    return app


def main() -> None:
    """Console-script entry point."""
    build_app()()
