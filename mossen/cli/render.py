"""Terminal rendering shared by `ask` and `chat`: streamed Markdown, context tables, code pieces."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.markdown import Markdown
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

from mossen.budget import ContextPack


class MarkdownStream:
    """Streams an answer: live-rendered Markdown on a terminal, plain text as it comes otherwise."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.text = ""
        self._live: Live | None = None

    def __enter__(self) -> "MarkdownStream":
        if self.console.is_terminal:
            self._live = Live(Markdown(""), console=self.console, refresh_per_second=8,
                              vertical_overflow="visible")
            self._live.__enter__()
        return self

    def write(self, piece: str) -> None:
        """Add a piece of the answer."""
        self.text += piece
        if self._live is not None:
            self._live.update(Markdown(self.text, code_theme="ansi_dark"))
        else:
            self.console.file.write(piece)
            self.console.file.flush()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._live is not None:
            self._live.__exit__(kind, exc, tb)
        elif self.text and not self.text.endswith("\n"):
            self.console.file.write("\n")


def context_table(console: Console, pack: ContextPack) -> None:
    """Each piece with its retrieval scores and token cost, then the total against the budget."""
    table = Table(box=None, padding=(0, 1), header_style="bold")
    for column in ("#", "piece", "symbols", "tokens", "fused", "dense", "lexical"):
        table.add_column(column, justify="right" if column in ("#", "tokens", "fused", "dense", "lexical") else "left")
    for piece in pack.pieces:
        s = piece.scores
        table.add_row(str(piece.rank + 1), piece.label, escape(", ".join(piece.symbols[:3])), str(piece.tokens),
                      *(f"{s[k]:.3f}" if k in s else "" for k in ("fused", "dense", "lexical")))
    console.print(table)
    console.print(f"[bold]{pack.total_tokens}[/] of {pack.budget} tokens in {len(pack.pieces)} pieces; "
                  f"{pack.left_out} of {pack.candidates} retrieved chunks did not fit")


def code_pieces(console: Console, pack: ContextPack) -> None:
    """The retrieved code itself, each piece under its label."""
    for piece in pack.pieces:
        console.print(f"[bold cyan]{escape(piece.label)}[/]")
        lexer = piece.language if piece.language not in ("window",) else "text"
        console.print(Syntax(piece.text, lexer, line_numbers=True, start_line=piece.start_line,
                             word_wrap=False, theme="ansi_dark"))


def sources(console: Console, pack: ContextPack) -> None:
    """The sources the answer was given, one label per line."""
    if not pack.pieces:
        return
    console.print("\n[bold]Sources[/]")
    for piece in pack.pieces:
        symbols = f"  [magenta]{escape(', '.join(piece.symbols[:2]))}[/]" if piece.symbols else ""
        console.print(f"  {escape(piece.label)}{symbols}")
