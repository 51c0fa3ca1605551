"""Hybrid search: dense vectors + lexical BM25 + symbol, parameter-name and path matches, fused by rank."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pathspec

from indexer.embed.base import MODEL_DIM, MODEL_ID, Embedder, bundled_model_path, model_id_for
from indexer.embed.numpy_minilm import NumpyMiniLM
from indexer.errors import IndexMissingError, ModelMismatchError
from indexer.identifiers import named_terms, query_terms, quoted_terms
from indexer.pipeline import resolve_repo
from indexer.records import SearchHit
from indexer.settings import IndexSettings
from indexer.store.catalog import SCHEMA_VERSION, Catalog, ChunkRow
from indexer.store.layout import IndexLayout
from indexer.store.backends import vector_backend
from indexer.store.vectors import VectorStore

RRF_K = 20  # reciprocal-rank-fusion constant; 20 beat Cormack et al.'s 60 on every suite family
FILE_POOL = 50  # files considered by file-level signals
SHARED_OVERFETCH = 3  # a shared vector store is asked for this many times the pool (see Searcher.dense)
TEST_WORDS = frozenset({"test", "tests", "testing", "spec", "fixture", "fixtures"})

_FUSION = {"dense": 2.0, "lexical": 0.75}

# Named retrievers, each stage added to the one before, so `mossen eval
# --strategy` shows what every stage is worth (eval/RESULTS.md). "hybrid" is the
# default. The weights were chosen on the shipped suites with the default
# (int8) embeddings: of the configurations tried, the one beating the better
# single retriever significantly on most suites while keeping file Hit@5 >= 0.85
# on the external benchmark (eval/fusion_lab.py scores weightings offline). A
# path-terms signal over all the query's words (`"path"` weight) exists but is not
# used: with symbol names in, it lowered file-level MRR on the shipped suites; the
# named-path signal, over only the names the query writes as code, is used.
STRATEGIES: dict[str, dict[str, object]] = {
    "lexical": {"weights": {"lexical": 1.0}, "test_weight": 1.0},  # BM25 over chunks, identifiers split
    "dense": {"weights": {"dense": 1.0}, "test_weight": 1.0},  # embeddings only
    "fusion": {"weights": _FUSION, "test_weight": 1.0},  # both, fused by rank, dense weighted up
    "fusion+tests": {"weights": _FUSION, "test_weight": 0.25},  # + tests count a quarter unless asked for
    "fusion+tests+file": {"weights": {**_FUSION, "file_lexical": 0.75}, "test_weight": 0.25},  # + BM25 over files
    "fusion+tests+file+symbol": {"weights": {**_FUSION, "file_lexical": 0.75, "symbol": 0.5},
                                 "test_weight": 0.25},  # + BM25 over symbol names
    # + files the query names (`run_all`, `indexer.ignore`, "Chunker: ..."), by path
    "fusion+tests+file+symbol+named": {"weights": {**_FUSION, "file_lexical": 0.75, "symbol": 0.5, "named_path": 0.5},
                                       "test_weight": 0.25},
    # + what the query quotes in backticks among parameter names ("the length of `size`": `chunk(array, size)`)
    "hybrid": {"weights": {**_FUSION, "file_lexical": 0.75, "symbol": 0.5, "named_path": 0.5, "params": 1.0},
               "test_weight": 0.25},
}
DEFAULT_STRATEGY = "hybrid"


@dataclass(frozen=True, slots=True)
class SearchOptions:
    """How many hits, which filters, and which signals with what weight."""

    top_k: int = 10
    language: str | None = None
    glob: str | None = None  # gitignore-style pattern on the repo-relative path
    weights: dict[str, float] = field(default_factory=lambda: dict(STRATEGIES[DEFAULT_STRATEGY]["weights"]))
    # FTS5 column weights for the lexical signal: path, symbol, body.
    column_weights: tuple[float, float, float] = (2.0, 3.0, 1.0)
    rrf_k: int = RRF_K
    test_weight: float = STRATEGIES[DEFAULT_STRATEGY]["test_weight"]  # factor for test files unless asked for


def strategy_options(name: str, **overrides: object) -> SearchOptions:
    """SearchOptions of a named strategy; ValueError lists the names when unknown."""
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}")
    return SearchOptions(**{**STRATEGIES[name], **overrides})  # type: ignore[arg-type]


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
        self.repo = repo
        self.settings = settings
        self.catalog = self._open_catalog()
        self._backend = vector_backend(self.layout, settings)
        self._vectors: VectorStore | None = None
        self._embedder: Embedder | None = None
        self._query_vectors: dict[str, np.ndarray] = {}

    def _open_catalog(self) -> Catalog:
        catalog = Catalog(self.layout.catalog)
        if catalog.get_meta("schema") != SCHEMA_VERSION:
            catalog.close()
            raise IndexMissingError(f"the index of {self.repo} has an older format; "
                                    f"run `mossen index {self.repo}` to rebuild it")
        self._catalog_inode = self.layout.catalog.stat().st_ino
        self._data_version = catalog.data_version()
        return catalog

    def sync(self) -> None:
        """See what other connections committed since: a rebuilt catalog is reopened, and the vector
        store is reopened when the catalog changed (a process only sees Chroma writes of others on open)."""
        if not self.layout.catalog.exists():
            raise IndexMissingError(f"{self.repo} has no index any more; run `mossen index {self.repo}`")
        if self.layout.catalog.stat().st_ino != self._catalog_inode:
            self.catalog.close()
            self.catalog = self._open_catalog()
            self._drop_vectors()
        elif self.catalog.data_version() != self._data_version:
            self._data_version = self.catalog.data_version()
            self._drop_vectors()

    def _drop_vectors(self) -> None:
        if self._vectors is not None:
            self._vectors.close()
            self._vectors = None

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
        query_run = _Query(self, options)
        return query_run.fuse(query_run.signals(query))

    def signals(self, query: str, options: SearchOptions = SearchOptions()) -> Signals:
        """The ranked list of every signal `options` weighs, before fusion (eval/fusion_lab.py collects
        them once and fuses them under many weightings)."""
        return _Query(self, options).signals(query)

    def fuse(self, signals: Signals, options: SearchOptions = SearchOptions()) -> list[SearchHit]:
        """`signals` fused under `options`; a signal `options` gives no weight is left out."""
        return _Query(self, options).fuse(signals)

    def coverage(self) -> tuple[int, int]:
        """(chunks with a vector, all chunks): dense search sees only the first."""
        chunks = self.catalog.counts()[1]
        return chunks - self.catalog.pending_count(), chunks

    def dense(self, query: str, limit: int, language: str | None) -> list[tuple[str, float]]:
        """Nearest chunks by cosine similarity of the query's embedding."""
        if not self._backend.has_vectors():
            return []
        model = self.catalog.get_meta("model") or MODEL_ID
        if self._vectors is None:
            self._vectors = self._backend.open(model, MODEL_DIM)
        if self._embedder is None or self._embedder.model_id != model:
            self._embedder = query_embedder(model, self.settings)
        if query not in self._query_vectors:  # strategies compared on one query embed it once
            self._query_vectors = {query: self._embedder.embed([query])[0]}
        if not self._backend.shared:
            return self._vectors.query(self._query_vectors[query], limit, language)
        # Other machines' vectors (other versions of changed code) would take ranks: ask for more, keep ours.
        found = self._vectors.query(self._query_vectors[query], limit * SHARED_OVERFETCH, language)
        ours = self.catalog.chunk_rows(cid for cid, _ in found)
        return [(cid, score) for cid, score in found if cid in ours][:limit]


def query_embedder(model: str, settings: IndexSettings) -> Embedder:
    """The embedder of queries for an index that records `model`: the very model its chunks were embedded by.

    fp32 indexes (torch or ONNX) take the numpy forward pass (no onnxruntime, no torch);
    int8 ones the int8 ONNX session, exported into the models folder if it went missing.
    """
    if model == MODEL_ID:
        return NumpyMiniLM(bundled_model_path(), settings.chunk_max_tokens)
    if model == model_id_for("onnx-int8"):
        from indexer.embed.onnx_minilm import load_onnx_minilm  # onnxruntime: int8 indexes only

        return load_onnx_minilm(bundled_model_path(), settings.models_dir, "int8", settings.chunk_max_tokens,
                                threads=settings.embed_threads)
    raise ModelMismatchError(f"this index was built with {model}, which mossen cannot embed queries with; "
                             "run `mossen index --rebuild`")


@dataclass(frozen=True, slots=True)
class Signals:
    """One query's ranked lists before fusion: chunk ids or file paths with each signal's raw score
    (None: a chunk placed by rank while its vector is pending), and whether the query asks for tests."""

    chunks: dict[str, list[tuple[str, float | None]]]
    files: dict[str, list[tuple[str, float]]]
    wants_tests: bool


class _Query:
    """One query under one set of options: ranked lists per signal, then fusion by rank.

    Chunk signals rank chunks; file signals rank files, and every chunk of a file
    inherits its file's contribution, so evidence spread over a file counts.
    """

    def __init__(self, searcher: Searcher, options: SearchOptions) -> None:
        self.searcher, self.catalog, self.options = searcher, searcher.catalog, options
        self.pool = max(50, options.top_k * (20 if options.glob else 5))
        self._spec = pathspec.GitIgnoreSpec.from_lines([options.glob]) if options.glob else None

    def signals(self, query: str) -> Signals:
        weights = self.options.weights
        chunks: dict[str, list[tuple[str, float | None]]] = {}
        files: dict[str, list[tuple[str, float]]] = {}
        terms = query_terms(query)
        if terms:
            any_term = " OR ".join(f'"{t}"' for t in terms)
            for signal, match in (("lexical", any_term), ("symbol", f"symbol : ({any_term})"),
                                  ("path", f"path : ({any_term})")):
                if weights.get(signal):
                    chunks[signal] = self.catalog.lexical(match, self.pool, self.options.column_weights)
            if weights.get("file_lexical"):
                files["file_lexical"] = self.catalog.file_lexical(any_term, FILE_POOL, (2.0, 1.0))
        named = " OR ".join(f'"{t}"' for t in named_terms(query)) if weights.get("named_path") else ""
        if named:  # files the query names: `run_all`, `indexer.ignore`, "Chunker: ..."
            files["named_path"] = self.catalog.file_lexical(f"path : ({named})", FILE_POOL, (1.0, 0.0))
        quoted = " OR ".join(f'"{t}"' for t in quoted_terms(query)) if weights.get("params") else ""
        if quoted:  # what the query quotes as code, among parameter names: "the length of `size`"
            chunks["params"] = self.catalog.parameters(quoted, self.pool)
        if query.strip() and weights.get("dense"):
            chunks["dense"] = self.searcher.dense(query, self.pool, self.options.language)
            chunks["dense"] = self._with_pending(chunks["dense"], chunks.get("lexical", []))
        return Signals(chunks, files, wants_tests=bool(set(terms) & TEST_WORDS))

    def _with_pending(self, dense: list[tuple[str, float]],
                      lexical: list[tuple[str, float]]) -> list[tuple[str, float | None]]:
        """While embedding is unfinished, a chunk without a vector takes, in the dense list, the place
        its lexical rank gives it: otherwise the newest code, the last to be embedded, would lose
        every dense vote and sink under older code."""
        if not lexical or self.catalog.pending_count() == 0:
            return dense
        waiting = self.catalog.pending_among(cid for cid, _ in lexical)
        merged = list(dense)
        for rank, (cid, _) in enumerate(lexical):
            if cid in waiting:
                merged.insert(min(rank, len(merged)), (cid, None))  # a place, not a similarity
        return merged

    def fuse(self, signals: Signals) -> list[SearchHit]:
        weights, k = self.options.weights, self.options.rrf_k
        chunks = {name: ranked for name, ranked in signals.chunks.items() if weights.get(name)}
        files = {name: ranked for name, ranked in signals.files.items() if weights.get(name)}
        score: dict[str, float] = {}
        raw: dict[str, dict[str, float]] = {}
        for signal, ranked in chunks.items():
            for rank, (chunk_id, value) in enumerate(ranked):
                score[chunk_id] = score.get(chunk_id, 0.0) + weights[signal] / (k + rank + 1)
                if value is not None:
                    raw.setdefault(chunk_id, {})[signal] = value
        # Vectors of chunks no longer in the catalog (an interrupted run) drop out here.
        rows = self.catalog.chunk_rows(score)
        file_score = self._file_scores(files, score, rows)
        if files:
            for ids in self.catalog.chunk_ids_by_path(p for p, _ in files_top(file_score)).values():
                missing = [i for i in ids if i not in rows]
                rows.update(self.catalog.chunk_rows(missing))
        final: dict[str, float] = {}
        for chunk_id, row in rows.items():
            if not self._wanted(row):
                continue
            value = score.get(chunk_id, 0.0) + file_score.get(row.chunk.path, 0.0)
            if not signals.wants_tests and is_test_path(row.chunk.path):
                value *= self.options.test_weight
            final[chunk_id] = value
        best = sum(weights.get(s, 0.0) for s in (*chunks, *files)) / (k + 1) or 1.0
        hits: list[SearchHit] = []
        for chunk_id in sorted(final, key=lambda i: (-final[i], i))[: self.options.top_k]:
            c = rows[chunk_id].chunk
            hits.append(SearchHit(c.path, c.start_line, c.end_line, c.symbol, c.language,
                                  final[chunk_id] / best, c.kind, c.text, raw.get(chunk_id, {})))
        return hits

    def _file_scores(self, files: dict[str, list[tuple[str, float]]], score: dict[str, float],
                     rows: dict[str, ChunkRow]) -> dict[str, float]:
        """Each file's fused contribution from the file signals (file BM25, aggregated chunk evidence)."""
        weights, k = self.options.weights, self.options.rrf_k
        ranked = dict(files)
        if weights.get("file_agg"):
            per_file: dict[str, list[float]] = {}
            for chunk_id, value in score.items():
                if chunk_id in rows:
                    per_file.setdefault(rows[chunk_id].chunk.path, []).append(value)
            agg = {p: sum(sorted(v, reverse=True)[:3]) for p, v in per_file.items()}
            ranked["file_agg"] = sorted(agg.items(), key=lambda kv: -kv[1])
        result: dict[str, float] = {}
        for signal, items in ranked.items():
            for rank, (path, _) in enumerate(items[:FILE_POOL]):
                result[path] = result.get(path, 0.0) + weights[signal] / (k + rank + 1)
        return result

    def _wanted(self, row: ChunkRow) -> bool:
        if self.options.language and row.chunk.language != self.options.language:
            return False
        return self._spec is None or self._spec.match_file(row.chunk.path)


def files_top(file_score: dict[str, float], n: int = 20) -> list[tuple[str, float]]:
    """The n best files by score."""
    return sorted(file_score.items(), key=lambda kv: -kv[1])[:n]


_TEST_PATH = re.compile(r"(^|/)(tests?|testing|__tests__|spec)/|(^|/)(test_[^/]*|[^/]*_test\.[a-z]+|conftest\.py|"
                        r"[^/]*\.(test|spec)\.[jt]sx?)$")


def is_test_path(path: str) -> bool:
    """Whether a repo-relative path looks like a test file."""
    return _TEST_PATH.search(path) is not None
