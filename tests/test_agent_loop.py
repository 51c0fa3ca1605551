"""The agent loop on a real git repo with real tools, driven by the scripted FAKE provider (the model seam only)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from indexer import IndexSettings, index_repo
from mossen.agent.conversation import Conversation, SessionRecorder
from mossen.agent.journal import EditJournal
from mossen.agent.loop import Agent, AgentSetup, Limits, Watcher
from mossen.agent.permissions import Permissions
from mossen.agent.records import Action
from mossen.agent.retrieval import PinnedFiles, RepoIndex, RetrievedContext
from mossen.agent.session import SessionStore
from mossen.agent.text_protocol import parse_text_calls
from mossen.agent.tools import ToolBox
from mossen.agent.tools.files import EditFile, Glob, Grep, ListFiles, ReadFile, WriteFile
from mossen.agent.tools.search import SearchCode
from mossen.agent.tools.shell import RunCommand
from mossen.agent.workspace import Workspace
from mossen.budget import EstimatingCounter
from mossen.errors import StreamCut
from mossen.providers.base import MalformedToolCall, TextDelta, ToolCall, ToolCallEvent
from mossen.providers.scripted import ScriptedProvider
from tests.conftest import make_repo


@pytest.fixture(autouse=True)
def _models(seeded_index_root: Path) -> Path:
    """tmp_path/indexes, which these tests index into, starts with the session's model exports."""
    return seeded_index_root

APP = 'def greet(name):\n    return "hello " + name\n'
PY = sys.executable


def call(name: str, **arguments: object) -> ToolCallEvent:
    return ToolCallEvent(ToolCall(f"c-{name}-{len(arguments)}", name, dict(arguments)))


class Approves:
    """An approver that says yes (or no) and remembers what it was asked."""

    def __init__(self, answer: bool | None = True) -> None:
        self.answer, self.asked = answer, []

    def approve(self, action: Action, reason: str) -> bool | None:
        self.asked.append(action)
        return self.answer


class Interrupts:
    """An approver the user answers with Ctrl-C."""

    def approve(self, action: Action, reason: str) -> bool | None:
        raise KeyboardInterrupt


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"app.py": APP, "README.md": "# Greeter\n\nSays hello.\n"})


def build(repo: Path, provider: ScriptedProvider, tmp_path: Path, permissions: Permissions | None = None,
          approver: object = None, text_tools: bool = False, with_index: bool = False,
          limits: Limits = Limits()) -> tuple[Conversation, EditJournal]:
    workspace = Workspace(repo)
    journal = EditJournal(workspace.root)
    settings = IndexSettings(index_root=tmp_path / "indexes")
    index = RepoIndex(repo, settings, workspace)
    tools = ToolBox([SearchCode(index.search), Grep(workspace, index.files), ReadFile(workspace),
                     ListFiles(workspace, index.files), Glob(index.files), EditFile(workspace, journal),
                     WriteFile(workspace, journal), RunCommand(workspace.root, {"PATH": "/usr/bin:/bin"}, 30)])
    counter = EstimatingCounter()
    context = RetrievedContext(index, workspace, counter, PinnedFiles())
    session = SessionStore(tmp_path / "sessions", "repo").new(repo, provider.name)
    setup = AgentSetup(provider=provider, tools=tools, permissions=permissions or Permissions("ask"),
                       approver=approver or Approves(), system="You are a test agent.", counter=counter,
                       context=context if with_index else None, watcher=SessionRecorder(session, Watcher()),
                       limits=limits, text_tools=text_tools, after_edit=index.changed)
    return Conversation(Agent(setup), session, context, journal), journal


def test_a_multi_step_task_reads_edits_and_runs_then_undo_restores(repo: Path, tmp_path: Path) -> None:
    fake = ScriptedProvider([
        [TextDelta("Reading first."), call("read_file", path="app.py")],
        [call("edit_file", path="app.py", old='"hello "', new='"hi "')],
        [call("run_command", command=f"{PY} -c 'import app; print(app.greet(\"Ada\"))'")],
        [TextDelta("greet now says hi.")],
    ])
    approver = Approves(True)
    conversation, _ = build(repo, fake, tmp_path, approver=approver)
    result = conversation.turn("make greet say hi and check it")

    assert result.final == "greet now says hi." and result.stopped is None
    assert [o.status for o in result.outcomes] == ["executed", "executed", "executed"]
    assert (repo / "app.py").read_text() == 'def greet(name):\n    return "hi " + name\n'
    assert "hi Ada" in result.outcomes[2].output and "exit code 0" in result.outcomes[2].output
    assert [a.tool for a in approver.asked] == ["edit_file", "run_command"]  # ask mode: reads do not ask
    # Each tool result went back to the model in the next request.
    last = fake.requests[-1].messages
    assert [m.role for m in last[-6:]] == ["assistant", "tool", "assistant", "tool", "assistant", "tool"]
    assert "hi Ada" in last[-1].content

    assert conversation.undo() == ["app.py"]
    assert (repo / "app.py").read_text() == APP
    assert "undid the last edits: app.py" in conversation.session.messages[-1].content  # the model is told
    assert conversation.undo() == []


def test_declined_and_unapprovable_calls_do_not_run(repo: Path, tmp_path: Path) -> None:
    turns = [[call("write_file", path="new.py", content="x = 1\n")], [TextDelta("ok")]]
    declined, _ = build(repo, ScriptedProvider([list(t) for t in turns]), tmp_path / "a", approver=Approves(False))
    headless, _ = build(repo, ScriptedProvider([list(t) for t in turns]), tmp_path / "b", approver=Approves(None))
    assert declined.turn("add a file").outcomes[0].status == "refused"
    assert headless.turn("add a file").outcomes[0].status == "needs_approval"
    assert not (repo / "new.py").exists()


def test_three_malformed_calls_in_a_row_stop_the_turn(repo: Path, tmp_path: Path) -> None:
    bad = MalformedToolCall("m1", "read_file", "{path:", "arguments are not valid JSON")
    fake = ScriptedProvider([[bad], [bad], [bad], [TextDelta("never reached")]])
    conversation, _ = build(repo, fake, tmp_path)
    result = conversation.turn("read it")
    assert result.stopped and "3 malformed tool calls in a row" in result.stopped
    assert [o.status for o in result.outcomes] == ["error"] * 3 and len(fake.requests) == 3
    assert "malformed tool call, not run" in fake.requests[-1].messages[-1].content  # the model was told


def test_a_good_call_between_malformed_ones_resets_the_count(repo: Path, tmp_path: Path) -> None:
    bad = MalformedToolCall("m1", "read_file", "{", "arguments are not valid JSON")
    fake = ScriptedProvider([[bad], [bad], [call("read_file", path="README.md")], [bad], [bad], [TextDelta("done")]])
    result = build(repo, fake, tmp_path)[0].turn("read it")
    assert result.final == "done" and result.stopped is None


def test_a_call_in_a_cut_stream_is_never_run(repo: Path, tmp_path: Path) -> None:
    fake = ScriptedProvider([[TextDelta("Writing"), call("write_file", path="app.py", content="boom\n"),
                              StreamCut("the scripted stream was cut", "")]])  # type: ignore[list-item]
    result = build(repo, fake, tmp_path)[0].turn("rewrite app.py")
    assert result.partial and result.outcomes == () and (repo / "app.py").read_text() == APP


def test_unknown_tools_and_bad_arguments_are_errors_the_model_sees(repo: Path, tmp_path: Path) -> None:
    fake = ScriptedProvider([[call("delete_everything"), call("read_file", path=7)], [TextDelta("sorry")]])
    result = build(repo, fake, tmp_path)[0].turn("go")
    assert [o.status for o in result.outcomes] == ["error", "error"]
    assert "unknown tool" in result.outcomes[0].output and "must be a string" in result.outcomes[1].output
    assert result.final == "sorry"


def test_the_step_limit_stops_a_model_that_never_answers(repo: Path, tmp_path: Path) -> None:
    fake = ScriptedProvider([[call("list_files")] for _ in range(10)])
    result = build(repo, fake, tmp_path, limits=Limits(max_steps=3))[0].turn("look around")
    assert result.stopped == "the step limit (3) was reached" and len(fake.requests) == 3


def test_ctrl_c_during_an_approval_ends_the_turn_with_a_valid_history(repo: Path, tmp_path: Path) -> None:
    fake = ScriptedProvider([[call("edit_file", path="app.py", old="hello", new="bye")]])
    conversation, _ = build(repo, fake, tmp_path, approver=Interrupts())
    result = conversation.turn("change it")
    assert result.stopped == "interrupted" and (repo / "app.py").read_text() == APP
    history = conversation.session.messages
    asked = {c.id for m in history for c in m.tool_calls}
    assert asked and asked <= {m.tool_call_id for m in history if m.role == "tool"}


def test_retrieval_sees_an_edit_before_the_next_turn(repo: Path, tmp_path: Path) -> None:
    index_repo(repo, IndexSettings(index_root=tmp_path / "indexes"))
    fake = ScriptedProvider([
        [call("write_file", path="farewell.py", content="def wave_goodbye(name):\n    return 'bye ' + name\n")],
        [TextDelta("added")],
        [call("search_code", query="wave_goodbye")],
        [TextDelta("found")],
    ])
    conversation, _ = build(repo, fake, tmp_path, permissions=Permissions("accept-edits"), with_index=True)
    conversation.turn("add a farewell")
    result = conversation.turn("where is the farewell?")
    assert "farewell.py" in result.outcomes[0].output
    assert "farewell.py" in fake.requests[2].messages[-2].content  # the turn's retrieved context too


def test_the_text_protocol_runs_calls_written_as_text(repo: Path, tmp_path: Path) -> None:
    fake = ScriptedProvider([
        [TextDelta('Let me look.\n<tool_call>\n{"name": "read_file", "arguments": {"path": "README.md"}}\n'
                   "</tool_call>")],
        [TextDelta("It says hello.")],
    ])
    result = build(repo, fake, tmp_path, text_tools=True)[0].turn("what does the readme say?")
    assert result.final == "It says hello." and result.outcomes[0].status == "executed"
    assert fake.requests[0].tools == () and "<tool_call>" in fake.requests[0].system
    assert fake.requests[1].messages[-1].role == "user" and "Says hello." in fake.requests[1].messages[-1].content


@pytest.mark.parametrize("text, problem", [
    ('<tool_call>\n{"name": "read_file", "arguments": {"path": "a"}\n</tool_call>', "not one JSON object"),
    ('<tool_call>["read_file"]</tool_call>', 'only "name" and "arguments"'),
    ('<tool_call>{"name": "", "arguments": {}}</tool_call>', '"name" must be a tool name'),
    ('<tool_call>{"name": "read_file", "arguments": "a.py"}</tool_call>', '"arguments" must be a JSON object'),
    ('<tool_call>{"name": "read_file", "arguments": {}, "extra": 1}</tool_call>', 'only "name" and "arguments"'),
    ('Sure. <tool_call>{"name": "read_file", "arguments": {"path": "a"}}', "is not closed"),
])
def test_the_text_protocol_is_parsed_strictly(text: str, problem: str) -> None:
    visible, calls = parse_text_calls(text)
    assert len(calls) == 1 and isinstance(calls[0], MalformedToolCall) and problem in calls[0].reason
    assert "<tool_call>" not in visible


def test_text_outside_the_blocks_is_the_answer_and_several_calls_parse() -> None:
    visible, calls = parse_text_calls('A <tool_call>{"name": "glob", "arguments": {"pattern": "*.py"}}</tool_call>'
                                      ' B <tool_call>{"name": "list_files", "arguments": {}}</tool_call> C')
    assert visible == "A  B  C"
    assert [c.call.name for c in calls if isinstance(c, ToolCallEvent)] == ["glob", "list_files"]


def test_text_protocol_compaction_keeps_no_orphan_tool_result(repo: Path, tmp_path: Path) -> None:
    turns = [[TextDelta('<tool_call>{"name": "list_files", "arguments": {}}</tool_call>')], [TextDelta("ok")]] * 4
    fake = ScriptedProvider([*turns, [TextDelta("A summary.")]])
    conversation, _ = build(repo, fake, tmp_path, text_tools=True)
    for number in range(4):
        conversation.turn(f"question {number}")
    assert conversation.compact_if_needed(force=True)
    kept = conversation.session.messages[1:]
    assert kept[0].role == "user" and not kept[0].content.startswith("<tool_result")
    assert conversation.session.messages[0].content.startswith("[Summary of the earlier conversation]")
