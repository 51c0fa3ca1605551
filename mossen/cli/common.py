"""What every command shares: the repository to work on, consoles, and error reporting."""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

import typer
from rich.console import Console
from rich.markup import escape

from indexer import IndexerError, IndexLockedError, IndexSettings, index_exists, index_repo
from mossen.config import Config, load_config
from mossen.errors import MossenError, ProviderError

EXIT_ERROR = 1
EXIT_LOCKED = 3
EXIT_MODEL = 4  # no model reachable, the provider failed, or the answer is partial
REFRESH_LOCK_WAIT = 0.5  # seconds: a busy index is searched as it is rather than waited for


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


def refresh_index(repo: Path, settings: IndexSettings, err: Console) -> None:
    """Bring an existing index up to date, or say why the search runs on the index as it is."""
    if not index_exists(repo, settings):
        return
    try:
        report = index_repo(repo, replace(settings, lock_timeout=REFRESH_LOCK_WAIT))
    except IndexLockedError as exc:
        err.print(f"[yellow]note:[/] not refreshed, {exc.holder} is indexing; results may be stale")
        return
    if report.files_changed or report.files_deleted:
        err.print(f"[dim]refreshed {report.files_changed} changed and {report.files_deleted} removed "
                  f"files in {report.seconds:.2f} s[/]")


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
