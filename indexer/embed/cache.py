"""An embedding cache shared by every index under one index root.

Keyed by model id + sha256 of the embedded text, so a text embedded once is
never embedded again: renames, reverts, branch switches and a second checkout
of the same repository all hit it.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from indexer.embed.base import Embedder

if TYPE_CHECKING:
    import numpy as np


def text_hash(text: str) -> str:
    """The cache key of a text (sha256 hex)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class EmbeddingCache:
    """SQLite table (model, hash) -> float32 vector."""

    def __init__(self, db_path: Path) -> None:
        self._db = sqlite3.connect(str(db_path), timeout=60.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model TEXT NOT NULL, hash TEXT NOT NULL,"
            " vector BLOB NOT NULL, PRIMARY KEY (model, hash)) WITHOUT ROWID"
        )

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def get_many(self, model: str, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        import numpy as np  # here, not at the top: the lexical phase and a no-op run never load it

        """Cached vectors for the hashes that are present."""
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(hashes))
        for start in range(0, len(unique), 500):
            part = unique[start:start + 500]
            marks = ",".join("?" * len(part))
            for h, blob in self._db.execute(
                f"SELECT hash, vector FROM vectors WHERE model = ? AND hash IN ({marks})", (model, *part)
            ):
                found[h] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, model: str, items: dict[str, np.ndarray]) -> None:
        import numpy as np

        """Store vectors (one transaction)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors(model, hash, vector) VALUES (?, ?, ?)",
                [(model, h, np.asarray(v, dtype=np.float32).tobytes()) for h, v in items.items()],
            )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")


class CachedEmbedding:
    """Embeds through the cache: only texts never seen before reach the model."""

    def __init__(self, cache: EmbeddingCache, embedder: Embedder) -> None:
        self._cache = cache
        self._embedder = embedder
        self.computed = 0
        self.hits = 0

    def vectors(self, keys: Sequence[str], texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        """Vectors for `texts`, cached under `keys` (one key per text)."""
        model = self._embedder.model_id
        known = self._cache.get_many(model, keys)
        missing = [i for i, k in enumerate(keys) if k not in known]
        # Identical texts within one batch are embedded once.
        todo: dict[str, str] = {}
        for i in missing:
            todo.setdefault(keys[i], texts[i])
        if todo:
            fresh = self._embedder.embed(list(todo.values()))
            new = dict(zip(todo.keys(), fresh))
            self._cache.put_many(model, new)
            known.update(new)
        self.computed += len(todo)
        self.hits += len(keys) - len(missing)
        dim = self._embedder.dimension
        return np.stack([known[k] for k in keys]) if keys else np.zeros((0, dim), dtype=np.float32)
