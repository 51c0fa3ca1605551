"""A conservative local token estimate, for when the provider cannot count.

It must over-count, never under-count: the budget is only safe if the estimate
is an upper bound for the model's real tokenizer. The rule starts from a bound
that always holds, one token per character (a non-ASCII character: its UTF-8
bytes, byte-level BPE's worst case), and allows two discounts where real code
earns them: a lowercase word, capitalized or not, costs one token per
`LETTERS_PER_TOKEN` letters, and a run of spaces, or of tabs, one per
`SPACES_PER_TOKEN`. Runs of capitals (`DEADBEEF`, `RIGHTSHIFTEQUAL`) get no
discount: BPE splits them into pieces of one or two letters. Neither discount
applies inside `OPAQUE_RUN` or more characters without whitespace (base64,
hex digests, minified code), where tokenizers find few merges. Two tokens are
added for a start and end marker. tests/test_tokens.py holds it above real
tokenizers (SmolLM2's BPE, MiniLM's WordPiece) on real code and hard cases;
text made to defeat it (random short letter runs between spaces) can.
"""

from __future__ import annotations

import re

LETTERS_PER_TOKEN = 3
SPACES_PER_TOKEN = 4
OPAQUE_RUN = 32
MARKERS = 2
_PIECE = re.compile(r"\S{%d,}|[A-Z]?[a-z]+| +|\t+|[\s\S]" % OPAQUE_RUN)


def estimate_tokens(text: str) -> int:
    """An upper bound of the tokens of `text` for common code tokenizers."""
    total = MARKERS
    for match in _PIECE.finditer(text):
        piece = match.group()
        if len(piece) >= OPAQUE_RUN or len(piece) == 1:
            total += len(piece.encode("utf-8", "surrogatepass"))
        elif piece[0] in " \t":
            total += -(-len(piece) // SPACES_PER_TOKEN)
        else:
            total += -(-len(piece) // LETTERS_PER_TOKEN)
    return total
