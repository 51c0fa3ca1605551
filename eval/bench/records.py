"""Typed results of the benchmark: timing samples and the rows of the results table."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Samples:
    """Repeated wall times of one operation, in seconds."""

    seconds: tuple[float, ...]

    @property
    def median(self) -> float:
        """The median sample."""
        return statistics.median(self.seconds)

    @property
    def p90(self) -> float:
        """The 90th percentile (nearest rank)."""
        ordered = sorted(self.seconds)
        return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]

    def __len__(self) -> int:
        return len(self.seconds)


@dataclass(frozen=True, slots=True)
class Figure:
    """One row of the results table: a named figure of one corpus."""

    name: str
    value: float
    unit: str  # s | ms | /s | MiB | count
    how: str  # how it was measured; identical for every corpus

    def formatted(self) -> str:
        """The value in its unit, rounded for reading."""
        if self.unit == "count":
            return f"{int(self.value):,}"
        if self.unit == "ms":
            return f"{self.value:,.1f} ms" if self.value >= 1 else f"{self.value:.3f} ms"
        if self.unit == "s":
            return f"{self.value:,.2f} s" if self.value >= 1 else f"{self.value:.3f} s"
        if self.unit == "/s":
            return f"{self.value:,.1f}/s"
        return f"{self.value:,.1f} {self.unit}"


@dataclass(frozen=True, slots=True)
class CorpusResult:
    """Every figure measured on one corpus, with what a reader needs to interpret them."""

    label: str  # e.g. "sqlalchemy 2.0.36"
    figures: tuple[Figure, ...]
    notes: tuple[str, ...] = ()  # corpus-specific details (edit target, queries, phase split)
    profiles: dict[str, str] = field(default_factory=dict)  # title -> cProfile excerpt


@dataclass(frozen=True, slots=True)
class Target:
    """A limit one figure (a time, a memory peak) has to stay within."""

    figure: str  # the Figure's name
    limit: float  # at most this, in that figure's unit
