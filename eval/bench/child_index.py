"""Child process of the benchmark: one full `index_repo`, timed per step; prints one JSON line.

    python eval/bench/child_index.py REPO INDEX_ROOT

The steps are timed by wrapping the functions the pipeline calls (discovery,
reading, chunking, the embedding model, the vector store, catalog writes);
what is left of the wall time is planning, hashing, cache look-ups and glue.
The peak RSS is this process's own (`ru_maxrss`), so nothing else run by the
benchmark is counted in it.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections import defaultdict
from dataclasses import asdict
from functools import wraps
from pathlib import Path
from typing import Any, Callable

import indexer.pipeline as pipeline
from indexer import IndexSettings, index_repo
from indexer.chunking import Chunker
from indexer.embed.adaptive import AdaptiveEmbedder
from indexer.store.catalog import Catalog
from indexer.store.vectors import VectorStore


class StepTimer:
    """Accumulates the seconds spent inside wrapped callables, per step name."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, owner: Any, attribute: str, step: str) -> None:
        """Replace `owner.attribute` by a timed version of itself."""
        original: Callable[..., Any] = getattr(owner, attribute)

        @wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[step] += time.perf_counter() - started

        setattr(owner, attribute, timed)


def main(repo: Path, root: Path) -> None:
    timer = StepTimer()
    timer.wrap(pipeline, "discover_files", "discover")
    timer.wrap(pipeline, "read_source", "read")
    timer.wrap(Chunker, "chunk", "chunk")
    timer.wrap(AdaptiveEmbedder, "embed", "embed (model, incl. load)")
    timer.wrap(VectorStore, "upsert", "vector upsert")
    timer.wrap(Catalog, "put_file", "catalog put_file")
    started = time.perf_counter()
    report = index_repo(repo, IndexSettings(index_root=root))
    wall = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"report": asdict(report), "wall": wall, "phases": dict(timer.seconds), "max_rss_kib": rss},
                     default=str))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
