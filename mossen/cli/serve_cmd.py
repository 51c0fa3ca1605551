"""`mossen serve`: the warm search server of one repository (normally started by `mossen search`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from mossen.cli.common import config_for, find_repo, reported_errors, stderr_console
from mossen.search_server import serve


def serve_command(
    path: Optional[Path] = typer.Argument(None, help="Repository (default: the git work tree you stand in)."),
    idle: Optional[float] = typer.Option(None, "--idle", min=1, help="Stop after this many seconds without a search (config search.server_idle)."),
    index_dir: Optional[Path] = typer.Option(None, "--index-dir", help="Folder holding all indexes ($MOSSEN_INDEX_DIR)."),
) -> None:
    """Keep this repository's index open and answer searches over a local socket until idle.

    `mossen search` starts it on demand; run it yourself to keep it warm. It
    listens on a Unix socket only this user can open, and exits at once if a
    server for the same index is already running.
    """
    with reported_errors(stderr_console()):
        repo = find_repo(path).resolve()
        config = config_for(repo, index_dir)
        serve(repo, config.index_settings(), idle or config.get("search.server_idle"))
