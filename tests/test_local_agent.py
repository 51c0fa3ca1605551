"""`mossen chat` end to end with a real local model: SmolLM2-135M behind llama.cpp's OpenAI-compatible server.

The model is tiny, so the test checks the plumbing, not the wisdom: the real agent
loop sends the real tools, the model answers with a tool call, mossen judges and
runs it in the real repository, and the result goes back to the model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import Mossen, make_repo
from tests.llama_server import serve_smollm2

pytestmark = pytest.mark.slow

WINDOW = 4096
TOOLS = {"search_code", "grep", "read_file", "list_files", "glob", "edit_file", "write_file", "run_command"}
STATUSES = {"executed", "refused", "needs_approval", "error"}


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve_smollm2(tmp_path_factory.mktemp("llama-server"), WINDOW) as url:
        yield url


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Mossen:
    return Mossen(tmp_path_factory.mktemp("local-agent") / "indexes")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory, server_url: str, cli: Mossen) -> Path:
    config = (f'model = "openai:smollm2"\n[openai]\nbase_url = "{server_url}"\n[chat]\nmax_steps = 2\n'
              f'[models."openai:smollm2"]\ncontext_length = {WINDOW}\nmax_output = 96\ntemperature = 0\n'
              "timeout = 300\nstreaming = false\n")
    root = make_repo(tmp_path_factory.mktemp("repo") / "demo", {
        "README.md": "# Demo\n\nThis project greets people by name.\n",
        "app.py": 'def greet(name):\n    return "hello " + name\n',
        ".mossen.toml": config,
    })
    return cli.index(root)


def test_a_turn_with_a_real_tool_call(repo: Path, cli: Mossen, tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    done = cli.run("chat", "-p", "Read the file README.md", "--json", "--path", str(repo), "--mode", "read-only",
                   MOSSEN_CHAT_SESSIONS_DIR=str(sessions), timeout=900)
    assert done.returncode in (0, 4), done.stderr  # 4: the two-step limit stopped a model that kept calling tools
    out = json.loads(done.stdout)
    calls = out["tool_calls"]
    assert calls, f"the model made no tool call: {out['final']!r}"
    assert calls[0]["tool"] in TOOLS and all(c["status"] in STATUSES for c in calls)
    assert any(c["status"] in ("executed", "refused") for c in calls)  # judged by mossen, and run or refused
    if done.returncode == 4:
        assert "step limit" in (out["stopped"] or "")
    # The session holds the assistant's tool call and the tool result sent back to the model.
    records = [json.loads(line) for f in sessions.rglob("*.jsonl") for line in f.read_text().splitlines()]
    messages = [r for r in records if r.get("type") == "message"]
    asked = [m for m in messages if m["role"] == "assistant" and m["tool_calls"]]
    answered = {m["tool_call_id"] for m in messages if m["role"] == "tool"}
    assert asked and {c["id"] for m in asked for c in m["tool_calls"]} <= answered
