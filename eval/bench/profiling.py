"""cProfile of one call, reduced to the top entries by cumulative time."""

from __future__ import annotations

import cProfile
import pstats
from typing import Any, Callable


def profile_top(call: Callable[[], Any], top: int = 15) -> str:
    """Run `call` under cProfile; its `top` entries by cumulative time as aligned text."""
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        call()
    finally:
        profiler.disable()
    stats = pstats.Stats(profiler).stats  # (file, line, name) -> (prim calls, calls, own, cumulative, callers)
    total = max((entry[3] for entry in stats.values()), default=0.0)
    ranked = sorted(stats.items(), key=lambda item: -item[1][3])[:top]
    lines = [f"{'cumulative':>10} {'own':>8} {'calls':>8}  function   (total {total:.3f} s)"]
    for (file, line, name), (_, calls, own, cumulative, _) in ranked:
        lines.append(f"{cumulative:>9.3f}s {own:>7.3f}s {calls:>8}  {_where(file, line, name)}")
    return "\n".join(lines)


def _where(file: str, line: int, name: str) -> str:
    """`package/module.py:line(function)`, without the install prefix."""
    if file == "~":
        return name  # a builtin
    if "site-packages/" in file:
        return f"{file.split('site-packages/', 1)[1]}:{line}({name})"
    for package in ("/indexer/", "/mossen/", "/eval/"):
        if package in file:
            return f"{package[1:]}{file.rsplit(package, 1)[1]}:{line}({name})"
    return f"{'/'.join(file.split('/')[-2:])}:{line}({name})"
