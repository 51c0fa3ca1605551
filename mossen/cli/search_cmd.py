"""`mossen search`: hybrid retrieval over the index, as a rich list or the JSON contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.syntax import Syntax
from rich.text import Text

from indexer.identifiers import query_terms
from indexer.records import SearchHit
from indexer.settings import IndexSettings
from mossen import search_client
from mossen.cli.common import config_for, find_repo, report_refresh, reported_errors, stderr_console
from mossen.search_wire import SearchAnswer, SearchRequest

SNIPPET_LINES = 12


def search_command(
    query: str = typer.Argument(..., help="What you are looking for, in words or identifiers."),
    path: Optional[Path] = typer.Option(None, "--path", help="Repository (default: the git work tree you stand in)."),
    top_k: Optional[int] = typer.Option(None, "--top-k", "-k", min=1, max=1000, help="How many results (config search.top_k, default 10)."),
    lang: Optional[str] = typer.Option(None, "--lang", help="Only this language, e.g. python, go, tsx."),
    glob: Optional[str] = typer.Option(None, "--glob", help="Only paths matching this gitignore-style pattern, e.g. 'src/**/*.py'."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON array (the search contract) and nothing else on stdout."),
    no_refresh: bool = typer.Option(False, "--no-refresh", help="Do not re-index changed files before searching."),
    no_server: bool = typer.Option(False, "--no-server", help="Search in this process; neither use nor start the warm search server."),
    index_dir: Optional[Path] = typer.Option(None, "--index-dir", help="Folder holding all indexes ($MOSSEN_INDEX_DIR)."),
) -> None:
    """Search the index: dense vectors, BM25 over chunks, files, symbol and parameter names and named paths, fused by rank.

    Files the query names are matched by path: a word written as code
    (`run_all`, `indexer.ignore`, `parseArgs`) or a leading "scope:".

    Changed files are re-indexed first (fast path) unless --no-refresh. A warm
    search server per repository (started on demand, stopped when idle; config
    search.server) keeps the index open, so searches after the first take
    milliseconds.
    """
    err = stderr_console()
    with reported_errors(err):
        repo = find_repo(path)
        config = config_for(repo, index_dir)
        settings = config.index_settings()
        request = SearchRequest(query, top_k or config.get("search.top_k"), lang, glob, not no_refresh)
        use_server = config.get("search.server") and not no_server
        found = search_client.ask(settings.index_dir(repo.resolve()), request) if use_server else None
        if found is None:
            found = _search_here(repo, settings, request)
            if use_server:
                search_client.start(repo, index_dir, config.get("search.server_idle"))
        report_refresh(err, found.refreshed, found.notes)
        if found.embedded < found.chunks:
            err.print(f"[yellow]note:[/] embeddings cover {found.embedded} of {found.chunks} chunks "
                      f"({100 * found.embedded / found.chunks:.0f}%); results rely more on words until "
                      "`mossen index` finishes")
    if as_json:
        typer.echo(json.dumps([h.to_json() for h in found.hits]))
    else:
        render_hits(Console(), found.hits, query)


def _search_here(repo: Path, settings: IndexSettings, request: SearchRequest) -> SearchAnswer:
    """The search in this process. Its stack (numpy, Chroma, the query model) is imported only on
    this path: a search the warm server answers never pays for it."""
    from mossen.search_service import search_here  # noqa: PLC0415 - start-up cost, see the docstring

    return search_here(repo, settings, request)


def render_hits(console: Console, hits: list[SearchHit], query: str) -> None:
    """Each hit as path:lines, symbol, score and a highlighted snippet."""
    if not hits:
        console.print("no results")
        return
    terms = set(query_terms(query))
    for number, hit in enumerate(hits, 1):
        title = Text.assemble((f"{number}. ", "bold"), (f"{hit.path}:{hit.start_line}-{hit.end_line}", "bold cyan"))
        if hit.symbol:
            title.append(f"  {hit.symbol}", style="magenta")
        title.append(f"  {hit.score:.3f}", style="dim")
        console.print(title)
        lines = hit.text.splitlines()[:SNIPPET_LINES]
        marked = {hit.start_line + i for i, line in enumerate(lines) if terms & set(query_terms(line))}
        lexer = hit.language if hit.language not in ("text", "window") else "text"
        console.print(Syntax("\n".join(lines), lexer, line_numbers=True, start_line=hit.start_line,
                             highlight_lines=marked, word_wrap=False, theme="ansi_dark"))
        if len(hit.text.splitlines()) > SNIPPET_LINES:
            console.print(f"   [dim]… {hit.end_line - hit.start_line + 1 - SNIPPET_LINES} more lines[/]")
