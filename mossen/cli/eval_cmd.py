"""`mossen eval`: retrieval quality of the index on suites of real queries, strategies side by side.

    mossen eval [PATH] [--suite FILE ...] [--history] [--docstrings] [--strategy S,S] [--json]
    mossen eval generate history|docstring PATH -o FILE [--masked] [--max N]
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import Any, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table
from typer.core import TyperGroup

from indexer import IndexSettings
from mossen.cli.common import config_for, find_repo, reported_errors, stderr_console
from mossen.errors import UsageError
from mossen.evaluation.cases import Case, read_cases, write_cases
from mossen.evaluation.docstrings import docstring_cases, strip_docstrings
from mossen.evaluation.history import history_cases
from mossen.evaluation.report import comparison_text, header, headroom_text, suite_json, table_rows
from mossen.evaluation.runner import RunEvent, SuiteResult, eval_cache_root, run_suite, stripped_corpus

DEFAULT_STRATEGIES = "lexical,dense,hybrid"
MIN_TABLE_WIDTH = 220  # when stdout is not a terminal, do not squeeze the table into 80 columns


class EvalGroup(TyperGroup):
    """`eval` takes PATH itself and has subcommands: a first word naming a subcommand is one."""

    allow_interspersed_args = True  # `mossen eval . --json` as well as `mossen eval --json .`

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] in self.commands:
            super().parse_args(ctx, [])  # the group's own options keep their defaults
            ctx._protected_args, ctx.args = args[:1], args[1:]
            return ctx.args
        return super().parse_args(ctx, args)


eval_app = typer.Typer(cls=EvalGroup, invoke_without_command=True, no_args_is_help=False,
                       add_completion=False, rich_markup_mode="rich")


class SuiteKind(str, Enum):
    """Which generator `mossen eval generate` runs."""

    history = "history"
    docstring = "docstring"


@dataclass(frozen=True, slots=True)
class PlannedSuite:
    """A suite to run: its cases and whether the corpus must be searched without docstrings."""

    name: str
    cases: list[Case]
    strip: bool


@eval_app.callback()
def eval_command(
    ctx: typer.Context,
    path: Optional[Path] = typer.Argument(None, help="Repository (default: the git work tree you stand in)."),
    suite: list[Path] = typer.Option([], "--suite", help="A JSONL suite file (repeatable)."),
    history: bool = typer.Option(False, "--history", help="Generate the history suite of PATH (the default "
                                                          "when no --suite is given)."),
    docstrings: bool = typer.Option(False, "--docstrings", help="Generate docstring suites of PATH (plain and "
                                                                "masked), searched with docstrings stripped."),
    strategy: str = typer.Option(DEFAULT_STRATEGIES, "--strategy", help="Comma-separated strategies to compare."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object and nothing else on stdout."),
    top_k: int = typer.Option(100, "--top-k", min=1, max=1000, help="Chunks retrieved per query."),
    index_dir: Optional[Path] = typer.Option(None, "--index-dir",
                                             help="Folder holding all indexes ($MOSSEN_INDEX_DIR)."),
) -> None:
    """Measure retrieval on suites of queries with known answers: Recall@k, MRR, nDCG@10 with 95% CIs.

    Without --suite, the history suite of PATH's own git history is generated on the fly.
    """
    if ctx.invoked_subcommand is not None:
        return
    err = stderr_console()
    with reported_errors(err):
        repo = find_repo(path)
        settings = config_for(repo, index_dir).index_settings()
        strategies = strategy.split(",")
        planned = plan_suites(repo, suite, history or not (suite or docstrings), docstrings)
        results = [_run_one(repo, settings, p, strategies, top_k, err) for p in planned]
    if as_json:
        typer.echo(json.dumps({"repo": str(repo), "suites": [suite_json(r) for r in results]}))
        return
    out = Console()
    if not out.is_terminal:
        out = Console(width=max(out.width, MIN_TABLE_WIDTH))
    for result in results:
        render_suite(out, result)


@eval_app.command("generate")
def generate_command(
    kind: SuiteKind = typer.Argument(..., help="history: commit subjects -> changed files; "
                                               "docstring: docstring summaries -> functions."),
    path: Path = typer.Argument(..., help="Repository to generate the suite from."),
    output: Path = typer.Option(..., "--output", "-o", help="The JSONL suite file to write."),
    masked: bool = typer.Option(False, "--masked", help="docstring: mask the function's own name in the query."),
    max_cases: int = typer.Option(300, "--max", min=1, help="At most this many cases."),
) -> None:
    """Write a suite generated from real data (no hand-written labels)."""
    err = stderr_console()
    with reported_errors(err):
        cases = generate(kind, path, masked=masked, max_cases=max_cases)
        if not cases:
            raise UsageError(f"no {kind.value} cases could be generated from {path}")
        try:
            count = write_cases(output, cases)
        except OSError as exc:
            raise UsageError(f"cannot write {output}: {exc}") from exc
    err.print(f"wrote {count} {kind.value} cases to {output}")


def generate(kind: SuiteKind, repo: Path, *, masked: bool = False, max_cases: int = 300) -> list[Case]:
    """Run one generator; a repository git cannot read is a UsageError."""
    if not repo.is_dir():
        raise UsageError(f"{repo} is not a directory")
    try:
        if kind is SuiteKind.history:
            return history_cases(repo, max_cases=max_cases)
        return docstring_cases(repo, masked=masked, max_cases=max_cases)
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or "").strip().splitlines()
        raise UsageError(f"{repo}: git failed ({detail[-1] if detail else exc})") from exc


def load_suite(path: Path) -> list[Case]:
    """Cases of a suite file, or a UsageError naming the file and line."""
    try:
        cases = read_cases(path)
    except OSError as exc:
        raise UsageError(f"cannot read suite {path}: {exc.strerror or exc}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"bad suite file: {exc}") from exc
    if not cases:
        raise UsageError(f"suite {path} has no cases")
    return cases


def plan_suites(repo: Path, files: list[Path], history: bool, docstrings: bool) -> list[PlannedSuite]:
    """The suites to run: files given, then generated ones; docstring suites search a stripped copy."""
    planned = []
    for file in files:
        cases = load_suite(file)
        planned.append(PlannedSuite(file.stem, cases, any(c.source.startswith("docstring") for c in cases)))
    if history:
        cases = generate(SuiteKind.history, repo)
        if not cases:
            raise UsageError(f"{repo}: no commit qualifies for a history suite (see `mossen eval generate --help`)")
        planned.append(PlannedSuite(f"{repo.resolve().name} history", cases, False))
    if docstrings:
        for masked in (False, True):
            cases = generate(SuiteKind.docstring, repo, masked=masked)
            if not cases:
                raise UsageError(f"{repo}: no documented function to build a docstring suite from")
            name = f"{repo.resolve().name} docstring{' masked' if masked else ''}"
            planned.append(PlannedSuite(name, cases, True))
    return planned


def _run_one(repo: Path, settings: IndexSettings, planned: PlannedSuite, strategies: list[str], top_k: int,
             err: Console) -> SuiteResult:
    corpus = stripped_corpus(repo, strip_docstrings, eval_cache_root()) if planned.strip else repo
    if planned.strip:
        err.print(f"[dim]{planned.name}: searching a copy with docstrings stripped: {corpus}[/]")
    with EvalProgress(err, planned.name) as progress:
        result = run_suite(repo, settings, planned.cases, strategies, top_k, progress,
                           corpus_root=corpus, name=planned.name)
    if result.unreachable:
        err.print(f"[yellow]note:[/] {planned.name}: {len(result.unreachable)} of {result.cases} cases have "
                  f"no gold file in {corpus} (counted as misses)")
    return result


def render_suite(console: Console, result: SuiteResult) -> None:
    """One table per suite (rows = strategies), then the paired comparisons."""
    table = Table(title=f"{result.name} — {result.cases} queries, corpus {result.corpus}", title_justify="left")
    for number, title in enumerate(header()):
        table.add_column(title, justify="left" if number == 0 else "right", no_wrap=number == 0)
    for row in table_rows(result):
        table.add_row(*row)
    console.print(table)
    for comparison in result.comparisons:
        marker = "[green]" if comparison.significant and comparison.diff > 0 else ""
        console.print(f"  {marker}{comparison_text(comparison)}{'[/]' if marker else ''}")
    if result.headroom is not None:
        console.print(f"  [dim]headroom: {headroom_text(result.headroom)}[/]")
    console.print()


class EvalProgress:
    """Indexing, then searching, as a rich bar on stderr while a terminal watches; silent otherwise."""

    def __init__(self, console: Console, name: str) -> None:
        self._enabled = console.is_terminal
        self._name = name
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                  TextColumn("{task.completed:>5.0f}/{task.total:.0f}"), TimeRemainingColumn(),
                                  console=console, transient=True)
        self._task: TaskID | None = None
        self._phase = ""

    def __enter__(self) -> "EvalProgress":
        if self._enabled:
            self._progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._enabled:
            self._progress.stop()

    def __call__(self, event: RunEvent) -> None:
        if not self._enabled:
            return
        label = f"{self._name}: {'indexing' if event.phase == 'index' else 'searching'}"
        total = event.total if event.total is not None else max(event.done, 1)
        if self._task is None:
            self._task = self._progress.add_task(label, total=total)
        elif event.phase != self._phase:
            self._progress.reset(self._task, total=total, description=label)
        self._phase = event.phase
        self._progress.update(self._task, description=label, completed=event.done, total=total)
