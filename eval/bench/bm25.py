"""A plain BM25 baseline: whole files as documents, mossen's identifier-splitting tokens.

What a code search tool has to beat for the price of a few seconds: no chunks,
no model, no store. Postings are kept in CSR form (numpy arrays), so a query
is a handful of vectorised additions.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexer.identifiers import code_terms, query_terms

K1, B = 1.2, 0.75  # the usual BM25 parameters


@dataclass(frozen=True, slots=True)
class Bm25Index:
    """Term -> (documents, term frequencies) and per-document length normalisation."""

    paths: tuple[str, ...]
    vocabulary: dict[str, int]
    offsets: np.ndarray  # postings of term t: [offsets[t], offsets[t + 1])
    doc_ids: np.ndarray
    term_freqs: np.ndarray
    length_norms: np.ndarray  # K1 * (1 - B + B * length / average length), per document

    @classmethod
    def build(cls, repo: Path, paths: list[str]) -> "Bm25Index":
        """Read, tokenise and index every file (undecodable bytes replaced)."""
        postings: dict[str, list[tuple[int, int]]] = {}
        lengths = np.zeros(len(paths), dtype=np.float32)
        for doc, rel in enumerate(paths):
            counts = Counter(code_terms((repo / rel).read_text(encoding="utf-8", errors="replace")))
            lengths[doc] = sum(counts.values())
            for term, tf in counts.items():
                postings.setdefault(term, []).append((doc, tf))
        vocabulary = {term: i for i, term in enumerate(postings)}
        sizes = np.array([len(p) for p in postings.values()], dtype=np.int64)
        offsets = np.concatenate(([0], np.cumsum(sizes)))
        flat = np.array([pair for plist in postings.values() for pair in plist], dtype=np.int64).reshape(-1, 2)
        norms = K1 * (1 - B + B * lengths / max(float(lengths.mean()) if paths else 0.0, 1.0))
        return cls(tuple(paths), vocabulary, offsets, flat[:, 0].astype(np.int32),
                   flat[:, 1].astype(np.float32), norms.astype(np.float32))

    def query(self, text: str, top_k: int = 10) -> list[tuple[str, float]]:
        """The best files for a query, best first, with their BM25 scores."""
        n_docs = len(self.paths)
        scores = np.zeros(n_docs, dtype=np.float32)
        for term in query_terms(text):
            t = self.vocabulary.get(term)
            if t is None:
                continue
            start, end = self.offsets[t], self.offsets[t + 1]
            docs, tf = self.doc_ids[start:end], self.term_freqs[start:end]
            idf = math.log(1 + (n_docs - (end - start) + 0.5) / ((end - start) + 0.5))
            scores[docs] += idf * tf * (K1 + 1) / (tf + self.length_norms[docs])
        k = min(top_k, n_docs)
        best = np.argpartition(-scores, k - 1)[:k] if k else np.array([], dtype=np.int64)
        ranked = sorted(best, key=lambda d: -scores[d])
        return [(self.paths[d], float(scores[d])) for d in ranked if scores[d] > 0]
