"""`mossen search` on the scale corpus: fresh processes without a server, through a warm server, and the
server's own answer time over its socket."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from mossen.search_client import ask
from mossen.search_wire import SearchRequest

from bench.corpus import Corpus
from bench.families import Measured, settings_for, timed
from bench.records import Figure, Samples
from bench.runner import MOSSEN, IndexRoots, mossen

SERVER_IDLE = 3600  # seconds: far longer than the family takes; the server is stopped explicitly anyway
# `mossen serve` binds its socket first, then opens the index and loads the query model; at 1M lines
# that is tens of seconds on a busy machine. Each probe waits up to search_client.TIMEOUT itself.
SERVER_READY_TIMEOUT = 900.0
MIB_PER_KIB = 1 / 1024


def measure_search(corpus: Corpus, roots: IndexRoots, root: Path, log_path: Path) -> Measured:
    """`mossen search` cold (--no-server) and through a warm server, and the server's own answer time."""
    env = roots.env(root)
    base = ["search", "--path", str(corpus.path), "--json"]
    cold = Samples(tuple(mossen([*base, "--no-server", q], env).seconds for q in corpus.queries))
    folder = settings_for(root).index_dir(corpus.path.resolve())
    with log_path.open("ab") as server_log:
        server = subprocess.Popen([str(MOSSEN), "serve", str(corpus.path), "--idle", str(SERVER_IDLE)], env=env,
                                  stdin=subprocess.DEVNULL, stdout=server_log, stderr=server_log,
                                  cwd=env["PYTHONPATH"])
    try:
        ready = wait_for_server(server, folder, corpus.queries[0])
        warm = Samples(tuple(mossen([*base, q], env).seconds for q in corpus.queries))
        socket = Samples(tuple(timed(lambda q=q: answered(folder, SearchRequest(q))) for q in corpus.queries))
        bare = Samples(tuple(timed(lambda q=q: answered(folder, SearchRequest(q, refresh=False)))
                             for q in corpus.queries))
        if server.poll() is not None:
            raise RuntimeError(f"`mossen serve` exited with {server.returncode} during the search family")
        server_rss = peak_rss_mib(server.pid)
    finally:
        stop(server)
    n = len(corpus.queries)
    notes = [f"warm server answered its first search {ready:.1f} s after `mossen serve` started; it was "
             "still running after the last search"]
    if warm.median >= cold.median / 2:
        # A search the server answers skips the search stack's imports, so it is several times faster;
        # one that is not may have fallen back to searching in its own process.
        notes.append(f"**warning**: warm-server searches (p50 {warm.median * 1000:.0f} ms) were not clearly faster "
                     f"than --no-server ones (p50 {cold.median * 1000:.0f} ms): some may not have reached the server")
    return Measured([
        Figure("search --no-server, fresh process, p50", cold.median * 1000, "ms",
               f"`mossen search Q --json --no-server` (no-op refresh first), varied queries, n={n}"),
        Figure("search --no-server, fresh process, p90", cold.p90 * 1000, "ms", "the same runs, p90"),
        Figure("search, warm server, fresh process, p50", warm.median * 1000, "ms",
               f"`mossen search Q --json` (no-op refresh first, in the server) with `mossen serve PATH` "
               f"running, n={n}"),
        Figure("search, warm server, fresh process, p90", warm.p90 * 1000, "ms", "the same runs, p90"),
        Figure("search through the socket (server side), p50", socket.median * 1000, "ms",
               "`search_client.ask()` from the (warm) benchmark process: connect, no-op refresh, search, "
               f"reply; n={n}"),
        Figure("search through the socket, no refresh, p50", bare.median * 1000, "ms",
               f"the same with `refresh=False`, n={n}"),
        Figure("warm server start", ready, "s", "`mossen serve` start until its first answer"),
        Figure("peak RSS, search server", server_rss, "MiB", "VmHWM of the `mossen serve` process"),
    ], notes)


def answered(folder: Path, request: SearchRequest) -> None:
    """Ask the server; it must answer (a None would time the fallback, not the server)."""
    if ask(folder, request) is None:
        raise RuntimeError("the search server did not answer")


def wait_for_server(server: subprocess.Popen, folder: Path, query: str) -> float:
    """Seconds until the server started answers a search; raises if it dies or takes too long."""
    started = time.perf_counter()
    while ask(folder, SearchRequest(query, refresh=False)) is None:
        if server.poll() is not None:
            raise RuntimeError(f"`mossen serve` exited with {server.returncode} before answering")
        if time.perf_counter() - started > SERVER_READY_TIMEOUT:
            raise RuntimeError(f"`mossen serve` did not answer within {SERVER_READY_TIMEOUT:.0f} s")
        time.sleep(0.2)
    return time.perf_counter() - started


def peak_rss_mib(pid: int) -> float:
    """VmHWM of a live process, from /proc (0 where there is no /proc)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * MIB_PER_KIB
    except OSError:
        pass
    return 0.0


def stop(server: subprocess.Popen) -> None:
    """Stop the server this benchmark started: SIGINT lets it remove its socket; kill if it hangs."""
    if server.poll() is None:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
