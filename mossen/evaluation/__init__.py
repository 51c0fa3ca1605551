"""Retrieval-quality evaluation: suites of (query -> gold files/symbols), metrics, runs, reports."""
