"""Edit sets: what every file looked like before a turn changed it, so `/undo` can put it back."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class EditSet:
    """The original bytes of each file one turn changed (None: the file did not exist)."""

    originals: dict[str, bytes | None] = field(default_factory=dict)


class EditJournal:
    """A stack of edit sets, one per turn that changed files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._sets: list[EditSet] = []
        self._open: EditSet | None = None

    def begin(self) -> None:
        """Start the edit set of a new turn."""
        self._open = EditSet()

    def before_write(self, path: Path, rel: str) -> None:
        """Remember `rel`'s content before its first change in this turn."""
        if self._open is None:
            self.begin()
        assert self._open is not None
        if rel in self._open.originals:
            return
        self._open.originals[rel] = path.read_bytes() if path.is_file() else None
        if self._open not in self._sets:
            self._sets.append(self._open)

    def undo(self) -> list[str]:
        """Restore the latest edit set; the paths put back (empty when there is nothing to undo)."""
        if not self._sets:
            return []
        last = self._sets.pop()
        if last is self._open:
            self._open = None
        for rel, content in last.originals.items():
            path = self.root / rel
            if self.root.resolve() not in Path(os.path.realpath(path)).parents:
                continue  # a link swapped in since the edit: never write outside the repository
            if content is None:
                path.unlink(missing_ok=True)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
        return sorted(last.originals)

    @property
    def depth(self) -> int:
        """How many edit sets can be undone."""
        return len(self._sets)
