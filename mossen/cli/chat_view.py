"""How a chat looks: streamed Markdown, each tool call with its verdict, coloured diffs, approvals."""

from __future__ import annotations

import json
from typing import Callable

from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax

from mossen.agent.loop import Watcher
from mossen.agent.records import Action, ToolOutcome
from mossen.cli.render import MarkdownStream
from mossen.providers.base import ToolCall

MARKS = {"executed": "[green]✓[/]", "refused": "[red]✗ refused[/]", "needs_approval": "[yellow]⏸ needs approval[/]",
         "error": "[red]✗ error[/]"}
OUTPUT_LINES = 8


def call_summary(call: ToolCall) -> str:
    """`read_file src/app.py` style one-liner of a call."""
    args = call.arguments
    main = args.get("path") or args.get("command") or args.get("query") or args.get("pattern")
    if isinstance(main, str):
        return f"{call.name} {main if len(main) < 120 else main[:117] + '…'}"
    return f"{call.name} {json.dumps(args)[:120]}"


class TerminalView(Watcher):
    """Renders a turn as it happens."""

    def __init__(self, console: Console, err: Console) -> None:
        self.console, self.err = console, err
        self._stream: MarkdownStream | None = None

    def text(self, piece: str) -> None:
        if self._stream is None:
            self._stream = MarkdownStream(self.console).__enter__()
        self._stream.write(piece)

    def tool_started(self, call: ToolCall, action: Action | None) -> None:
        self.end_text()
        self.console.print(f"[bold cyan]●[/] {escape(call_summary(call))}", highlight=False)

    def tool_finished(self, outcome: ToolOutcome) -> None:
        self.end_text()
        if outcome.status == "executed" and outcome.changed:
            diff = outcome.output.split("\n", 1)[1] if "\n" in outcome.output else ""
            self.console.print(f"  {MARKS['executed']} {escape(outcome.output.splitlines()[0])}")
            if diff.strip():
                self.console.print(Syntax(diff.rstrip("\n"), "diff", theme="ansi_dark", word_wrap=True))
            return
        lines = outcome.output.splitlines()
        shown = "\n    ".join(escape(line[:200]) for line in lines[:OUTPUT_LINES])
        more = f"\n    [dim]… {len(lines) - OUTPUT_LINES} more lines[/]" if len(lines) > OUTPUT_LINES else ""
        self.console.print(f"  {MARKS.get(outcome.status, outcome.status)}\n    [dim]{shown}[/]{more}",
                           highlight=False)

    def notice(self, text: str) -> None:
        self.end_text()
        self.err.print(f"[yellow]{escape(text)}[/]")

    def end_text(self) -> None:
        """Close the answer being streamed, if any."""
        if self._stream is not None:
            self._stream.__exit__(None, None, None)
            self._stream = None


class PlainView(Watcher):
    """For `chat -p` without --json: the answer on stdout, tool calls on stderr, no live rendering."""

    def __init__(self, out: Callable[[str], None], err: Console) -> None:
        self.out, self.err = out, err

    def text(self, piece: str) -> None:
        self.out(piece)

    def tool_finished(self, outcome: ToolOutcome) -> None:
        self.err.print(f"{outcome.tool} {escape(json.dumps(outcome.arguments)[:160])}: {outcome.status}",
                       highlight=False)

    def notice(self, text: str) -> None:
        self.err.print(f"[yellow]{escape(text)}[/]")


class TerminalApprover:
    """Asks on the terminal: y runs the call, n declines it, a runs it and its like for the rest of the session."""

    def __init__(self, console: Console, view: TerminalView, ask: Callable[[str], str]) -> None:
        self.console, self.view, self.ask = console, view, ask
        self._always: set[tuple[str, str]] = set()

    def approve(self, action: Action, reason: str) -> bool | None:
        key = (action.tool, action.command or ",".join(action.paths))
        if key in self._always:
            return True
        self.view.end_text()
        if action.preview:
            lexer = "diff" if action.effect == "edit" else "bash"
            self.console.print(Syntax(action.preview.rstrip("\n"), lexer, theme="ansi_dark", word_wrap=True))
        self.console.print(f"[yellow]{escape(reason)}[/]")
        while True:
            answer = self.ask("Allow? [y]es / [n]o / [a]lways this session: ").strip().lower()
            if answer in ("y", "yes"):
                return True
            if answer in ("n", "no", ""):
                return False
            if answer in ("a", "always"):
                self._always.add(key)
                return True


class NoTerminalApprover:
    """Nobody to ask (`chat -p`): a call that needs approval is reported, not run."""

    def approve(self, action: Action, reason: str) -> bool | None:
        return None
