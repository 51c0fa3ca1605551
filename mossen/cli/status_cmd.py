"""`mossen status`: what the index holds, where, and how stale it is."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from indexer import IndexStatus, index_status
from mossen.cli.common import config_for, find_repo, reported_errors, stderr_console


def status_command(
    path: Optional[Path] = typer.Argument(None, help="Repository (default: the git work tree you stand in)."),
    index_dir: Optional[Path] = typer.Option(None, "--index-dir", help="Folder holding all indexes ($MOSSEN_INDEX_DIR)."),
    as_json: bool = typer.Option(False, "--json", help="Print the status as one JSON object."),
) -> None:
    """Files, chunks, languages, model, index size and location, last run, stale files."""
    with reported_errors(stderr_console()):
        repo = find_repo(path)
        status = index_status(repo, config_for(repo, index_dir).index_settings())
    if as_json:
        typer.echo(json.dumps(asdict(status)))
    else:
        render_status(Console(), status)


def render_status(console: Console, status: IndexStatus) -> None:
    """The status as a small table."""
    if not status.exists:
        console.print(f"{status.repo} has no index yet (it would live in {status.index_dir}); run `mossen index`.")
        return
    table = Table.grid(padding=(0, 2))
    table.add_row("repository", status.repo)
    table.add_row("index", f"{status.index_dir} ({status.size_bytes / 1024 / 1024:.1f} MiB)")
    table.add_row("model", f"{status.model} ({status.dimension} dims)")
    table.add_row("files", f"{status.files} indexed, {status.skipped_files} skipped")
    table.add_row("chunks", str(status.chunks))
    done = status.chunks - status.pending_chunks
    table.add_row("embedded", "all chunks" if not status.pending_chunks else
                  f"{done} of {status.chunks} ({100 * done / max(status.chunks, 1):.0f}%); "
                  "search uses what exists, `mossen index` continues")
    table.add_row("languages", ", ".join(f"{k} {v}" for k, v in list(status.languages.items())[:10]))
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(status.last_indexed)) if status.last_indexed else "never"
    table.add_row("last indexed", when)
    stale = f"{status.stale_files} files changed since" if status.stale_files else "up to date"
    table.add_row("stale", stale)
    console.print(table)
