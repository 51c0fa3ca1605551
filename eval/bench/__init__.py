"""Helpers of `eval/bench_index.py`: corpora, timed runs, a BM25 baseline, the report."""
