"""A rich progress bar on stderr fed by the indexer's progress callback."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from indexer import ProgressEvent

_LABELS = {"discover": "discovering", "index": "indexing", "lexical": "searchable", "embed": "embedding",
           "repair": "repairing", "model": "exporting"}


class IndexProgress:
    """Shows files (then chunks being embedded), speed and ETA while a terminal watches; silent otherwise."""

    def __init__(self, console: Console, enabled: bool = True) -> None:
        self._enabled = enabled and console.is_terminal
        self._progress = Progress(
            TextColumn("{task.description:<11}"), BarColumn(),
            TextColumn("{task.completed:>6.0f}/{task.total:.0f}"),
            TextColumn("{task.fields[stats]}"), TimeRemainingColumn(), console=console, transient=True,
        )
        self._task: TaskID | None = None
        self._phase = ""
        self._began = self._started = time.monotonic()

    def __enter__(self) -> "IndexProgress":
        if self._enabled:
            self._progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._enabled:
            self._progress.stop()

    def __call__(self, event: ProgressEvent) -> None:
        if not self._enabled:
            return
        label = _LABELS.get(event.phase, event.phase)
        total = event.total if event.total is not None else max(event.done, 1)
        if event.phase != self._phase:
            self._started = time.monotonic()
            if event.phase == "model":
                self._progress.console.print("first run with this index folder: exporting the embedding model "
                                             "to ONNX from its installed weights (10-25 s, once)")
            if event.phase == "lexical":
                self._progress.console.print(f"[green]lexical index ready[/]: {event.chunks} chunks searchable "
                                             f"({time.monotonic() - self._began:.1f} s)")
        elapsed = max(time.monotonic() - self._started, 1e-6)
        stats = {"index": f"{event.chunks} chunks",
                 "embed": f"{event.embedded / elapsed:.0f} emb/s"}.get(event.phase, "")
        if self._task is None:
            self._task = self._progress.add_task(label, total=total, stats=stats)
        elif event.phase != self._phase:  # a new phase: restart the bar and its speed estimate
            self._progress.reset(self._task, total=total, description=label, stats=stats)
        self._phase = event.phase
        self._progress.update(self._task, description=label, completed=event.done, total=total,
                              stats=stats)
