"""`mossen index`: build or update a repository's index, then summarise on one screen."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from indexer import IndexReport, index_repo
from mossen.cli.common import config_for, find_repo, reported_errors, stderr_console
from mossen.cli.progress import IndexProgress


def index_command(
    path: Optional[Path] = typer.Argument(None, help="Repository to index (default: the git work tree you stand in)."),
    index_dir: Optional[Path] = typer.Option(None, "--index-dir", help="Folder holding all indexes ($MOSSEN_INDEX_DIR)."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Drop this repository's index and build it anew."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="List every skipped file with its reason."),
    as_json: bool = typer.Option(False, "--json", help="Print the run's report as JSON on stdout."),
    lexical_only: bool = typer.Option(False, "--lexical-only", help="Stop once the index is searchable by words; "
                                      "embed later (the next `mossen index` continues)."),
    background: bool = typer.Option(False, "--background", help="Return once the index is searchable by words; "
                                    "embedding goes on in a background process."),
) -> None:
    """Index a repository incrementally: only changed files are re-chunked, only new text is embedded.

    First the lexical index (words, identifiers, paths): searchable within
    seconds. Then the embeddings, which take longer; search uses what exists
    meanwhile and says how complete it is. Interrupted embedding resumes where it
    stopped. Exits 0 when the index is consistent; skipped files (binary, too
    large, credentials, ...) are listed in the summary, not treated as errors.
    """
    err = stderr_console()
    with reported_errors(err):
        repo = find_repo(path)
        settings = config_for(repo, index_dir).index_settings()
        with IndexProgress(err) as progress:
            report = index_repo(repo, settings, progress, rebuild=rebuild,
                                dense=not (lexical_only or background))
        if background and report.pending:
            log = start_background_embedding(repo, index_dir, Path(report.index_dir))
            err.print(f"embedding {report.pending} chunks in the background (log: {log}); "
                      "`mossen status` shows how far it got")
    if as_json:
        typer.echo(json.dumps(asdict(report), default=str))
    else:
        print_summary(err, report, verbose)


def start_background_embedding(repo: Path, index_dir: Path | None, folder: Path) -> Path:
    """A detached `mossen index` process (the lexical phase is a no-op by then), its output in the index folder."""
    log = folder / "background.log"
    args = [sys.executable, "-m", "mossen", "index", str(repo)]
    if index_dir is not None:
        args += ["--index-dir", str(index_dir)]
    with log.open("ab") as out:
        subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
    return log


def print_summary(console: Console, report: IndexReport, verbose: bool) -> None:
    """A one-screen summary of an index run, skipped files grouped by reason."""
    table = Table.grid(padding=(0, 2))
    table.add_row("repository", report.repo)
    table.add_row("index", report.index_dir)
    table.add_row("files", f"{report.files_seen} seen, {report.files_changed} indexed, "
                           f"{report.files_unchanged} unchanged, {report.files_deleted} removed")
    table.add_row("chunks", f"{report.chunks_total} in index, +{report.chunks_added} / -{report.chunks_removed}")
    rate = report.embedded / report.seconds if report.seconds > 0 else 0.0
    table.add_row("embeddings", f"{report.embedded} computed ({rate:.0f}/s), {report.embed_cache_hits} from cache")
    if report.pending:
        done = report.chunks_total - report.pending
        table.add_row("dense", f"{done} of {report.chunks_total} chunks embedded "
                               f"({100 * done / max(report.chunks_total, 1):.0f}%); `mossen index` continues")
    if report.repaired:
        table.add_row("repaired", f"{report.repaired} vectors reconciled after an interrupted run")
    table.add_row("time", f"{report.seconds:.2f} s (searchable after {report.lexical_seconds:.2f} s)")
    table.add_row("skipped", f"{len(report.skipped)} files" if report.skipped else "none")
    console.print(table)
    if not report.skipped:
        return
    if verbose:
        for item in report.skipped:
            console.print(f"  [dim]{item.path}[/]: {item.reason}")
        return
    reasons = Counter(_reason_family(s.reason) for s in report.skipped)
    for reason, count in reasons.most_common(8):
        console.print(f"  {count:>6}  {reason}")
    console.print("  [dim](--verbose lists every skipped file)[/]")


def _reason_family(reason: str) -> str:
    """Group reasons that differ only in details, e.g. sizes."""
    return reason.split(" (")[0].split(":")[0]
