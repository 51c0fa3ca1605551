"""Slash commands of the chat REPL: one small function each, found by name."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mossen.agent.compaction import history_tokens
from mossen.agent.permissions import MODES, Mode
from mossen.agent.records import ToolRefused
from mossen.agent.session import Session
from mossen.cli.chat_wiring import Chat
from mossen.cli.render import context_table
from mossen.config import Config
from mossen.errors import MossenError


@dataclass
class ReplState:
    """What the REPL holds between turns; /model and /resume rebuild `chat`."""

    repo: Path
    config: Config
    mode: Mode
    session: Session
    chat: Chat
    console: Console
    err: Console
    rebuild: Callable[["ReplState"], Chat]
    running: bool = True


Handler = Callable[[ReplState, str], None]


def _help(state: ReplState, arg: str) -> None:
    table = Table(box=None, show_header=False, padding=(0, 2))
    for name, (_, text) in COMMANDS.items():
        table.add_row(f"/{name}", text)
    state.console.print(table)
    state.console.print("[dim]Enter sends; Esc then Enter (or Alt-Enter) adds a line; Ctrl-C stops a turn; "
                        "Ctrl-D or /exit leaves.[/]")


def _model(state: ReplState, arg: str) -> None:
    if not arg:
        state.console.print(f"model: {state.chat.provider.name} ({state.chat.provider.endpoint})")
        return
    old = state.config
    state.config = replace(old, values={**old.values, "model": arg}, sources={**old.sources, "model": "/model"})
    try:
        state.chat = state.rebuild(state)
    except MossenError:
        state.config = old
        raise
    state.console.print(f"model: {state.chat.provider.name}")


def _mode(state: ReplState, arg: str) -> None:
    if not arg:
        state.console.print(f"mode: {state.mode}  (choose from {', '.join(m for m in MODES if m != 'auto')})")
        return
    if arg == "auto" and state.mode != "auto":
        state.err.print("[yellow]auto mode is only available when chat starts with --mode auto[/]")
        return
    if arg not in MODES:
        state.err.print(f"[yellow]unknown mode {escape(arg)}; choose from {', '.join(MODES)}[/]")
        return
    state.mode = arg  # type: ignore[assignment]
    agent = state.chat.conversation.agent
    agent.s.permissions = agent.s.permissions.with_mode(state.mode)
    state.console.print(f"mode: {state.mode}")


def _add(state: ReplState, arg: str) -> None:
    for path in arg.split():
        try:
            target = state.chat.workspace.target(path)
        except ToolRefused as exc:
            state.err.print(f"[yellow]{escape(str(exc))}[/]")
            continue
        if target.protected or not target.path.is_file():
            state.err.print(f"[yellow]{escape(path)}: " + (f"{target.protected}, not added" if target.protected
                                                           else "no such file") + "[/]")
            continue
        state.chat.pinned.add(target.rel)
        state.console.print(f"pinned {escape(target.rel)}: it leads every turn's context while it fits")


def _drop(state: ReplState, arg: str) -> None:
    names = state.chat.pinned.paths[:] if arg.strip() in ("", "all") else arg.split()
    for name in names:
        state.console.print(f"dropped {escape(name)}" if state.chat.pinned.drop(name)
                            else f"[yellow]{escape(name)} was not pinned[/]")


def _context(state: ReplState, arg: str) -> None:
    chat = state.chat
    limits = chat.provider.limits()
    used = history_tokens(state.session.messages, chat.conversation.agent.s.counter)
    state.console.print(f"window {limits.context_window} tokens: answer {limits.max_output}, "
                        f"history {used} ({len(state.session.messages)} messages)")
    for rel, tokens in chat.context.last_pinned:
        why = "pinned" if rel in chat.pinned.paths else "working set"
        state.console.print(f"  {escape(rel)} (whole file, {why}) {tokens} tokens")
    if chat.context.last is not None:
        context_table(state.console, chat.context.last)
    else:
        state.console.print("no code retrieved yet")


def _compact(state: ReplState, arg: str) -> None:
    done = state.chat.conversation.compact_if_needed(force=True)
    state.console.print("history compacted" if done else "nothing to compact yet")


def _clear(state: ReplState, arg: str) -> None:
    state.chat.conversation.clear()
    state.console.print("history cleared")


def _undo(state: ReplState, arg: str) -> None:
    restored = state.chat.conversation.undo()
    state.console.print(f"restored {', '.join(escape(p) for p in restored)}" if restored else "nothing to undo")


def _sessions(state: ReplState, arg: str) -> None:
    table = Table(box=None, padding=(0, 2))
    for column in ("id", "messages", "model", "first question"):
        table.add_column(column)
    for info in state.chat.store.list()[:20]:
        mark = " *" if info.id == state.session.id else ""
        table.add_row(info.id + mark, str(info.messages), info.model, escape(info.title))
    state.console.print(table)


def _resume(state: ReplState, arg: str) -> None:
    if not arg:
        state.err.print("[yellow]which session? /sessions lists them[/]")
        return
    state.session = state.chat.store.open(arg.strip())
    state.chat = state.rebuild(state)
    state.console.print(f"resumed {state.session.id} ({len(state.session.messages)} messages)")


def _exit(state: ReplState, arg: str) -> None:
    state.running = False


COMMANDS: dict[str, tuple[Handler, str]] = {
    "help": (_help, "this list"),
    "model": (_model, "show the model, or switch: /model PROVIDER:MODEL"),
    "mode": (_mode, "show the mode, or switch: /mode ask | accept-edits | read-only"),
    "add": (_add, "pin files into every turn's context: /add PATH ..."),
    "drop": (_drop, "unpin files: /drop PATH ... (or all)"),
    "context": (_context, "what is in the window and why"),
    "compact": (_compact, "summarise older turns now"),
    "clear": (_clear, "forget the conversation so far"),
    "undo": (_undo, "put back the files the last edit set changed"),
    "sessions": (_sessions, "saved sessions of this repository"),
    "resume": (_resume, "continue another session: /resume ID"),
    "exit": (_exit, "leave (the session is saved)"),
}


def run_slash(state: ReplState, line: str) -> None:
    """Run one slash command line."""
    name, _, arg = line[1:].strip().partition(" ")
    entry = COMMANDS.get(name)
    if entry is None:
        state.err.print(f"[yellow]unknown command /{escape(name)}; /help lists them[/]")
        return
    entry[0](state, arg.strip())
