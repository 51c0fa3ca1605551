"""Where an index's vectors live: the embedded Chroma folder, or a (shared) Chroma server.

`vector_backend(layout, settings)` is the one place a Chroma client is chosen;
the dense phase, search and verify only see the `VectorBackend` protocol.

On a shared server every machine that indexes the same repository writes to and
reads from one collection, named from what all those machines share:

    mossen-<repository key>-<model key>

- repository key: `chroma.repo_id` when configured (any name the team agrees
  on), else the repository's root commit (`git rev-list --max-parents=0 HEAD`,
  the same on every clone), plus the indexed sub-folder when it is not the work
  tree's top. A shallow clone or a folder outside git must set `repo_id`.
- model key: a hash of the embedding model id and dimension, so machines on
  different models never share a collection; the collection's metadata (model,
  dimension, repository) is still checked on open and a mismatch is refused.

Chunk ids hash path, lines and text, so machines at the same commit produce the
same ids and share vectors: a chunk already on the server is not embedded again.
Each machine keeps its own catalog, lexical index and pending/dead lists; search
only returns chunks its own catalog holds. So a shared collection is never
pruned by one machine (another may still use a vector its catalog dropped).
"""

from __future__ import annotations

import hashlib
import re
import socket
import sqlite3
import subprocess
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from indexer.errors import VectorStoreError
from indexer.settings import ChromaServer, IndexSettings
from indexer.store.layout import IndexLayout
from indexer.store.vectors import VectorStore

EMBEDDED_COLLECTION = "chunks"
EMBEDDED_LOCATION = "embedded"
GIT_TIMEOUT = 10.0


class VectorBackend(Protocol):
    """Opens the vector store of one index."""

    @property
    def location(self) -> str:
        """Names where the vectors are; the catalog records it, and a change means they must be checked."""

    @property
    def shared(self) -> bool:
        """True when other indexes (other machines) use the same collection."""

    def has_vectors(self) -> bool:
        """False only when the store certainly holds nothing (so it need not be opened)."""

    def open(self, model_id: str, dimension: int) -> VectorStore:
        """The store, refusing one that holds another model's vectors."""

    def quick_count(self) -> int | None:
        """The number of vectors, read without opening the store; None when that cannot be done."""


@dataclass(frozen=True, slots=True)
class EmbeddedChroma:
    """Chroma's `PersistentClient` in the index folder: nothing leaves the machine."""

    folder: Path
    location: str = EMBEDDED_LOCATION
    shared: bool = False

    def has_vectors(self) -> bool:
        return self.folder.exists()

    def quick_count(self) -> int | None:
        """Rows of Chroma's own SQLite table of embeddings, what `collection.count()` reports, read-only.

        Importing chromadb and opening the collection costs ~1 s; this read costs a millisecond, so
        a no-op run checks the store's size for free. The table is Chroma's, not ours: on any
        surprise (another schema, a locked or missing file) the answer is None and the caller opens
        the store properly.
        """
        database = self.folder / "chroma.sqlite3"
        if not database.is_file():
            return None
        try:
            with closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=1.0)) as db:
                row = db.execute(
                    "SELECT count(*) FROM embeddings e JOIN segments s ON e.segment_id = s.id"
                    " JOIN collections c ON s.collection = c.id WHERE c.name = ?", (EMBEDDED_COLLECTION,)).fetchone()
        except sqlite3.Error:
            return None
        return int(row[0]) if row else None

    def open(self, model_id: str, dimension: int) -> VectorStore:
        import chromadb  # ~0.9 s to import: only paid when vectors are touched
        from chromadb.config import Settings

        client = chromadb.PersistentClient(
            path=str(self.folder), settings=Settings(anonymized_telemetry=False, allow_reset=False))
        return VectorStore(client, EMBEDDED_COLLECTION, {"model": model_id, "dimension": dimension})


@dataclass(frozen=True, slots=True)
class ChromaServerBackend:
    """Chroma's `HttpClient`: vectors, chunk ids and path/language metadata go to that server."""

    server: ChromaServer
    repo_key: str  # the collection's repository part
    repo_label: str  # the same, readable, recorded in the collection's metadata
    shared: bool = True

    @property
    def location(self) -> str:
        return f"chroma-server {self.server.address} {self.repo_key}"

    def has_vectors(self) -> bool:
        return True  # unknowable without asking the server

    def quick_count(self) -> int | None:
        return None  # only the server knows

    def open(self, model_id: str, dimension: int) -> VectorStore:
        where = f"the Chroma server at {self.server.address}"
        self._probe(where)
        import chromadb
        from chromadb.config import Settings

        try:
            client = chromadb.HttpClient(
                host=self.server.host, port=self.server.port, ssl=self.server.ssl,
                headers=dict(self.server.headers) or None, settings=Settings(anonymized_telemetry=False))
        except Exception as exc:  # ValueError("Could not connect ..."), auth failures, TLS errors
            raise VectorStoreError(f"cannot use {where}: {type(exc).__name__}: {exc}") from exc
        name = collection_name(self.repo_key, model_id, dimension)
        metadata = {"model": model_id, "dimension": dimension, "repo": self.repo_label}
        return VectorStore(client, name, metadata, where=where)

    def _probe(self, where: str) -> None:
        """One TCP connect with a timeout: Chroma's client would wait without limit on a silent host."""
        try:
            socket.create_connection((self.server.host, self.server.port), self.server.connect_timeout).close()
        except OSError as exc:
            raise VectorStoreError(
                f"cannot reach {where} ({exc or type(exc).__name__}); is `chroma run` serving there? "
                "Nothing was sent and the local index is unchanged") from exc


def vector_backend(layout: IndexLayout, settings: IndexSettings) -> VectorBackend:
    """The backend `settings` choose for the index at `layout`."""
    if settings.chroma is None:
        return EmbeddedChroma(layout.vectors)
    key, label = repo_identity(layout.repo, settings.chroma.repo_id)
    return ChromaServerBackend(settings.chroma, key, label)


def collection_name(repo_key: str, model_id: str, dimension: int) -> str:
    """`mossen-<repository key>-<model key>`, within Chroma's rules (3-512 of [A-Za-z0-9._-])."""
    model_key = hashlib.sha256(f"{model_id}\0{dimension}".encode()).hexdigest()[:10]
    return f"mossen-{repo_key}-{model_key}"


def repo_identity(repo: Path, repo_id: str) -> tuple[str, str]:
    """(collection key, readable label) of a repository: the same on every machine that has it."""
    if repo_id.strip():
        slug = re.sub(r"[^A-Za-z0-9]+", "-", repo_id.strip()).strip("-")[:40] or "repo"
        return f"{slug}-{_digest(repo_id.strip(), 8)}", f"id:{repo_id.strip()}"
    top = _git(repo, "rev-parse", "--show-toplevel")
    if _git(repo, "rev-parse", "--is-shallow-repository") == "true":
        raise VectorStoreError(f"{repo} is a shallow clone: its oldest commit is not the repository's root, so "
                               "it cannot name the shared collection; set [chroma] repo_id (MOSSEN_CHROMA_REPO_ID)")
    root = sorted(_git(repo, "rev-list", "--max-parents=0", "HEAD").split())[0]
    sub = repo.resolve().relative_to(Path(top).resolve()).as_posix()
    if sub == ".":
        return root[:16], f"root:{root}"
    return f"{root[:16]}-{_digest(sub, 8)}", f"root:{root}/{sub}"


def _git(repo: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=GIT_TIMEOUT)
    except (OSError, subprocess.SubprocessError) as exc:
        done = None
        reason = str(exc)
    else:
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"git {args[0]} failed"
    if done is None or done.returncode != 0 or not done.stdout.strip():
        raise VectorStoreError(
            f"a shared Chroma server names each repository by its root commit, and {repo} has none "
            f"({reason}); set [chroma] repo_id (MOSSEN_CHROMA_REPO_ID) to a name every machine uses for it")
    return done.stdout.strip()


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]
