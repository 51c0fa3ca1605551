"""A conservative local token estimate, for when the provider cannot count.

It must over-count, never under-count: the budget is only safe if the estimate
is an upper bound for the model's real tokenizer. Each letter run costs one
token per `LETTERS_PER_TOKEN` letters (rounded up), each digit and each
punctuation mark one, each non-ASCII character its UTF-8 bytes (byte-level
BPE's worst case), each line break one and other whitespace one per
`SPACES_PER_TOKEN`. tests/test_tokens.py holds it above real tokenizers
(SmolLM2's BPE, MiniLM's WordPiece) on real code.
"""

from __future__ import annotations

import re

LETTERS_PER_TOKEN = 3
SPACES_PER_TOKEN = 4
_PIECE = re.compile(r"[A-Za-z]+|[ \t]+|\n|[\x00-\x7f]|[^\x00-\x7f]")


def estimate_tokens(text: str) -> int:
    """An upper bound of the tokens of `text` for common code tokenizers."""
    total = 0
    for match in _PIECE.finditer(text):
        piece = match.group()
        first = piece[0]
        if first.isalpha() and first.isascii():
            total += -(-len(piece) // LETTERS_PER_TOKEN)
        elif first in " \t":
            total += -(-len(piece) // SPACES_PER_TOKEN)
        elif first.isascii():
            total += 1
        else:
            total += len(piece.encode("utf-8", "surrogatepass"))
    return total + 1
