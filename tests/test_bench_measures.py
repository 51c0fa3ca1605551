"""What the scale benchmark's memory and cold-start figures rest on, checked against the real kernel.

The peak RSS of indexing must count every process of the tree at once, not
only the largest; a cold start must find the repository out of the page cache.
"""

from __future__ import annotations

import ctypes
import json
import mmap
import os
import subprocess
import sys
from pathlib import Path

import pytest

# `bench` is the benchmark's package in eval/, not an installed one.
EVAL_DIR = Path(__file__).resolve().parent.parent / "eval"
sys.path.insert(0, str(EVAL_DIR))

from bench.pagecache import evict  # noqa: E402
from bench.runner import Completed  # noqa: E402

MIB = 1024  # KiB

# Each child fills 120 MiB, then holds it long enough to be sampled several times.
HOLD = "import time; block = bytearray(120 * 1024 * 1024); block[::4096] = b'x' * len(block[::4096]); time.sleep(2)"
# Two children that hold their 120 MiB at the same time: each fills its block, leaves a mark, and
# holds on until it sees the other's mark (on a loaded machine one may start seconds after the other).
HOLD_TOGETHER = (
    "import os, sys, time; block = bytearray(120 * 1024 * 1024); block[::4096] = b'x' * len(block[::4096]); "
    "open(sys.argv[1], 'w').close(); deadline = time.monotonic() + 60; "
    "exec('while not os.path.exists(sys.argv[2]) and time.monotonic() < deadline: time.sleep(0.05)'); "
    "time.sleep(2)"
)


def _measured(tmp_path: Path, cmd: list[str], sample_memory: bool) -> Completed:
    """`run_timed(cmd)` called from a small fresh interpreter, as the benchmark calls it.

    A child's ru_maxrss starts from its parent's high-water mark at fork: run from this test
    process (which other tests may have grown by hundreds of MiB) it would measure pytest.
    """
    call = ("import json, os, sys; sys.path.insert(0, sys.argv[3]); from bench.runner import run_timed; "
            "done = run_timed(json.loads(sys.argv[1]), dict(os.environ), sample_memory=sys.argv[2] == '1'); "
            "print(json.dumps([done.max_rss_kib, done.tree_rss_kib]))")
    out = subprocess.run([sys.executable, "-c", call, json.dumps(cmd), "1" if sample_memory else "0", str(EVAL_DIR)],
                         env={**os.environ, "PYTHONPATH": str(tmp_path)}, cwd=tmp_path, capture_output=True,
                         text=True, timeout=300, check=True).stdout
    max_rss, tree_rss = json.loads(out)
    return Completed(0.0, "", max_rss_kib=max_rss, tree_rss_kib=tree_rss)


def test_peak_rss_counts_children_alive_at_the_same_time_as_a_sum(tmp_path: Path) -> None:
    python = sys.executable
    one, two = tmp_path / "one-holds", tmp_path / "two-holds"
    script = (f'"{python}" -c "{HOLD_TOGETHER}" "{one}" "{two}" & '
              f'"{python}" -c "{HOLD_TOGETHER}" "{two}" "{one}" & wait')
    done = _measured(tmp_path, ["sh", "-c", script], sample_memory=True)
    # ru_maxrss sees one child at a time (the largest); the tree sample sees both together.
    assert 115 * MIB <= done.max_rss_kib < 200 * MIB
    assert done.tree_rss_kib >= 230 * MIB
    assert done.peak_rss_kib == done.tree_rss_kib


def test_without_sampling_only_the_largest_single_process_is_reported(tmp_path: Path) -> None:
    done = _measured(tmp_path, [sys.executable, "-c", HOLD.replace("time.sleep(2)", "pass")], sample_memory=False)
    assert done.tree_rss_kib == 0
    assert done.peak_rss_kib == done.max_rss_kib >= 115 * MIB


def test_evicted_files_are_no_longer_in_the_page_cache(tmp_path: Path) -> None:
    if _filesystem(tmp_path) in {"tmpfs", "ramfs"}:
        pytest.skip(f"{_filesystem(tmp_path)} keeps its files in memory: nothing to evict")
    folder = tmp_path / "repo"
    (folder / "pkg").mkdir(parents=True)
    files = [folder / "pkg" / f"m{i}.py" for i in range(3)]
    for path in files:
        path.write_bytes(b"x = 1\n" * 200_000)
        path.read_bytes()
    assert all(_cached_pages(path) > 0 for path in files)
    eviction = evict(folder)
    assert eviction.files == 3 and eviction.bytes == 3 * 1_200_000
    assert [_cached_pages(path) for path in files] == [0, 0, 0]


def _cached_pages(path: Path) -> int:
    """Pages of `path` resident in the page cache, by mincore(2) on a read-only mapping."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    size = path.stat().st_size
    fd = os.open(path, os.O_RDONLY)
    try:
        address = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        if address in (None, ctypes.c_void_p(-1).value):
            raise OSError(ctypes.get_errno(), "mmap failed")
        try:
            pages = -(-size // mmap.PAGESIZE)
            vector = ctypes.create_string_buffer(pages)
            if libc.mincore(address, size, vector) != 0:
                raise OSError(ctypes.get_errno(), "mincore failed")
            return sum(byte & 1 for byte in vector.raw[:pages])
        finally:
            libc.munmap(address, size)
    finally:
        os.close(fd)


def _filesystem(path: Path) -> str:
    """The type of the file system holding `path` (longest mount point that contains it)."""
    best, kind = "", "unknown"
    for line in Path("/proc/self/mounts").read_text().splitlines():
        fields = line.split()
        mount = fields[1]
        if str(path.resolve()).startswith(mount.rstrip("/") + "/") and len(mount) > len(best):
            best, kind = mount, fields[2]
    return kind
