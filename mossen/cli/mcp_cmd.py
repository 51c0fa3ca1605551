"""`mossen mcp`: serve this repository's index to other agents over the Model Context Protocol (stdio)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from mossen.cli.common import config_for, find_repo, reported_errors, stderr_console
from mossen.config import Config


def mcp_command(
    path: Optional[Path] = typer.Option(None, "--path", help="Repository (default: the git work tree you stand in)."),
    no_refresh: bool = typer.Option(False, "--no-refresh", help="Do not re-index changed files before a search."),
    index_dir: Optional[Path] = typer.Option(None, "--index-dir", help="Folder holding all indexes ($MOSSEN_INDEX_DIR)."),
) -> None:
    """Serve the repository to MCP clients (Claude Code, Claude Desktop, Cursor, Continue, Codex) over stdio.

    Tools, all read-only: search_code (the `mossen search --json` results),
    get_context (the code `mossen ask` would send, within a token budget),
    read_chunk (lines of an indexed file; nothing outside the repository, no
    credential files), index_status. Like `mossen search`, a search first
    re-indexes changed files (the index only, never your files) unless
    --no-refresh. Run `mossen index` once first. stdout carries only the
    protocol; logs go to stderr. Only what the tools return reaches the
    client, and through it the client's model.
    """
    with reported_errors(stderr_console()):
        repo = find_repo(path)
        _serve(repo, config_for(repo, index_dir), refresh=not no_refresh)


def _serve(repo: Path, config: Config, refresh: bool) -> None:
    """The protocol stack (the mcp SDK, pydantic) and the search stack are imported only when the server
    runs, not by `mossen --help`, which imports every command."""
    from indexer.pipeline import resolve_repo  # noqa: PLC0415 - start-up cost, see the docstring
    from mossen.mcp_server import serve_stdio  # noqa: PLC0415
    from mossen.mcp_tools import RepoTools, ToolDefaults  # noqa: PLC0415

    defaults = ToolDefaults(config.get("search.top_k"), config.get("ask.budget"), config.get("ask.top_k"), refresh)
    serve_stdio(RepoTools(resolve_repo(repo), config.index_settings(), defaults))
