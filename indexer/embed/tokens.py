"""Counting the embedder's tokens, so chunks are sized to what the model reads."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from tokenizers import Tokenizer


class TokenCounter:
    """Counts WordPiece tokens of the bundled model (special tokens included)."""

    def __init__(self, model_path: Path) -> None:
        self._tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()

    def __call__(self, text: str) -> int:
        return len(self._tokenizer.encode(text).ids)

    def count_lines(self, lines: Sequence[str]) -> list[int]:
        """Tokens of each line without the special tokens: WordPiece never joins words across a
        newline, so the count of lines joined by newlines is the sum of these plus the specials."""
        return [len(ids) for ids in self._tokenizer.encode_batch_fast(list(lines), add_special_tokens=False)]

    def count_many(self, texts: list[str]) -> list[int]:
        """Counts for several texts in one call (the tokenizer batches in Rust)."""
        return [len(e.ids) for e in self._tokenizer.encode_batch(texts)]
