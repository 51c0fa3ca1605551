"""Hybrid search: dense vectors + lexical BM25 + symbol and path matches, fused by rank."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pathspec

from indexer.embed.base import MODEL_DIM, MODEL_ID, bundled_model_path
from indexer.embed.numpy_minilm import NumpyMiniLM
from indexer.errors import IndexMissingError
from indexer.identifiers import query_terms
from indexer.pipeline import resolve_repo
from indexer.records import SearchHit
from indexer.settings import IndexSettings
from indexer.store.catalog import Catalog, ChunkRow
from indexer.store.layout import IndexLayout
from indexer.store.vectors import VectorStore

RRF_K = 60  # reciprocal-rank-fusion constant (Cormack et al.)

# Named retrievers for comparison (`mossen eval --strategy`): signal weights.
STRATEGIES: dict[str, dict[str, float]] = {
    "lexical": {"lexical": 1.0},
    "dense": {"dense": 1.0},
    "hybrid": {"dense": 1.0, "lexical": 1.0, "symbol": 0.5, "path": 0.5},
}
DEFAULT_STRATEGY = "hybrid"


@dataclass(frozen=True, slots=True)
class SearchOptions:
    """How many hits, which filters, and which signals with what weight."""

    top_k: int = 10
    language: str | None = None
    glob: str | None = None  # gitignore-style pattern on the repo-relative path
    weights: dict[str, float] = field(default_factory=lambda: dict(STRATEGIES[DEFAULT_STRATEGY]))
    # FTS5 column weights for the lexical signal: path, symbol, body.
    column_weights: tuple[float, float, float] = (2.0, 3.0, 1.0)


def search(repo: Path, query: str, settings: IndexSettings, options: SearchOptions = SearchOptions()) -> list[SearchHit]:
    """The best chunks of `repo` for `query`, best first (the index must exist)."""
    with Searcher(repo, settings) as searcher:
        return searcher.search(query, options)


class Searcher:
    """An open index, for many queries: the catalog, vectors and query model load once."""

    def __init__(self, repo: Path, settings: IndexSettings) -> None:
        repo = resolve_repo(repo)
        self.layout = IndexLayout.for_repo(repo, settings)
        if not self.layout.exists:
            raise IndexMissingError(f"{repo} has no index yet; run `mossen index {repo}` first")
        self.catalog = Catalog(self.layout.catalog)
        self._vectors: VectorStore | None = None
        self._embedder: NumpyMiniLM | None = None
        self._query_vectors: dict[str, np.ndarray] = {}

    def close(self) -> None:
        """Close the catalog and the vector store."""
        self.catalog.close()
        if self._vectors is not None:
            self._vectors.close()

    def __enter__(self) -> "Searcher":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def search(self, query: str, options: SearchOptions = SearchOptions()) -> list[SearchHit]:
        """The best chunks for `query` under `options`, best first."""
        return _Query(self, options).run(query)

    def dense(self, query: str, limit: int, language: str | None) -> list[tuple[str, float]]:
        """Nearest chunks by cosine similarity of the query's embedding."""
        if not self.layout.vectors.exists():
            return []
        if self._vectors is None:
            self._vectors = VectorStore(self.layout.vectors, MODEL_ID, MODEL_DIM)
            self._embedder = NumpyMiniLM(bundled_model_path())
        if query not in self._query_vectors:  # strategies compared on one query embed it once
            self._query_vectors = {query: self._embedder.embed([query])[0]}
        return self._vectors.query(self._query_vectors[query], limit, language)


class _Query:
    """One query under one set of options: a ranked list per signal, then fusion."""

    def __init__(self, searcher: Searcher, options: SearchOptions) -> None:
        self.searcher, self.catalog, self.options = searcher, searcher.catalog, options
        self.pool = max(50, options.top_k * (20 if options.glob else 5))
        self._spec = pathspec.GitIgnoreSpec.from_lines([options.glob]) if options.glob else None

    def run(self, query: str) -> list[SearchHit]:
        weights = self.options.weights
        rankings: dict[str, list[tuple[str, float]]] = {}
        terms = query_terms(query)
        if terms:
            any_term = " OR ".join(f'"{t}"' for t in terms)
            for signal, match in (("lexical", any_term), ("symbol", f"symbol : ({any_term})"),
                                  ("path", f"path : ({any_term})")):
                if weights.get(signal):
                    rankings[signal] = self._lexical(match)
        if query.strip() and weights.get("dense"):
            rankings["dense"] = self.searcher.dense(query, self.pool, self.options.language)
        return self._fuse(rankings)

    def _lexical(self, match: str) -> list[tuple[str, float]]:
        return self.catalog.lexical(match, self.pool, self.options.column_weights)

    def _fuse(self, rankings: dict[str, list[tuple[str, float]]]) -> list[SearchHit]:
        weights = self.options.weights
        fused: dict[str, float] = {}
        raw: dict[str, dict[str, float]] = {}
        for signal, ranked in rankings.items():
            w = weights.get(signal, 0.0)
            for rank, (chunk_id, score) in enumerate(ranked):
                fused[chunk_id] = fused.get(chunk_id, 0.0) + w / (RRF_K + rank + 1)
                raw.setdefault(chunk_id, {})[signal] = score
        # Vectors of chunks no longer in the catalog (an interrupted run) drop out here.
        rows = self.catalog.chunk_rows(fused)
        best = 1.0 / (RRF_K + 1) * sum(weights.get(s, 0.0) for s in rankings) or 1.0
        hits: list[SearchHit] = []
        for chunk_id in sorted(fused, key=lambda i: (-fused[i], i)):
            row = rows.get(chunk_id)
            if row is None or not self._wanted(row):
                continue
            c = row.chunk
            hits.append(SearchHit(c.path, c.start_line, c.end_line, c.symbol, c.language,
                                  fused[chunk_id] / best, c.kind, c.text, raw[chunk_id]))
            if len(hits) == self.options.top_k:
                break
        return hits

    def _wanted(self, row: ChunkRow) -> bool:
        if self.options.language and row.chunk.language != self.options.language:
            return False
        return self._spec is None or self._spec.match_file(row.chunk.path)
