"""Project memory: MOSSEN.md (and AGENTS.md) at the repository root, for the system prompt."""

from __future__ import annotations

from pathlib import Path

from mossen.budget import TokenCounter

MEMORY_FILES = ("MOSSEN.md", "AGENTS.md")


def project_memory(repo: Path, counter: TokenCounter, max_tokens: int) -> str:
    """The memory files' text, whole lines only, at most `max_tokens`; "" when there are none.

    Symbolic links are not followed: a memory file must be a real file of the repository.
    """
    parts: list[str] = []
    for name in MEMORY_FILES:
        path = repo / name
        if path.is_symlink() or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            continue
        if text:
            parts.append(f"## {name}\n\n{text}")
    return _within(("\n\n".join(parts)), counter, max_tokens)


def _within(text: str, counter: TokenCounter, max_tokens: int) -> str:
    if not text or counter.count(text) <= max_tokens:
        return text
    kept: list[str] = []
    note = "\n[… the rest of the project notes did not fit in their budget]"
    budget = max_tokens - counter.count(note)
    for line in text.splitlines():
        if counter.count("\n".join([*kept, line])) > budget:
            break
        kept.append(line)
    return "\n".join(kept) + note if kept else ""
