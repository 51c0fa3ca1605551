"""The flags a person passes to eval/bench_index.py (no mossen import: the launcher reads them too)."""

from __future__ import annotations

import argparse

CORPORA = ("sqlalchemy", "self")


def user_flags(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the user-facing flags to `parser`."""
    parser.add_argument("--corpus", choices=[*CORPORA, "all"], default="all")
    parser.add_argument("--quick", action="store_true", help="this repository only, fewer repetitions (smoke test)")
    parser.add_argument("--no-write", action="store_true", help="print the table, leave eval/BENCH.md alone")
    parser.add_argument("--profile", action="store_true",
                        help="add cProfile excerpts of the no-op, search and one-file paths to BENCH.md")
    return parser
