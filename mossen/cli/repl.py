"""The interactive chat: prompt_toolkit input with history, a status line, streamed turns, slash commands."""

from __future__ import annotations

from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.history import FileHistory
from prompt_toolkit.key_binding import KeyBindings
from rich.console import Console
from rich.markup import escape

from mossen.agent.compaction import history_tokens
from mossen.agent.permissions import Mode
from mossen.agent.session import Session
from mossen.ask import is_context_message
from mossen.cli.chat_view import TerminalApprover, TerminalView
from mossen.cli.chat_wiring import Chat, build_chat
from mossen.cli.slash import ReplState, run_slash
from mossen.config import Config
from mossen.errors import MossenError


def _bindings() -> KeyBindings:
    keys = KeyBindings()

    @keys.add("escape", "enter")
    def _newline(event) -> None:  # type: ignore[no-untyped-def]
        event.current_buffer.insert_text("\n")

    return keys


def run_repl(repo: Path, config: Config, mode: Mode, session: Session, err: Console) -> None:
    """Read, run, print until /exit or Ctrl-D; Ctrl-C stops a turn, never the session."""
    console = Console()
    history_file = session.path.parent / "prompt-history"
    prompt: PromptSession[str] = PromptSession(history=FileHistory(str(history_file)), key_bindings=_bindings())
    asker: PromptSession[str] = PromptSession()
    view = TerminalView(console, err)
    approver = TerminalApprover(console, view, lambda question: asker.prompt(question))

    def rebuild(state: ReplState) -> Chat:
        return build_chat(state.repo, state.config, state.mode, approver, view, state.session, err, keep=state.chat)

    state = ReplState(repo, config, mode, session, build_chat(repo, config, mode, approver, view, session, err),
                      console, err, rebuild)
    _welcome(state)
    while state.running:
        try:
            line = prompt.prompt("› ", bottom_toolbar=lambda: _status(state))
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        if not line.strip():
            continue
        try:
            if line.startswith("/"):
                run_slash(state, line)
            else:
                _turn(state, view, line)
        except MossenError as exc:
            view.end_text()
            err.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
    console.print(f"[dim]session {state.session.id} saved; `mossen chat --resume {state.session.id}` "
                  "continues it[/]")


def _turn(state: ReplState, view: TerminalView, line: str) -> None:
    result = state.chat.conversation.turn(line)
    view.end_text()
    if result.stopped == "interrupted":
        state.err.print("[yellow]turn interrupted; the session is kept[/]")
    u = result.usage
    state.console.print(f"[dim]{u.input_tokens} tokens in, {u.output_tokens} out, "
                        f"{len(result.outcomes)} tool calls[/]")


def _status(state: ReplState) -> str:
    chat = state.chat
    limits = chat.provider.limits()
    agent = chat.conversation.agent
    used = history_tokens(state.session.messages, agent.s.counter) + agent.s.counter.count(agent.system_prompt())
    return f" {chat.provider.name} │ {used}/{limits.context_window} tokens │ mode {state.mode} │ /help"


def _welcome(state: ReplState) -> None:
    state.console.print(f"[bold]mossen chat[/] · {escape(state.chat.provider.name)} · mode {state.mode} · "
                        f"session {state.session.id}")
    shown = [m for m in state.session.messages if m.role in ("user", "assistant") and m.content.strip()
             and not is_context_message(m.content)]
    if shown:
        state.console.print(f"[dim]resumed: {len(state.session.messages)} messages[/]")
        for message in shown[-10:]:
            who = "[bold]you[/]" if message.role == "user" else "[bold cyan]mossen[/]"
            state.console.print(f"{who}: {escape(message.content.strip()[:400])}")
    state.console.print("[dim]/help for commands[/]")
