"""`mossen chat`: the agent, interactive in a terminal or one task headless (`-p TASK`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from mossen.agent.loop import TurnResult, Watcher
from mossen.agent.permissions import MODES, Mode
from mossen.agent.session import Session, SessionStore
from mossen.cli.chat_view import NoTerminalApprover, PlainView
from mossen.cli.chat_wiring import build_chat, sessions_for
from mossen.cli.common import EXIT_MODEL, config_for, find_repo, reported_errors, stderr_console
from mossen.cli.refresh import refresh_index
from mossen.cli.repl import run_repl
from mossen.config import Config
from mossen.errors import UsageError


def chat_command(
    session_id: Optional[str] = typer.Argument(None, metavar="[SESSION]", help="With --resume: the session to continue (an id or its start)."),
    prompt: Optional[str] = typer.Option(None, "--prompt", "-p", help="Run this one task without a terminal, then exit."),
    as_json: bool = typer.Option(False, "--json", help="With -p: one JSON object {final, tool_calls, …} on stdout, nothing else."),
    path: Optional[Path] = typer.Option(None, "--path", help="Repository (default: the git work tree you stand in)."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="PROVIDER:MODEL ($MOSSEN_MODEL)."),
    mode: Optional[str] = typer.Option(None, "--mode", help="ask (default) | accept-edits | read-only | auto."),
    resume: bool = typer.Option(False, "--resume", help="Continue a saved session: SESSION, or pick from the list."),
    continue_last: bool = typer.Option(False, "--continue", "-c", help="Continue the most recent session of this repo."),
    local: bool = typer.Option(False, "--local", help="Refuse any model that is not on this machine."),
    index_dir: Optional[Path] = typer.Option(None, "--index-dir", help="Folder holding all indexes ($MOSSEN_INDEX_DIR)."),
) -> None:
    """Work on the code with an agent: it searches, reads, edits and runs commands, under your control.

    Modes: ask (every edit and command asks), accept-edits (edits run, commands
    ask), read-only (plans, changes nothing), auto (everything runs except what
    a rule denies or asks; only with --mode auto). File tools never leave the
    repository. Every turn is saved; --continue or --resume picks a session up.

    With -p TASK it runs one task headless: a call that needs approval is not
    run and is reported as needs_approval. Exit codes: 0 done, 1 error,
    4 no model reachable or the turn stopped early (limits, a cut answer).
    """
    err = stderr_console()
    with reported_errors(err):
        if prompt is None and not sys.stdin.isatty():  # before a session is made that --continue would pick
            raise UsageError("interactive chat needs a terminal; use -p TASK to run one task")
        repo = find_repo(path)
        config = config_for(repo, index_dir, model=model, privacy="local" if local else None)
        chosen: Mode = _mode(mode, config)
        if prompt is not None and not prompt.strip():
            raise UsageError("the task given with -p is empty")
        if not config.get("model"):
            raise UsageError('choose a model: `model = "ollama:qwen2.5-coder:7b"` in .mossen.toml, '
                             "MOSSEN_MODEL, or --model")
        store = sessions_for(config, repo)
        session = _session(store, repo, config, session_id, resume, continue_last)
        refresh_index(repo, config.index_settings(), err)
        if prompt is None:
            run_repl(repo, config, chosen, session, err)
            return
        result = _headless(repo, config, chosen, session, prompt, as_json, err)
    if result.stopped:
        raise typer.Exit(EXIT_MODEL)


def _mode(flag: str | None, config: Config) -> Mode:
    mode = flag or config.get("chat.mode")
    if mode not in MODES:
        raise UsageError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
    return mode  # type: ignore[return-value]


def _session(store: SessionStore, repo: Path, config: Config, ident: str | None, resume: bool,
             continue_last: bool) -> Session:
    if ident is not None and not resume:
        raise UsageError(f"to continue session {ident!r}, say --resume {ident}")
    if resume and ident:
        return store.open(ident)
    if resume or continue_last:
        last = store.last()
        if last is None:
            raise UsageError("no saved session for this repository yet")
        if resume and sys.stdin.isatty():
            return store.open(_pick(store))
        return last
    return store.new(repo, config.get("model"))


def _pick(store: SessionStore) -> str:
    sessions = store.list()[:15]
    console = Console(stderr=True)
    for number, info in enumerate(sessions, 1):
        console.print(f"{number:>3}. {info.id}  {info.messages:>4} messages  {info.title}", highlight=False)
    choice = input("resume which? [1] ").strip() or "1"
    if choice.isdigit() and 1 <= int(choice) <= len(sessions):
        return sessions[int(choice) - 1].id
    return choice


def _headless(repo: Path, config: Config, mode: Mode, session: Session, task: str, as_json: bool,
              err: Console) -> TurnResult:
    view: Watcher = Watcher() if as_json else PlainView(_write_stdout, err)
    chat = build_chat(repo, config, mode, NoTerminalApprover(), view, session, err)
    result = chat.conversation.turn(task)
    if as_json:
        typer.echo(json.dumps({
            "final": result.final, "tool_calls": [o.to_json() for o in result.outcomes],
            "session": session.id, "stopped": result.stopped, "partial": result.partial,
            "usage": {"input_tokens": result.usage.input_tokens, "output_tokens": result.usage.output_tokens},
        }))
    else:
        if result.final and not result.final.endswith("\n"):
            _write_stdout("\n")
        err.print(f"[dim]session {session.id}[/]")
    return result


def _write_stdout(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()
