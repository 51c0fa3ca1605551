"""Settings for indexing and search; the CLI builds them from config."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

MIB = 1024 * 1024
# How chunks are embedded: ONNX Runtime with dynamic int8 weights, ONNX Runtime in fp32,
# or sentence-transformers on torch. "onnx" and "torch" compute the same vectors.
EMBED_BACKENDS = ("onnx-int8", "onnx", "torch")
# int8: ~2x fp32 ONNX, ~5x torch, and no retrieval loss beyond the CIs over 2,574 eval
# queries (hybrid MRR int8 - fp32 +0.001 [-0.003, +0.006]; eval/BENCH-EMBED.md).
DEFAULT_EMBED_BACKEND = "onnx-int8"


@dataclass(frozen=True, slots=True)
class ChromaServer:
    """A Chroma server holding the vectors instead of the embedded store (`index.store = "chroma-server"`).

    `repo_id` names the repository on a shared server; empty: its root commit (see indexer/store/backends.py).
    """

    host: str = "127.0.0.1"
    port: int = 8000
    ssl: bool = False
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # e.g. an auth token: kept out of reprs
    repo_id: str = ""
    connect_timeout: float = 5.0

    @property
    def address(self) -> str:
        """host:port, as messages name it."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def default_index_root() -> Path:
    """`$XDG_DATA_HOME/mossen/indexes`, falling back to ~/.local/share."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "mossen" / "indexes"


@dataclass(frozen=True, slots=True)
class IndexSettings:
    """Everything `index_repo` and `search` need besides the repository path."""

    index_root: Path = field(default_factory=default_index_root)
    max_file_bytes: int = 1 * MIB
    exclude: tuple[str, ...] = ()  # extra gitignore-style patterns
    embed_batch_size: int = 32
    # Up to this many new texts are embedded by the light numpy model; more go through
    # the bulk backend (ONNX or torch), whose start-up only pays off in bulk. An
    # "onnx-int8" index embeds everything in int8 (its vectors differ from fp32 ones).
    light_embed_limit: int = 64
    chunk_max_tokens: int = 256  # the embedder's window
    embed_backend: str = DEFAULT_EMBED_BACKEND  # one of EMBED_BACKENDS
    embed_threads: int = 0  # ONNX Runtime intra-op threads; 0: one per core
    chunk_min_tokens: int = 48  # smaller siblings are merged
    lock_timeout: float = 10.0
    commit_every: int = 200  # at most this many files per write transaction
    batch_chunks: int = 512  # ... or this many chunks, whichever comes first
    chroma: ChromaServer | None = None  # None: the embedded store in the index folder

    def __post_init__(self) -> None:
        if self.embed_backend not in EMBED_BACKENDS:
            raise ValueError(f"unknown embedding backend {self.embed_backend!r}; "
                             f"choose from {', '.join(EMBED_BACKENDS)}")

    @property
    def models_dir(self) -> Path:
        """Where models exported on this machine (ONNX) are kept, beside the indexes."""
        return self.index_root.expanduser() / "models"

    def index_dir(self, repo: Path) -> Path:
        """The folder of this repository's index: keyed by its resolved path."""
        resolved = repo.resolve()
        digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:16]
        return self.index_root / f"{resolved.name or 'root'}-{digest}"
