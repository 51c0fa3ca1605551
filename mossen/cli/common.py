"""What every command shares: the repository to work on, consoles, and error reporting."""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import typer
from rich.console import Console

from indexer import IndexerError, IndexLockedError
from mossen.config import Config, load_config
from mossen.errors import MossenError

EXIT_ERROR = 1
EXIT_LOCKED = 3


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


def config_for(repo: Path, index_dir: Path | None) -> Config:
    """Configuration for `repo`, with the --index-dir flag on top."""
    return load_config(repo if repo.is_dir() else None, {"index.dir": index_dir})


@contextmanager
def reported_errors(console: Console) -> Iterator[None]:
    """Turn mossen's and the indexer's errors into one clear line and a truthful exit code."""
    try:
        yield
    except IndexLockedError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(EXIT_LOCKED) from None
    except (IndexerError, MossenError) as exc:
        if os.environ.get("MOSSEN_DEBUG"):
            traceback.print_exc(file=sys.stderr)
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(EXIT_ERROR) from None
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        raise typer.Exit(130) from None
    except Exception as exc:  # a bug: say so plainly, keep the traceback for MOSSEN_DEBUG
        if os.environ.get("MOSSEN_DEBUG"):
            traceback.print_exc(file=sys.stderr)
        console.print(f"[bold red]internal error:[/] {type(exc).__name__}: {exc}\n"
                      "Run again with MOSSEN_DEBUG=1 for the traceback, and please report it.")
        raise typer.Exit(EXIT_ERROR) from None
