"""`mossen mcp`: the real server as a subprocess, driven by the MCP SDK's own stdio client.

The tools must answer what the CLI answers (`search --json`, `ask --show-context
--json`, `status --json`), refuse paths outside the repository and credential
files as tool errors, and keep serving after an error.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

import anyio
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from indexer import IndexSettings
from tests.conftest import Mossen, make_repo

pytestmark = pytest.mark.slow

SECRET = "sk-proj-" + "Q7vLm2Xc9RtY4wZp8KjN3hBd6FsA1eUo"  # split: this file must not look like it holds a key
FILES = {
    "net/pool.py": 'class ConnectionPool:\n    """Keeps idle sockets for reuse."""\n\n'
                   '    def close_idle(self, max_idle: float) -> int:\n        """Close sockets idle too long."""\n'
                   '        closed = 0\n        return closed\n',
    "net/retry.py": 'def backoff_delay(attempt: int) -> float:\n    """Exponential backoff, capped."""\n'
                    '    return min(0.5 * 2 ** attempt, 30.0)\n',
    "cli.py": 'def main(argv):\n    """Parse arguments and run the command."""\n    return 0\n',
    "settings.py": f'OPENAI_API_KEY = "{SECRET}"\nTIMEOUT_SECONDS = 30\n',
    ".env": "DATABASE_PASSWORD=hunter2\n",
}
QUERIES = ("close idle sockets", "exponential backoff", "parse arguments")
TOOLS = {"search_code", "get_context", "read_chunk", "index_status"}

Session = Callable[[ClientSession], Awaitable[Any]]


@pytest.fixture
def repo(tmp_path: Path, mossen: Mossen) -> Path:
    return mossen.index(make_repo(tmp_path / "repo", FILES))


def with_server(mossen: Mossen, repo: Path, body: Session) -> Any:
    """Start `python -m mossen mcp --path REPO` through the SDK's stdio client and run `body` in a session."""
    params = StdioServerParameters(command=sys.executable, args=["-m", "mossen", "mcp", "--path", str(repo)],
                                   env=mossen.env(), cwd=str(repo.parent))

    async def main() -> Any:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            with anyio.fail_after(300):
                return await body(session)

    return anyio.run(main)


def payload(result: Any) -> Any:
    """The JSON a successful tool call returned (its text, checked against its structured content)."""
    assert not result.is_error, result.content
    value = json.loads(result.content[0].text)
    structured = value if isinstance(value, dict) else {"results": value}
    assert result.structured_content == structured
    return value


def error_text(result: Any) -> str:
    assert result.is_error, result.content
    return result.content[0].text


def cli_json(mossen: Mossen, *args: str) -> Any:
    done = mossen.run(*args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_tools_answer_what_the_cli_answers(repo: Path, mossen: Mossen) -> None:
    async def body(session: ClientSession) -> dict[str, Any]:
        listed = (await session.list_tools()).tools
        found: dict[str, Any] = {"tools": {tool.name: tool for tool in listed}}
        for query in QUERIES:
            found[query] = payload(await session.call_tool("search_code", {"query": query}))
        found["top2"] = payload(await session.call_tool("search_code", {"query": QUERIES[0], "top_k": 2}))
        found["glob"] = payload(await session.call_tool("search_code", {"query": "def", "path_glob": "net/**"}))
        found["context"] = payload(await session.call_tool("get_context", {"question": QUERIES[0], "budget": 300}))
        first = found[QUERIES[0]][0]
        found["chunk"] = payload(await session.call_tool("read_chunk", {
            "path": first["path"], "start_line": first["start_line"], "end_line": first["end_line"]}))
        found["secret"] = payload(await session.call_tool("read_chunk", {"path": "settings.py"}))
        found["status"] = payload(await session.call_tool("index_status", {}))
        return found

    found = with_server(mossen, repo, body)

    tools = found["tools"]
    assert set(tools) == TOOLS
    assert tools["search_code"].input_schema["required"] == ["query"]
    assert {"query", "top_k", "path_glob"} <= set(tools["search_code"].input_schema["properties"])
    assert tools["get_context"].input_schema["required"] == ["question"]
    assert "budget" in tools["get_context"].input_schema["properties"]
    assert {"path", "start_line", "end_line"} <= set(tools["read_chunk"].input_schema["properties"])
    assert tools["index_status"].input_schema["type"] == "object"
    assert all(tool.annotations.read_only_hint for tool in tools.values())

    for query in QUERIES:  # same paths, lines, symbols, scores and order as the CLI's JSON contract
        assert found[query] == mossen.search_json(repo, query), query
        assert found[query], query
    assert found["close idle sockets"][0]["path"] == "net/pool.py"
    assert found["top2"] == mossen.search_json(repo, QUERIES[0], "--top-k", "2")
    assert len(found["top2"]) == 2
    assert found["glob"] and {hit["path"] for hit in found["glob"]} <= {"net/pool.py", "net/retry.py"}

    context = found["context"]
    shown = cli_json(mossen, "ask", QUERIES[0], "--path", str(repo), "--show-context", "--json", "--budget", "300")
    assert {k: v for k, v in context.items() if k not in ("context", "redacted")} == shown
    assert context["chunks"] and context["total_tokens"] <= 300
    top = context["chunks"][0]
    assert f"{top['path']}:{top['start_line']}-{top['end_line']}" in context["context"]
    assert "def close_idle" in context["context"]

    chunk = found["chunk"]
    lines = (repo / found[QUERIES[0]][0]["path"]).read_text().splitlines()
    assert chunk["text"] == "\n".join(lines[chunk["start_line"] - 1:chunk["end_line"]])
    assert (chunk["start_line"], chunk["end_line"]) == (found[QUERIES[0]][0]["start_line"],
                                                        found[QUERIES[0]][0]["end_line"])
    assert chunk["total_lines"] == len(lines) and chunk["language"] == "python"

    secret = found["secret"]
    assert SECRET not in secret["text"] and "[REDACTED:" in secret["text"] and secret["redacted"] >= 1
    assert "TIMEOUT_SECONDS = 30" in secret["text"]

    status = found["status"]
    cli_status = cli_json(mossen, "status", str(repo), "--json")
    for key in ("repo", "index_dir", "exists", "files", "chunks", "languages", "model", "dimension",
                "pending_chunks", "stale_files", "skipped_files"):
        assert status[key] == cli_status[key], key
    assert status["exists"] and status["dense_complete"] and status["files"] == 4  # .env is never indexed


def test_refusals_are_tool_errors_and_the_server_keeps_serving(repo: Path, tmp_path: Path, mossen: Mossen) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("PRIVATE = 1\n")
    os.symlink(outside, repo / "link.py")
    (repo / ".gitignore").write_text("ignored_notes.py\n")
    (repo / "ignored_notes.py").write_text("x = 1\n")

    async def body(session: ClientSession) -> dict[str, Any]:
        calls = {
            "dotdot": {"path": "../outside.py"},
            "absolute": {"path": str(outside)},
            "link": {"path": "link.py"},
            "credential": {"path": ".env"},
            "ignored": {"path": "ignored_notes.py"},
            "missing": {"path": "net/nothing.py"},
            "past_end": {"path": "cli.py", "start_line": 99},
        }
        found = {name: await session.call_tool("read_chunk", args) for name, args in calls.items()}
        found["bad_top_k"] = await session.call_tool("search_code", {"query": "x", "top_k": 0})
        found["empty"] = await session.call_tool("search_code", {"query": "  "})
        found["inside_absolute"] = await session.call_tool("read_chunk", {"path": str(repo / "cli.py")})
        found["after"] = await session.call_tool("search_code", {"query": "exponential backoff"})
        return found

    found = with_server(mossen, repo, body)
    assert "`..` is refused" in error_text(found["dotdot"])
    assert "outside the repository" in error_text(found["absolute"])
    assert "symbolic link" in error_text(found["link"])
    assert "credential file" in error_text(found["credential"])
    assert "not a file mossen indexes" in error_text(found["ignored"])
    assert "not a file mossen indexes" in error_text(found["missing"])
    assert "has 3 lines" in error_text(found["past_end"])
    assert "top_k" in error_text(found["bad_top_k"])
    assert "must not be empty" in error_text(found["empty"])
    for name in ("dotdot", "absolute", "link", "credential"):
        assert "PRIVATE" not in error_text(found[name]) and "hunter2" not in error_text(found[name])
    assert payload(found["inside_absolute"])["path"] == "cli.py"
    assert payload(found["after"])[0]["path"] == "net/retry.py"  # still serving after the refusals


def test_without_an_index_search_says_what_to_do(tmp_path: Path, mossen: Mossen) -> None:
    bare = make_repo(tmp_path / "bare", {"a.py": "def f():\n    return 1\n"})

    async def body(session: ClientSession) -> dict[str, Any]:
        return {"search": await session.call_tool("search_code", {"query": "f"}),
                "status": await session.call_tool("index_status", {}),
                "read": await session.call_tool("read_chunk", {"path": "a.py"})}

    found = with_server(mossen, bare, body)
    assert "mossen index" in error_text(found["search"])
    assert payload(found["status"])["exists"] is False
    assert payload(found["read"])["text"] == "def f():\n    return 1"  # reading needs no index
    assert not IndexSettings(index_root=mossen.index_root).index_dir(bare.resolve()).exists()  # none created


def test_stdout_carries_only_protocol_messages(repo: Path, mossen: Mossen) -> None:
    """Raw JSON-RPC over pipes, as a client sends it: every line on the server's stdout is a protocol message."""
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "search_code", "arguments": {"query": "close idle sockets"}}},
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
         "params": {"name": "read_chunk", "arguments": {"path": "/etc/passwd"}}},
    ]
    proc = subprocess.Popen([sys.executable, "-m", "mossen", "mcp", "--path", str(repo)], env=mossen.env(),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("".join(json.dumps(m) + "\n" for m in messages).encode())
        proc.stdin.flush()
        lines = _lines(proc.stdout.fileno(), 3)  # one reply per request; stdin stays open until then
        proc.stdin.close()  # end of input: the server exits
        assert proc.wait(timeout=60) == 0
        rest = proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    replies = [json.loads(line) for line in [*lines, *rest.decode().splitlines()] if line.strip()]
    assert all(reply.get("jsonrpc") == "2.0" for reply in replies), replies
    by_id = {reply["id"]: reply for reply in replies}
    assert len(replies) == 3 and set(by_id) == {1, 2, 3}
    assert by_id[1]["result"]["serverInfo"]["name"] == "mossen"
    hits = json.loads(by_id[2]["result"]["content"][0]["text"])
    assert hits == mossen.search_json(repo, "close idle sockets")
    assert by_id[3]["result"]["isError"] is True
    assert "outside the repository" in by_id[3]["result"]["content"][0]["text"]


def _lines(fd: int, count: int, timeout: float = 300) -> list[str]:
    """The lines the server wrote once there are at least `count`, failing the test rather than hanging."""
    data = b""
    deadline = time.monotonic() + timeout
    while data.count(b"\n") < count:
        ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
        assert ready, f"the server did not answer in time; it wrote {data!r}"
        piece = os.read(fd, 1 << 16)
        assert piece, f"the server closed stdout; it wrote {data!r}"
        data += piece
    return data.decode().splitlines()
