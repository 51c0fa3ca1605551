"""`mossen chat` headless, as a real process on real git repositories, with the scripted FAKE model.

The fake (`--model scripted:PATH`) plays scripted turns and appends every request
it receives to PATH.requests.jsonl; everything behind it (retrieval, the index,
tools, permissions, sessions) is real.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mossen.agent.session import load_session
from tests.conftest import Mossen, make_repo

pytestmark = pytest.mark.slow

CALC = '''def total(numbers):
    """The sum of the numbers."""
    return sum(numbers)


if __name__ == "__main__":
    print("total:", total([1, 2, 3]))
'''


class Chat:
    """`mossen chat` in one repository, its sessions and data kept under the test's tmp folder."""

    def __init__(self, mossen: Mossen, repo: Path, tmp: Path) -> None:
        self.mossen, self.repo, self.tmp = mossen, repo, tmp
        self.sessions = tmp / "sessions"
        self._scripts = 0

    def script(self, *turns: list[dict[str, Any]], **extra: Any) -> Path:
        """A new script file for the FAKE model."""
        self._scripts += 1
        path = self.tmp / f"script{self._scripts}.json"
        path.write_text(json.dumps({"turns": list(turns), **extra}), encoding="utf-8")
        return path

    def run(self, script: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return self.mossen.run("chat", "--model", f"scripted:{script}", *args, cwd=self.repo, timeout=300,
                               XDG_DATA_HOME=str(self.tmp / "data"), MOSSEN_CHAT_SESSIONS_DIR=str(self.sessions),
                               **env)

    def task(self, script: Path, task: str, *args: str, expect: int = 0, **env: str) -> dict[str, Any]:
        """Run one headless task with --json; its one JSON object."""
        done = self.run(script, "-p", task, "--json", *args, **env)
        assert done.returncode == expect, f"exit {done.returncode}\nstdout: {done.stdout}\nstderr: {done.stderr}"
        return only_json(done.stdout)

    def session_files(self) -> list[Path]:
        return sorted(self.sessions.glob("*/*.jsonl"))


def only_json(stdout: str) -> dict[str, Any]:
    """The single JSON object stdout must hold, nothing before or after it."""
    value, end = json.JSONDecoder().raw_decode(stdout)
    assert stdout[end:].strip() == "", f"more than one JSON object on stdout: {stdout!r}"
    assert isinstance(value, dict)
    return value


def requests(script: Path) -> list[dict[str, Any]]:
    """What the FAKE model received, one request per model call."""
    log = script.with_name(script.name + ".requests.jsonl")
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]


def contents(request: dict[str, Any]) -> list[str]:
    return [m["content"] for m in request["messages"]]


@pytest.fixture
def chat(tmp_path: Path, mossen: Mossen) -> Chat:
    repo = make_repo(tmp_path / "repo", {
        "calc.py": CALC,
        "README.md": "A tiny calculator.\n",
        ".mossen.toml": '[permissions]\nallow = ["run_command(python3 *)"]\n',
    })
    return Chat(mossen, mossen.index(repo), tmp_path)


def test_a_multi_step_task_reads_edits_and_runs_a_command_that_sees_the_edit(chat: Chat) -> None:
    script = chat.script(
        [{"text": "Let me read it."}, {"tool": "read_file", "arguments": {"path": "calc.py"}, "id": "r1"}],
        [{"tool": "edit_file", "id": "e1",
          "arguments": {"path": "calc.py", "old": "return sum(numbers)", "new": "return sum(numbers) * 10"}}],
        [{"tool": "run_command", "arguments": {"command": "python3 calc.py"}, "id": "x1"}],
        [{"text": "It now prints 60."}],
    )

    out = chat.task(script, "make total ten times bigger", "--mode", "accept-edits")

    assert set(out) >= {"final", "tool_calls"}
    assert out["final"] == "It now prints 60."
    assert out["stopped"] is None
    calls = out["tool_calls"]
    assert [set(c) for c in calls] == [{"tool", "arguments", "status", "output"}] * 3
    assert [(c["tool"], c["status"]) for c in calls] == [
        ("read_file", "executed"), ("edit_file", "executed"), ("run_command", "executed")]
    assert calls[0]["arguments"] == {"path": "calc.py"}
    assert "return sum(numbers)" in calls[0]["output"]
    assert "+    return sum(numbers) * 10" in calls[1]["output"]
    assert "total: 60" in calls[2]["output"] and "exit code 0" in calls[2]["output"]
    assert "return sum(numbers) * 10\n" in (chat.repo / "calc.py").read_text()
    # the model saw each result before its next step
    seen = requests(script)
    assert len(seen) == 4
    assert any("total: 60" in c for c in contents(seen[3]))


def test_without_an_allow_rule_the_command_waits_for_approval_and_does_not_run(chat: Chat) -> None:
    (chat.repo / ".mossen.toml").write_text("", encoding="utf-8")
    script = chat.script(
        [{"tool": "run_command", "arguments": {"command": "python3 -c 'open(\"ran.txt\", \"w\")'"}, "id": "x1"}],
        [{"text": "could not run it"}],
    )

    out = chat.task(script, "run it", "--mode", "accept-edits")

    assert [c["status"] for c in out["tool_calls"]] == ["needs_approval"]
    assert not (chat.repo / "ran.txt").exists()


def test_continue_resumes_the_last_session_and_the_model_sees_the_earlier_messages(chat: Chat) -> None:
    first = chat.task(chat.script([{"text": "FIRST_ANSWER_MARK"}]), "FIRST_TASK_MARK explain calc")
    second_script = chat.script([{"text": "second answer"}])

    second = chat.task(second_script, "and now the second task", "--continue")

    assert second["session"] == first["session"]
    seen = contents(requests(second_script)[0])
    assert "FIRST_TASK_MARK explain calc" in seen and "FIRST_ANSWER_MARK" in seen
    assert seen.index("FIRST_TASK_MARK explain calc") < seen.index("and now the second task")
    [session_file] = chat.session_files()
    records = [json.loads(line) for line in session_file.read_text(encoding="utf-8").splitlines()]
    assert records[0]["type"] == "meta" and records[0]["id"] == first["session"]
    assert {r["type"] for r in records[1:]} == {"message"}
    said = [(r["role"], r["content"]) for r in records[1:] if not r["content"].startswith("Code retrieved")]
    assert said == [("user", "FIRST_TASK_MARK explain calc"), ("assistant", "FIRST_ANSWER_MARK"),
                    ("user", "and now the second task"), ("assistant", "second answer")]


def test_a_session_whose_last_line_was_cut_by_a_crash_still_continues(chat: Chat) -> None:
    chat.task(chat.script([{"text": "an answer that the crash cuts"}]), "TASK_BEFORE_CRASH")
    [session_file] = chat.session_files()
    text = session_file.read_text(encoding="utf-8")
    session_file.write_text(text[: len(text) - 30], encoding="utf-8")

    after = chat.script([{"text": "after the crash"}])
    chat.task(after, "TASK_AFTER_CRASH", "--continue")
    third = chat.script([{"text": "third"}])
    chat.task(third, "THIRD_TASK", "--continue")

    assert "TASK_BEFORE_CRASH" in contents(requests(after)[0])
    seen = contents(requests(third)[0])
    assert "TASK_AFTER_CRASH" in seen and "after the crash" in seen
    assert [m.content for m in load_session(session_file).messages if m.role == "assistant"] == [
        "after the crash", "third"]


def test_continue_without_a_saved_session_is_an_error(chat: Chat) -> None:
    done = chat.run(chat.script([{"text": "x"}]), "-p", "hello", "--continue")
    assert done.returncode == 1
    assert "no saved session for this repository yet" in done.stderr


def test_three_malformed_tool_calls_in_a_row_stop_the_turn(chat: Chat) -> None:
    bad = [{"malformed": "read_file", "reason": "arguments are not valid JSON"}]
    script = chat.script(bad, bad, bad, [{"text": "NOT_REACHED"}])

    out = chat.task(script, "read calc", expect=4)

    assert "3 malformed tool calls in a row" in out["stopped"]
    assert out["final"] == ""
    assert [(c["tool"], c["status"]) for c in out["tool_calls"]] == [("read_file", "error")] * 3
    assert all("malformed tool call, not run: arguments are not valid JSON" in c["output"]
               for c in out["tool_calls"])
    assert len(requests(script)) == 3


def test_an_unknown_tool_is_an_error_the_model_is_told_about(chat: Chat) -> None:
    script = chat.script([{"tool": "frobnicate", "arguments": {"x": 1}, "id": "u1"}], [{"text": "sorry"}])

    out = chat.task(script, "do the thing")

    [call] = out["tool_calls"]
    assert call["tool"] == "frobnicate" and call["status"] == "error"
    assert "unknown tool 'frobnicate'" in call["output"] and "read_file" in call["output"]
    assert out["final"] == "sorry"
    tool_message = [m for m in requests(script)[1]["messages"] if m["role"] == "tool"][-1]
    assert "unknown tool 'frobnicate'" in tool_message["content"]


def test_project_memory_reaches_the_system_prompt_within_its_budget(chat: Chat) -> None:
    rules = [f"Rule {n}: keep function number {n} short and documented." for n in range(1, 61)]
    (chat.repo / "MOSSEN.md").write_text("# House rules\n\n" + "\n".join(rules) + "\n", encoding="utf-8")

    whole = chat.script([{"text": "ok"}])
    chat.task(whole, "hello")
    cut = chat.script([{"text": "ok"}])
    chat.task(cut, "hello", MOSSEN_CHAT_MEMORY_BUDGET="120")

    system = requests(whole)[0]["system"]
    assert "## MOSSEN.md" in system and rules[0] in system and rules[-1] in system
    assert "did not fit in their budget" not in system
    small = requests(cut)[0]["system"]
    assert rules[0] in small and rules[-1] not in small
    assert "[… the rest of the project notes did not fit in their budget]" in small


def test_a_search_after_an_edit_finds_the_new_code(chat: Chat) -> None:
    new_code = "def hexagon_perimeter(side):\n    return 6 * side\n\n\ndef total(numbers):"
    script = chat.script(
        [{"tool": "search_code", "arguments": {"query": "hexagon_perimeter"}, "id": "s1"}],
        [{"tool": "edit_file", "id": "e1", "arguments": {"path": "calc.py", "old": "def total(numbers):",
                                                         "new": new_code}}],
        [{"tool": "search_code", "arguments": {"query": "hexagon_perimeter"}, "id": "s2"}],
        [{"text": "found it"}],
    )

    out = chat.task(script, "add a hexagon perimeter", "--mode", "accept-edits")

    before, edit, after = out["tool_calls"]
    assert edit["status"] == "executed"
    assert "hexagon_perimeter" not in before["output"]
    assert "def hexagon_perimeter(side):" in after["output"]


def test_chat_without_a_terminal_and_without_a_task_says_so(chat: Chat) -> None:
    chat.task(chat.script([{"text": "ok"}]), "REAL_TASK_MARK")
    sessions = chat.session_files()

    done = chat.run(chat.script())

    assert done.returncode == 1
    assert "interactive chat needs a terminal; use -p TASK to run one task" in done.stderr
    assert done.stdout == ""
    assert chat.session_files() == sessions  # no empty session that --continue would pick up
    later = chat.script([{"text": "ok"}])
    chat.task(later, "follow-up", "--continue")
    assert "REAL_TASK_MARK" in contents(requests(later)[0])


def test_an_empty_task_is_a_usage_error(chat: Chat) -> None:
    done = chat.run(chat.script([{"text": "never asked"}]), "-p", "  ", "--json")
    assert done.returncode == 1 and "empty" in done.stderr and done.stdout == ""


def test_a_model_that_cannot_be_reached_still_gives_the_json_and_exit_4(chat: Chat, tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = chat.mossen.run("chat", "-p", "hello", "--json", "--model", "openai:x", cwd=chat.repo, timeout=300,
                           OPENAI_BASE_URL=f"http://127.0.0.1:{port}/v1", XDG_DATA_HOME=str(tmp_path / "d"),
                           MOSSEN_CHAT_SESSIONS_DIR=str(tmp_path / "s"))
    assert done.returncode == 4, done.stderr
    out = only_json(done.stdout)
    assert out["tool_calls"] == [] and "could not answer" in out["stopped"] and "cannot reach" in out["stopped"]
