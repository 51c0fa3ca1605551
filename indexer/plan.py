"""What an index run must do: compare what discovery found with the manifest."""

from __future__ import annotations

from dataclasses import dataclass

from indexer.discover import Candidate
from indexer.store.catalog import FileRow

# A file modified within this long before it was indexed may have changed again
# inside the same timestamp tick ("racy" in git's terms): re-hash it.
RACY_NS = 2_000_000_000


@dataclass(frozen=True, slots=True)
class Plan:
    """Files to read (new or possibly changed), files gone, and the untouched count.

    `racy` counts the files in `to_read` whose stat equals the manifest's but was
    recorded too soon after their last modification to be trusted: they are
    re-hashed, yet nothing says they changed.
    """

    to_read: tuple[Candidate, ...]
    deleted: tuple[str, ...]
    unchanged: int
    racy: int

    @property
    def changed_by_stat(self) -> int:
        """New, modified or deleted files as far as their stat shows."""
        return len(self.to_read) - self.racy + len(self.deleted)

    @property
    def is_noop(self) -> bool:
        """True when nothing needs reading or removing."""
        return not self.to_read and not self.deleted


def make_plan(candidates: tuple[Candidate, ...], manifest: dict[str, FileRow]) -> Plan:
    """Stat-compare candidates with the manifest; content hashes decide later."""
    to_read: list[Candidate] = []
    unchanged = racy = 0
    for cand in candidates:
        row = manifest.get(cand.path)
        if row is None or not _same_stat(cand, row):
            to_read.append(cand)
        elif row.indexed_ns - row.mtime_ns <= RACY_NS:
            to_read.append(cand)
            racy += 1
        else:
            unchanged += 1
    present = {c.path for c in candidates}
    deleted = tuple(sorted(p for p in manifest if p not in present))
    return Plan(tuple(to_read), deleted, unchanged, racy)


def _same_stat(cand: Candidate, row: FileRow) -> bool:
    return cand.size == row.size and cand.mtime_ns == row.mtime_ns and cand.inode == row.inode
