"""What every command shares: the repository to work on, consoles, and error reporting."""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import typer
from rich.console import Console
from rich.markup import escape

from indexer.errors import IndexerError, IndexLockedError
from mossen.config import Config, load_config
from mossen.errors import MossenError, ProviderError

EXIT_ERROR = 1
EXIT_LOCKED = 3
EXIT_MODEL = 4  # no model reachable, the provider failed, or the answer is partial


def stderr_console() -> Console:
    """Progress, warnings and errors go to stderr so stdout stays clean for --json."""
    return Console(stderr=True, highlight=False)


def find_repo(path: Path | None) -> Path:
    """The repository to work on: PATH if given, else the git work tree around the cwd, else the cwd."""
    if path is not None:
        return path
    cwd = Path.cwd()
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=cwd, capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return cwd
    return Path(top.stdout.strip()) if top.returncode == 0 and top.stdout.strip() else cwd


def config_for(repo: Path, index_dir: Path | None, **flags: Any) -> Config:
    """Configuration for `repo`, with --index-dir and other flags (`model=...`) on top."""
    return load_config(repo if repo.is_dir() else None, {"index.dir": index_dir, **flags})


def report_refresh(err: Console, refreshed: tuple[int, int], notes: tuple[str, ...]) -> None:
    """Say what a refresh before a search did, or why it did not happen."""
    for note in notes:
        err.print(f"[yellow]note:[/] {escape(note)}")
    if any(refreshed):
        err.print(f"[dim]refreshed {refreshed[0]} changed and {refreshed[1]} removed files[/]")


@contextmanager
def reported_errors(console: Console) -> Iterator[None]:
    """Turn mossen's and the indexer's errors into one clear line and a truthful exit code."""
    try:
        yield
    except IndexLockedError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(EXIT_LOCKED) from None
    except ProviderError as exc:
        if os.environ.get("MOSSEN_DEBUG"):
            traceback.print_exc(file=sys.stderr)
        console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(EXIT_MODEL) from None
    except (IndexerError, MossenError) as exc:
        if os.environ.get("MOSSEN_DEBUG"):
            traceback.print_exc(file=sys.stderr)
        console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(EXIT_ERROR) from None
    except (typer.Exit, typer.Abort):
        raise
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        raise typer.Exit(130) from None
    except Exception as exc:  # a bug: say so plainly, keep the traceback for MOSSEN_DEBUG
        if os.environ.get("MOSSEN_DEBUG"):
            traceback.print_exc(file=sys.stderr)
        console.print(f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))}\n"
                      "Run again with MOSSEN_DEBUG=1 for the traceback, and please report it.", soft_wrap=True)
        raise typer.Exit(EXIT_ERROR) from None
