"""Where the files of one repository's index live."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from indexer.settings import IndexSettings


@dataclass(frozen=True, slots=True)
class IndexLayout:
    """Paths of one index: a folder per repository under the shared index root."""

    repo: Path
    folder: Path
    embedding_cache: Path  # shared by every repository under the same root

    @classmethod
    def for_repo(cls, repo: Path, settings: IndexSettings) -> "IndexLayout":
        """The layout of `repo` (already resolved) under `settings.index_root`."""
        root = settings.index_root.expanduser().resolve()
        return cls(repo, settings.index_dir(repo).expanduser().resolve(), root / "embedding-cache.sqlite")

    @property
    def catalog(self) -> Path:
        return self.folder / "catalog.sqlite"

    @property
    def vectors(self) -> Path:
        return self.folder / "chroma"

    @property
    def exists(self) -> bool:
        """True once an index run has created the catalog."""
        return self.catalog.exists()

    def create(self) -> None:
        """Make the folder and note which repository it belongs to."""
        self.folder.mkdir(parents=True, exist_ok=True)
        note = self.folder / "repo.txt"
        if not note.exists():
            note.write_text(f"{self.repo}\n")

    def wipe(self) -> None:
        """Remove the catalog and the vectors (the caller holds the lock).

        The vector folder is renamed away first (atomic), so a kill at any point
        leaves either the old index whole or no vectors at all, never half a folder.
        """
        if self.vectors.exists():
            self.vectors.rename(self._trash)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.catalog}{suffix}").unlink(missing_ok=True)
        self.empty_trash()

    def empty_trash(self) -> None:
        """Finish a wipe that an earlier run did not complete."""
        shutil.rmtree(self._trash, ignore_errors=True)

    @property
    def _trash(self) -> Path:
        return self.folder / "chroma.deleting"

    def size_bytes(self) -> int:
        """Bytes on disk of this index (the shared embedding cache not included)."""
        return sum(p.stat().st_size for p in self.folder.rglob("*") if p.is_file())
