"""The SQLite catalog: manifest (file -> hash -> chunks), chunk rows, FTS5 terms, meta,
and the vector work still to do.

One database per index. Writes for a batch of files happen in one transaction,
so the manifest and the lexical index never disagree. Vectors live in Chroma;
the catalog records what Chroma still needs: `pending` chunks to embed and
upsert, `dead` chunk ids to delete (see dense.py). Recording it here, in the
same transaction as the chunks, is what makes every kill harmless.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from indexer.identifiers import code_terms, parameter_terms
from indexer.records import Chunk

SCHEMA_VERSION = "5"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, content_hash TEXT NOT NULL, size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL, inode INTEGER NOT NULL, language TEXT NOT NULL,
    indexed_ns INTEGER NOT NULL, note TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, path TEXT NOT NULL,
    start_line INTEGER NOT NULL, end_line INTEGER NOT NULL, language TEXT NOT NULL,
    kind TEXT NOT NULL, symbol TEXT, context TEXT NOT NULL, text TEXT NOT NULL,
    text_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_path ON chunks(path);
CREATE VIRTUAL TABLE IF NOT EXISTS terms USING fts5(
    path, symbol, body, tokenize = "porter unicode61 remove_diacritics 2"
);
CREATE VIRTUAL TABLE IF NOT EXISTS param_terms USING fts5(
    params, tokenize = "porter unicode61 remove_diacritics 2"
);
CREATE VIRTUAL TABLE IF NOT EXISTS file_terms USING fts5(
    path, body, tokenize = "porter unicode61 remove_diacritics 2"
);
CREATE TABLE IF NOT EXISTS skipped (path TEXT PRIMARY KEY, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pending (seq INTEGER PRIMARY KEY, chunk_id TEXT UNIQUE NOT NULL);
CREATE TABLE IF NOT EXISTS dead (chunk_id TEXT PRIMARY KEY);
"""


@dataclass(frozen=True, slots=True)
class FileRow:
    """What the manifest remembers of one indexed file."""

    path: str
    content_hash: str
    size: int
    mtime_ns: int
    inode: int
    language: str
    indexed_ns: int


@dataclass(frozen=True, slots=True)
class ChunkRow:
    """A stored chunk, with the hash its embedding is cached under."""

    chunk: Chunk
    chunk_id: str
    text_hash: str


def _path_terms(path: str) -> str:
    return " ".join(code_terms(path.replace("/", " ").replace(".", " ")))


class Catalog:
    """One index's SQLite database; use as a context manager."""

    def __init__(self, db_path: Path) -> None:
        self.path = db_path
        self._db = sqlite3.connect(str(db_path), timeout=30.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def data_version(self) -> int:
        """Changes whenever another connection commits (SQLite's PRAGMA data_version)."""
        return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    # -- meta -------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        """A meta value, or None."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, **values: str) -> None:
        """Set meta values in one transaction."""
        with self.transaction():
            self._db.executemany(
                "INSERT INTO meta(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [(k, str(v)) for k, v in values.items()],
            )

    # -- transactions -------------------------------------------------------
    def transaction(self) -> "_Transaction":
        """`with catalog.transaction():` groups writes atomically."""
        return _Transaction(self._db)

    # -- manifest ---------------------------------------------------------
    def files(self) -> dict[str, FileRow]:
        """Every indexed file by path."""
        rows = self._db.execute(
            "SELECT path, content_hash, size, mtime_ns, inode, language, indexed_ns FROM files"
        )
        return {r[0]: FileRow(*r) for r in rows}

    def touch_file(self, row: FileRow) -> None:
        """Update a file's stat fields when its content is unchanged."""
        self._db.execute(
            "UPDATE files SET size = ?, mtime_ns = ?, inode = ?, indexed_ns = ? WHERE path = ?",
            (row.size, row.mtime_ns, row.inode, row.indexed_ns, row.path),
        )

    def chunk_ids_for(self, paths: Iterable[str]) -> list[str]:
        """Ids of the chunks currently stored for these files."""
        ids: list[str] = []
        for path in paths:
            ids.extend(r[0] for r in self._db.execute("SELECT id FROM chunks WHERE path = ?", (path,)))
        return ids

    def remove_files(self, paths: Iterable[str]) -> None:
        """Drop files with their chunks and terms; their vectors become dead (inside a transaction)."""
        for path in paths:
            self._db.execute("DELETE FROM file_terms WHERE rowid IN (SELECT rowid FROM files WHERE path = ?)", (path,))
            rows = list(self._db.execute("SELECT rowid, id FROM chunks WHERE path = ?", (path,)))
            self._db.executemany("DELETE FROM terms WHERE rowid = ?", [(r[0],) for r in rows])
            self._db.executemany("DELETE FROM param_terms WHERE rowid = ?", [(r[0],) for r in rows])
            self._db.executemany("DELETE FROM pending WHERE chunk_id = ?", [(r[1],) for r in rows])
            self._db.executemany("INSERT OR IGNORE INTO dead(chunk_id) VALUES (?)", [(r[1],) for r in rows])
            self._db.execute("DELETE FROM chunks WHERE path = ?", (path,))
            self._db.execute("DELETE FROM files WHERE path = ?", (path,))

    def put_file(self, row: FileRow, chunks: list[ChunkRow], note: str = "",
                 keep_vectors: frozenset[str] = frozenset()) -> None:
        """Replace one file's manifest row, chunks and terms (inside a transaction).

        Every chunk is pending (its vector still to be made) unless its id is in
        `keep_vectors`: ids whose vector Chroma already holds.
        """
        self.remove_files([row.path])
        cur = self._db.execute(
            "INSERT INTO files(path, content_hash, size, mtime_ns, inode, language, indexed_ns, note)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (row.path, row.content_hash, row.size, row.mtime_ns, row.inode, row.language,
             row.indexed_ns, note),
        )
        path_terms = _path_terms(row.path)
        bodies = [" ".join(code_terms(item.chunk.text)) for item in chunks]
        # The whole file as one lexical document: commit-style questions name
        # concepts spread over a file, which no single chunk holds.
        self._db.execute(
            "INSERT INTO file_terms(rowid, path, body) VALUES (?, ?, ?)",
            (cur.lastrowid, path_terms, " ".join(body for body in bodies if body)),
        )
        for item, body in zip(chunks, bodies):
            c = item.chunk
            cur = self._db.execute(
                "INSERT INTO chunks(id, path, start_line, end_line, language, kind, symbol, context,"
                " text, text_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (item.chunk_id, c.path, c.start_line, c.end_line, c.language, c.kind, c.symbol,
                 c.context, c.text, item.text_hash),
            )
            self._db.execute(
                "INSERT INTO terms(rowid, path, symbol, body) VALUES (?, ?, ?, ?)",
                (cur.lastrowid, path_terms, " ".join(code_terms(c.symbol or "")), body),
            )
            params = parameter_terms(c.symbol, f"{c.context}\n{c.text}")
            if params:  # its own table: its statistics leave the lexical signal's BM25 as it was
                self._db.execute("INSERT INTO param_terms(rowid, params) VALUES (?, ?)",
                                 (cur.lastrowid, " ".join(params)))
            self._db.execute("DELETE FROM dead WHERE chunk_id = ?", (item.chunk_id,))  # alive again
            if item.chunk_id not in keep_vectors:
                self._db.execute("INSERT OR IGNORE INTO pending(chunk_id) VALUES (?)", (item.chunk_id,))

    def set_skipped(self, skipped: Iterable[tuple[str, str]]) -> None:
        """Replace the list of skipped files (inside a transaction)."""
        self._db.execute("DELETE FROM skipped")
        self._db.executemany("INSERT OR REPLACE INTO skipped(path, reason) VALUES (?, ?)", list(skipped))

    # -- vector work still to do ------------------------------------------------
    def pending_ids(self, limit: int) -> list[str]:
        """Chunk ids still without a vector, the most recently added first."""
        return [r[0] for r in self._db.execute("SELECT chunk_id FROM pending ORDER BY seq DESC LIMIT ?", (limit,))]

    def pending_among(self, ids: Iterable[str]) -> set[str]:
        """Which of these chunk ids are still waiting for a vector."""
        found: set[str] = set()
        id_list = list(ids)
        for start in range(0, len(id_list), 500):
            part = id_list[start:start + 500]
            marks = ",".join("?" * len(part))
            found.update(r[0] for r in self._db.execute(f"SELECT chunk_id FROM pending WHERE chunk_id IN ({marks})", part))
        return found

    def pending_count(self) -> int:
        """How many chunks still have no vector."""
        return self._db.execute("SELECT COUNT(*) FROM pending").fetchone()[0]

    def vectors_done(self, ids: Iterable[str]) -> None:
        """These chunks now have vectors; any of them deleted meanwhile become dead (inside a transaction)."""
        id_list = list(ids)
        self._db.executemany("DELETE FROM pending WHERE chunk_id = ?", [(i,) for i in id_list])
        for start in range(0, len(id_list), 500):
            part = id_list[start:start + 500]
            marks = ",".join("?" * len(part))
            self._db.execute(f"INSERT OR IGNORE INTO dead(chunk_id) SELECT value FROM json_each(?)"
                             f" WHERE value NOT IN (SELECT id FROM chunks WHERE id IN ({marks}))",
                             (json.dumps(part), *part))

    def mark_pending(self, ids: Iterable[str]) -> None:
        """Chunks whose vectors went missing: make them again (inside a transaction)."""
        self._db.executemany("INSERT OR IGNORE INTO pending(chunk_id) VALUES (?)", [(i,) for i in ids])

    def dead_ids(self, limit: int) -> list[str]:
        """Chunk ids whose vectors must leave the vector store."""
        return [r[0] for r in self._db.execute("SELECT chunk_id FROM dead LIMIT ?", (limit,))]

    def bury(self, ids: Iterable[str]) -> None:
        """These dead vectors are gone from the vector store (inside a transaction)."""
        self._db.executemany("DELETE FROM dead WHERE chunk_id = ?", [(i,) for i in ids])

    # -- reading chunks -----------------------------------------------------
    def all_chunk_ids(self) -> set[str]:
        """Every stored chunk id."""
        return {r[0] for r in self._db.execute("SELECT id FROM chunks")}

    def chunk_rows(self, ids: Iterable[str]) -> dict[str, ChunkRow]:
        """Stored chunks by id; unknown ids are left out."""
        found: dict[str, ChunkRow] = {}
        id_list = list(ids)
        for start in range(0, len(id_list), 500):
            part = id_list[start:start + 500]
            marks = ",".join("?" * len(part))
            for r in self._db.execute(
                "SELECT id, path, start_line, end_line, language, kind, symbol, context, text, text_hash"
                f" FROM chunks WHERE id IN ({marks})", part,
            ):
                found[r[0]] = ChunkRow(Chunk(*r[1:9]), r[0], r[9])
        return found

    def iter_chunk_rows(self) -> Iterator[ChunkRow]:
        """Every stored chunk, in path order."""
        for r in self._db.execute(
            "SELECT id, path, start_line, end_line, language, kind, symbol, context, text, text_hash"
            " FROM chunks ORDER BY path, start_line"
        ):
            yield ChunkRow(Chunk(*r[1:9]), r[0], r[9])

    def lexical(self, match: str, limit: int, weights: tuple[float, float, float]) -> list[tuple[str, float]]:
        """Chunk ids ranked by FTS5 BM25 (higher is better) for an FTS5 MATCH expression."""
        rows = self._db.execute(
            "SELECT chunks.id, -bm25(terms, ?, ?, ?) AS s FROM terms JOIN chunks ON chunks.rowid = terms.rowid"
            " WHERE terms MATCH ? ORDER BY bm25(terms, ?, ?, ?) LIMIT ?",
            (*weights, match, *weights, limit),
        )
        return [(r[0], float(r[1])) for r in rows]

    def parameters(self, match: str, limit: int) -> list[tuple[str, float]]:
        """Chunk ids ranked by FTS5 BM25 over the parameter names of their signatures."""
        rows = self._db.execute(
            "SELECT chunks.id, -bm25(param_terms) FROM param_terms JOIN chunks ON chunks.rowid = param_terms.rowid"
            " WHERE param_terms MATCH ? ORDER BY bm25(param_terms) LIMIT ?",
            (match, limit),
        )
        return [(r[0], float(r[1])) for r in rows]

    def integrity_problems(self) -> list[str]:
        """Disagreements inside the catalog: chunks without files, terms without chunks."""
        q = self._db.execute
        problems = [f"sqlite: {r[0]}" for r in q("PRAGMA quick_check") if r[0] != "ok"]
        orphan_chunks = q("SELECT COUNT(*) FROM chunks WHERE path NOT IN (SELECT path FROM files)").fetchone()[0]
        if orphan_chunks:
            problems.append(f"{orphan_chunks} chunks belong to no indexed file")
        terms, chunks = q("SELECT COUNT(*) FROM terms").fetchone()[0], q("SELECT COUNT(*) FROM chunks").fetchone()[0]
        if terms != chunks:
            problems.append(f"lexical index has {terms} rows for {chunks} chunks")
        return problems

    def file_lexical(self, match: str, limit: int, weights: tuple[float, float]) -> list[tuple[str, float]]:
        """File paths ranked by FTS5 BM25 over whole files (higher is better)."""
        rows = self._db.execute(
            "SELECT files.path, -bm25(file_terms, ?, ?) FROM file_terms JOIN files ON files.rowid = file_terms.rowid"
            " WHERE file_terms MATCH ? ORDER BY bm25(file_terms, ?, ?) LIMIT ?",
            (*weights, match, *weights, limit),
        )
        return [(r[0], float(r[1])) for r in rows]

    def chunk_ids_by_path(self, paths: Iterable[str]) -> dict[str, list[str]]:
        """Chunk ids of each given file, in line order."""
        found: dict[str, list[str]] = {}
        for path in paths:
            found[path] = [r[0] for r in self._db.execute(
                "SELECT id FROM chunks WHERE path = ? ORDER BY start_line", (path,))]
        return found

    # -- statistics -----------------------------------------------------------
    def counts(self) -> tuple[int, int, dict[str, int], int]:
        """(files, chunks, files per language, skipped files)."""
        files = self._db.execute("SELECT COUNT(*) FROM files").fetchone()[0]
        chunks = self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        langs = dict(self._db.execute("SELECT language, COUNT(*) FROM files GROUP BY language ORDER BY 2 DESC"))
        skipped = self._db.execute("SELECT COUNT(*) FROM skipped").fetchone()[0]
        return files, chunks, langs, skipped

    def skipped(self) -> list[tuple[str, str]]:
        """The skipped files recorded by the last index run."""
        return list(self._db.execute("SELECT path, reason FROM skipped ORDER BY path"))


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on an exception."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self._db.execute("ROLLBACK" if exc_type else "COMMIT")


def now_ns() -> int:
    """Wall-clock time in nanoseconds (comparable with st_mtime_ns)."""
    return time.time_ns()
