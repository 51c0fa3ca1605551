"""The suite format: one JSON object per line, shared by generators, hand-written suites and the runner.

    {"id": "click-history-0001", "query": "Resolve the pager command once",
     "gold_files": ["src/click/_termui_impl.py"],
     "gold_symbols": [{"path": "src/click/_termui_impl.py", "symbol": "_pager_contextmanager",
                       "start_line": 380, "end_line": 420}],
     "source": "history", "meta": {"commit": "abc123"}}

`gold_symbols` may be empty (file-level only). Paths are repo-relative with "/".
A symbol is found when a retrieved chunk of the same file overlaps its lines.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable


@dataclass(frozen=True, slots=True)
class GoldSymbol:
    """A symbol the query is about, located in today's code."""

    path: str
    symbol: str
    start_line: int
    end_line: int


@dataclass(frozen=True, slots=True)
class Case:
    """One evaluation query with what a good retriever must return."""

    id: str
    query: str
    gold_files: tuple[str, ...]
    gold_symbols: tuple[GoldSymbol, ...] = ()
    source: str = "manual"  # history | docstring | docstring-masked | manual | external
    meta: dict[str, object] = field(default_factory=dict)

    def to_json(self) -> str:
        """One JSONL line."""
        data = asdict(self)
        data["gold_files"] = list(self.gold_files)
        data["gold_symbols"] = [asdict(s) for s in self.gold_symbols]
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, data: dict) -> "Case":
        """Parse one object; raises ValueError naming what is missing."""
        try:
            return cls(
                id=str(data["id"]), query=str(data["query"]),
                gold_files=tuple(data["gold_files"]),
                gold_symbols=tuple(GoldSymbol(**s) for s in data.get("gold_symbols", ())),
                source=str(data.get("source", "manual")), meta=dict(data.get("meta", {})),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a suite case: {exc}") from exc


def read_cases(path: Path) -> list[Case]:
    """Cases of a JSONL suite file (blank lines and # comments allowed)."""
    cases: list[Case] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            cases.append(Case.from_json(json.loads(line)))
        except ValueError as exc:
            raise ValueError(f"{path}:{number}: {exc}") from exc
    return cases


def write_cases(path: Path, cases: Iterable[Case]) -> int:
    """Write a JSONL suite; returns the number of cases."""
    lines = [c.to_json() for c in cases]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return len(lines)
