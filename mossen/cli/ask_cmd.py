"""`mossen ask`: retrieve the code that matters, fit it into the budget, stream the model's answer."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import NoReturn, Optional

import typer
from rich.console import Console
from rich.markup import escape

from mossen.ask import AskPlan, Answer, ProviderCounter, collect, plan_ask, retrieve
from mossen.budget import EstimatingCounter
from mossen.cli.common import EXIT_MODEL, config_for, find_repo, reported_errors, stderr_console
from mossen.cli.refresh import refresh_index
from mossen.cli.models import open_model, outgoing_request
from mossen.cli.render import MarkdownStream, code_pieces, context_table, sources
from mossen.errors import ProviderError, UsageError
from mossen.providers.base import ChatRequest, Provider
from mossen.providers.retry import stream_with_retries

NO_MODEL_HINT = ('choose a model: `model = "ollama:qwen2.5-coder:7b"` in .mossen.toml, MOSSEN_MODEL, or --model '
                 "(openai:NAME for any OpenAI-compatible server, anthropic:NAME for Claude)")


def ask_command(
    question: str = typer.Argument(..., help="Your question about the code."),
    path: Optional[Path] = typer.Option(None, "--path", help="Repository (default: the git work tree you stand in)."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="PROVIDER:MODEL, e.g. ollama:qwen2.5-coder:7b ($MOSSEN_MODEL)."),
    local: bool = typer.Option(False, "--local", help="Refuse any model that is not on this machine (privacy = \"local\")."),
    budget: Optional[int] = typer.Option(None, "--budget", min=0, help="Most tokens of code to send (config ask.budget, default 4000)."),
    top_k: Optional[int] = typer.Option(None, "--top-k", min=1, max=1000, help="Chunks retrieved to fill the budget (config ask.top_k)."),
    show_context: bool = typer.Option(False, "--show-context", help="Show the code that would be sent, with scores and token costs; call no model."),
    show_request: bool = typer.Option(False, "--show-request", help="Print the exact request payload the model would get; no chat request is made."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout and nothing else."),
    no_refresh: bool = typer.Option(False, "--no-refresh", help="Do not re-index changed files first."),
    index_dir: Optional[Path] = typer.Option(None, "--index-dir", help="Folder holding all indexes ($MOSSEN_INDEX_DIR)."),
) -> None:
    """Answer a question about the code: the best chunks within the token budget go to the model you chose.

    The answer streams as Markdown, followed by its sources (path:start-end).
    Secrets are redacted and absolute paths removed from anything sent to a
    remote model; with --local (or privacy = "local") remote models are refused
    before any request. Exit codes: 0 answered, 1 error, 4 no model reachable
    or the answer was cut short (what arrived is shown, marked partial).
    """
    err = stderr_console()
    with reported_errors(err):
        repo = find_repo(path)
        config = config_for(repo, index_dir, model=model, privacy="local" if local else None)
        settings = config.index_settings()
        if not no_refresh:
            refresh_index(repo, settings, err)
        hits = retrieve(repo, question, settings, top_k or config.get("ask.top_k"))
        cap = budget if budget is not None else config.get("ask.budget")
        if show_context:
            _show_context(plan_ask(question, hits, EstimatingCounter(), cap), as_json)
            return
        if not config.get("model"):
            _fail_with_context(err, plan_ask(question, hits, EstimatingCounter(), cap), as_json,
                               UsageError(f"no model chosen; {NO_MODEL_HINT}"))
        provider = open_model(config, repo)
        try:
            plan = plan_ask(question, hits, ProviderCounter(provider), cap, provider.limits())
        except ProviderError as exc:
            _fail_with_context(err, plan_ask(question, hits, EstimatingCounter(), cap), as_json, exc)
        request = outgoing_request(provider, plan.request, repo, err)
        if show_request:
            typer.echo(json.dumps({"model": provider.name, "endpoint": provider.endpoint,
                                   "payload": provider.payload(request)}, indent=None if as_json else 2))
            return
        answer = _stream_answer(provider, plan, request, err, as_json)
    _report(err, provider, plan, answer, as_json)


def _stream_answer(provider: Provider, plan: AskPlan, request: ChatRequest, err: Console, as_json: bool) -> Answer:
    def notice(error: ProviderError, wait: float, attempt: int) -> None:
        err.print(f"[yellow]{escape(str(error).splitlines()[0])}; retrying in {wait:.1f} s (try {attempt + 1})[/]")

    events = stream_with_retries(provider, request, on_retry=notice)
    try:
        if as_json:
            return collect(events)
        with MarkdownStream(Console()) as out:
            return collect(events, out.write)
    except ProviderError as exc:
        _fail_with_context(err, plan, as_json, exc)


def _report(err: Console, provider: Provider, plan: AskPlan, answer: Answer, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({
            "answer": answer.text, "partial": answer.partial, "model": provider.name,
            "sources": [{"path": p.path, "start_line": p.start_line, "end_line": p.end_line} for p in plan.pack.pieces],
            "usage": asdict(answer.usage), "budget": asdict(plan.budget), "context_tokens": plan.pack.total_tokens,
            **({"error": str(answer.error)} if answer.error else {}),
        }))
    else:
        sources(Console(), plan.pack)
        u = answer.usage
        usage = (f"{u.input_tokens} tokens in ({u.cached_input_tokens} cached), {u.output_tokens} out"
                 if u.input_tokens or u.output_tokens else "the server reported no token usage")
        err.print(f"[dim]{provider.name}: {usage}; code {plan.pack.total_tokens}/{plan.budget.code} tokens[/]")
    if answer.partial:
        err.print(f"[bold red]partial answer:[/] {escape(str(answer.error))}", soft_wrap=True)
        raise typer.Exit(EXIT_MODEL)


def _show_context(plan: AskPlan, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(plan.pack.to_json()))
    else:
        context_table(Console(), plan.pack)


def _fail_with_context(err: Console, plan: AskPlan, as_json: bool, error: Exception) -> NoReturn:
    """No answer: say why and what to do, still show the code that was found, exit non-zero."""
    if as_json:
        typer.echo(json.dumps({"answer": None, "error": str(error), **plan.pack.to_json()}))
    else:
        code_pieces(Console(), plan.pack)
    err.print(f"[bold red]error:[/] {escape(str(error))}", soft_wrap=True)
    if os.environ.get("MOSSEN_DEBUG"):
        err.print_exception()
    raise typer.Exit(EXIT_MODEL)
