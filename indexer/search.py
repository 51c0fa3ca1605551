"""Hybrid search: dense vectors + lexical BM25 + symbol and path matches, fused by rank."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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
    repo = resolve_repo(repo)
    layout = IndexLayout.for_repo(repo, settings)
    if not layout.exists:
        raise IndexMissingError(f"{repo} has no index yet; run `mossen index {repo}` first")
    with Catalog(layout.catalog) as catalog:
        return _Searcher(catalog, layout, options).run(query)


class _Searcher:
    """Gathers one ranked list per signal, then fuses them."""

    def __init__(self, catalog: Catalog, layout: IndexLayout, options: SearchOptions) -> None:
        self.catalog, self.layout, self.options = catalog, layout, options
        self.pool = max(50, options.top_k * (20 if options.glob else 5))
        self._spec = pathspec.GitIgnoreSpec.from_lines([options.glob]) if options.glob else None

    def run(self, query: str) -> list[SearchHit]:
        rankings: dict[str, list[tuple[str, float]]] = {}
        terms = query_terms(query)
        if terms:
            any_term = " OR ".join(f'"{t}"' for t in terms)
            rankings["lexical"] = self._lexical(any_term)
            rankings["symbol"] = self._lexical(f"symbol : ({any_term})")
            rankings["path"] = self._lexical(f"path : ({any_term})")
        if query.strip():
            rankings["dense"] = self._dense(query)
        return self._fuse(rankings)

    def _lexical(self, match: str) -> list[tuple[str, float]]:
        return self.catalog.lexical(match, self.pool, self.options.column_weights)

    def _dense(self, query: str) -> list[tuple[str, float]]:
        if not self.layout.vectors.exists():
            return []
        embedder = NumpyMiniLM(bundled_model_path())
        vector = embedder.embed([query])[0]
        with VectorStore(self.layout.vectors, MODEL_ID, MODEL_DIM) as vectors:
            return vectors.query(vector, self.pool, self.options.language)

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
