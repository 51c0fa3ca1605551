"""Sessions, compaction and undo, in-process: real files, a real index, the scripted FAKE model."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from indexer import IndexSettings
from mossen.agent.compaction import KEEP_MESSAGES
from mossen.agent.conversation import Conversation, SessionRecorder
from mossen.agent.journal import EditJournal
from mossen.agent.loop import Agent, AgentSetup, Watcher
from mossen.agent.permissions import Permissions
from mossen.agent.retrieval import PinnedFiles, RepoIndex, RetrievedContext
from mossen.agent.session import Session, SessionStore, load_session
from mossen.agent.tools import ToolBox
from mossen.agent.tools.files import EditFile, ReadFile, WriteFile
from mossen.agent.workspace import Workspace
from mossen.ask import context_message
from mossen.budget import EstimatingCounter
from mossen.cli.chat_view import NoTerminalApprover
from mossen.errors import UsageError
from mossen.providers.base import Message, TextDelta, ToolCall, ToolCallEvent
from mossen.providers.scripted import ScriptedProvider
from tests.conftest import make_repo


@pytest.fixture(autouse=True)
def _models(seeded_index_root: Path) -> Path:
    """tmp_path/indexes, which these tests index into, starts with the session's model exports."""
    return seeded_index_root


def _store(tmp_path: Path) -> SessionStore:
    return SessionStore(tmp_path / "sessions", "repo-key")


def _exchange(session: Session, question: str, path: str, call_id: str) -> None:
    """A user question, a read_file call, its result and an answer, appended as a turn would."""
    session.append(Message("user", question))
    session.append(Message("assistant", "Let me look.", (ToolCall(call_id, "read_file", {"path": path}),)))
    session.append(Message("tool", f"{path} (1 lines)\n     1 | x = 1", tool_call_id=call_id, name="read_file"))
    session.append(Message("assistant", f"answer to {question}"))


# ---- the session file ------------------------------------------------------------------------------------

def test_a_session_reads_back_as_it_was_written(tmp_path: Path) -> None:
    store = _store(tmp_path)
    session = store.new(tmp_path / "repo", "scripted:fake")
    _exchange(session, "where is x set?", "a.py", "call_a")
    session.append(Message("assistant", "naïve — ünïcode ✓ and a\nsecond line"))

    again = load_session(session.path)

    assert again.id == session.id
    assert again.meta["model"] == "scripted:fake"
    assert again.meta["repo"] == str(tmp_path / "repo")
    assert again.messages == session.messages
    assert again.messages[1].tool_calls == (ToolCall("call_a", "read_file", {"path": "a.py"}),)
    assert again.messages[2].tool_call_id == "call_a" and again.messages[2].name == "read_file"
    lines = [json.loads(line) for line in session.path.read_text(encoding="utf-8").splitlines()]
    assert [line["type"] for line in lines] == ["meta"] + ["message"] * 5


def test_compaction_records_replay_to_the_same_history(tmp_path: Path) -> None:
    session = _store(tmp_path).new(tmp_path, "scripted:fake")
    for n in range(3):
        _exchange(session, f"question {n}", f"f{n}.py", f"call_{n}")
    session.compact("first summary", ["f2.py", "f1.py"], keep=4)
    assert len(session.messages) == 5
    assert session.messages[0].content.startswith("[Summary of the earlier conversation]\nfirst summary")
    assert "Files in play: f2.py, f1.py" in session.messages[0].content
    assert session.messages[1].content == "question 2"

    _exchange(session, "question 3", "f3.py", "call_3")
    session.compact("second summary", ["f3.py"], keep=2)
    _exchange(session, "question 4", "f4.py", "call_4")

    again = load_session(session.path)
    assert again.messages == session.messages
    assert again.working_set == ["f3.py"]
    assert "second summary" in again.messages[0].content and "first summary" not in again.messages[0].content
    assert [m.content for m in again.messages[1:3]] == ["f3.py (1 lines)\n     1 | x = 1", "answer to question 3"]
    assert again.messages[-4].content == "question 4"


def test_compaction_keeping_nothing_leaves_only_the_summary(tmp_path: Path) -> None:
    session = _store(tmp_path).new(tmp_path, "scripted:fake")
    _exchange(session, "q", "a.py", "c1")
    session.compact("all of it", [], keep=0)
    again = load_session(session.path)
    assert [m.content for m in again.messages] == ["[Summary of the earlier conversation]\nall of it"]


def test_clear_forgets_the_history_but_the_file_keeps_it(tmp_path: Path) -> None:
    session = _store(tmp_path).new(tmp_path, "scripted:fake")
    _exchange(session, "before the clear", "a.py", "c1")
    session.compact("s", ["a.py"], keep=4)
    session.clear()
    session.append(Message("user", "after the clear"))

    again = load_session(session.path)
    assert [m.content for m in again.messages] == ["after the clear"]
    assert again.working_set == []
    assert "before the clear" in session.path.read_text(encoding="utf-8")


def test_a_line_cut_short_by_a_crash_is_skipped_and_later_messages_survive(tmp_path: Path) -> None:
    session = _store(tmp_path).new(tmp_path, "scripted:fake")
    _exchange(session, "kept question", "a.py", "c1")
    session.append(Message("assistant", "this answer was being written when the process died"))
    text = session.path.read_text(encoding="utf-8")
    session.path.write_text(text[: len(text) - 25], encoding="utf-8")  # the last line, cut mid-way

    resumed = load_session(session.path)
    assert [m.content for m in resumed.messages][0] == "kept question"
    assert len(resumed.messages) == 4
    resumed.append(Message("user", "written after the crash"))

    again = load_session(session.path)
    assert [m.content for m in again.messages][-1] == "written after the crash"
    assert len(again.messages) == 5
    assert [i.id for i in _store(tmp_path).list()] == [session.id]


def test_a_file_that_is_not_a_session_is_refused_and_not_listed(tmp_path: Path) -> None:
    store = _store(tmp_path)
    session = store.new(tmp_path, "scripted:fake")
    stray = store.folder / "notes.jsonl"
    stray.write_text('{"type": "message", "role": "user", "content": "hi"}\n', encoding="utf-8")
    with pytest.raises(UsageError, match="not a mossen session"):
        load_session(stray)
    assert [i.id for i in store.list()] == [session.id]


# ---- the store: listing, titles, lookup by id -------------------------------------------------------------

def _dated(store: SessionStore, first_user_messages: list[str], mtime: float) -> Session:
    session = store.new(Path("/repo"), "scripted:fake")
    for text in first_user_messages:
        session.append(Message("user", text))
    os.utime(session.path, (mtime, mtime))
    return session


def test_sessions_are_listed_most_recent_first_with_the_first_question_as_title(tmp_path: Path) -> None:
    store = _store(tmp_path)
    old = _dated(store, ["fix the parser\nit fails on tabs"], 1_000_000)
    new = _dated(store, [context_message("a.py:1-1\n```\nx\n```\n"), "why is x one?"], 3_000_000)
    middle = _dated(store, [], 2_000_000)
    middle.compact("an earlier talk", [], keep=0)  # the summary is no question of the user's
    os.utime(middle.path, (2_000_000, 2_000_000))

    listed = store.list()

    assert [i.id for i in listed] == [new.id, middle.id, old.id]
    assert [i.title for i in listed] == ["why is x one?", "", "fix the parser"]
    assert [i.messages for i in listed] == [2, 0, 1]
    assert store.last() is not None and store.last().id == new.id


def test_a_session_whose_first_question_is_empty_is_listed_without_a_title(tmp_path: Path) -> None:
    store = _store(tmp_path)
    empty = _dated(store, [""], 2_000_000)  # `mossen chat -p ""` saves such a question
    other = _dated(store, ["a real question"], 1_000_000)
    assert [(i.id, i.title) for i in store.list()] == [(empty.id, ""), (other.id, "a real question")]


def test_a_session_is_found_by_its_id_or_a_unique_start_of_it(tmp_path: Path) -> None:
    store = _store(tmp_path)
    first, second = store.new(Path("/r"), "m"), store.new(Path("/r"), "m")
    shared = os.path.commonprefix([first.id, second.id])
    unique = first.id[: len(shared) + 1]

    assert store.open(first.id).id == first.id
    assert store.open(unique).id == first.id
    with pytest.raises(UsageError, match="no single session matches") as ambiguous:
        store.open(shared)
    assert first.id in str(ambiguous.value) and second.id in str(ambiguous.value)
    with pytest.raises(UsageError, match="no single session matches 'nope'"):
        store.open("nope")


def test_an_empty_store_has_no_last_session(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert store.list() == [] and store.last() is None
    with pytest.raises(UsageError, match="none yet"):
        store.open("x")


# ---- compaction inside a conversation ----------------------------------------------------------------------

FILES = {"alpha.py": "ALPHA_MARK = 'alpha file'\n", "beta.py": "BETA_MARK = 'beta file'\n",
         "gamma.py": "GAMMA_MARK = 'gamma file'\n"}


def _conversation(repo: Path, tmp_path: Path, provider: ScriptedProvider, session: Session) -> Conversation:
    """A conversation wired as `mossen chat` wires it, around the scripted FAKE model."""
    counter = EstimatingCounter()
    workspace = Workspace(repo)
    journal = EditJournal(workspace.root)
    index = RepoIndex(repo, IndexSettings(index_root=tmp_path / "indexes", lock_timeout=5.0))
    context = RetrievedContext(index, workspace, counter, PinnedFiles())
    setup = AgentSetup(provider=provider, tools=ToolBox([ReadFile(workspace), EditFile(workspace, journal),
                                                        WriteFile(workspace, journal)]),
                       permissions=Permissions("accept-edits"), approver=NoTerminalApprover(), system="You help.",
                       counter=counter, context=context, watcher=SessionRecorder(session, Watcher()),
                       after_edit=index.changed)
    return Conversation(Agent(setup), session, context, journal)


def _long_history(session: Session) -> None:
    """Two chatty early turns, then a last turn whose recent messages begin with tool traffic."""
    filler = " ".join(["the early discussion went on at length about naming"] * 60)
    session.append(Message("user", "EARLY_QUESTION_ONE"))
    session.append(Message("assistant", "", (ToolCall("c1", "read_file", {"path": "alpha.py"}),)))
    session.append(Message("tool", "alpha.py (1 lines)", tool_call_id="c1", name="read_file"))
    session.append(Message("assistant", filler))
    session.append(Message("user", "EARLY_QUESTION_TWO"))
    session.append(Message("assistant", filler))
    session.append(Message("user", "RECENT_QUESTION"))
    for n, path in enumerate(["beta.py", "gamma.py", "beta.py"], 2):
        session.append(Message("assistant", "", (ToolCall(f"c{n}", "read_file", {"path": path}),)))
        session.append(Message("tool", f"{path} (1 lines)", tool_call_id=f"c{n}", name="read_file"))
    session.append(Message("assistant", "RECENT_ANSWER"))


def test_a_long_history_is_replaced_by_the_summary_and_a_tail_that_starts_at_a_user_message(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    session = _store(tmp_path).new(repo, "scripted:fake")
    _long_history(session)
    before = list(session.messages)
    assert before[len(before) - KEEP_MESSAGES].role != "user"  # the plain cut would orphan tool results
    provider = ScriptedProvider([[TextDelta("SUMMARY: the user works on naming")], [TextDelta("final answer")]],
                                window=3000, max_output=200)
    conversation = _conversation(repo, tmp_path, provider, session)

    result = conversation.turn("NEXT_QUESTION")

    assert result.final == "final answer" and result.stopped is None
    transcript = provider.requests[0].messages[0].content
    assert "EARLY_QUESTION_ONE" in transcript and "EARLY_QUESTION_TWO" in transcript
    assert "RECENT_QUESTION" not in transcript  # the kept part is not summarised
    history = session.messages
    assert history[0].content.startswith("[Summary of the earlier conversation]\nSUMMARY: the user works on naming")
    kept = before[before.index(Message("user", "RECENT_QUESTION")):]
    assert history[1: 1 + len(kept)] == kept
    assert history[1].role == "user"
    asked = {c.id for m in history for c in m.tool_calls}
    assert all(m.tool_call_id in asked for m in history if m.role == "tool")
    assert "EARLY_QUESTION_ONE" not in json.dumps([m.content for m in history])
    # the turn itself ran on the compacted history, and the file replays to the same one
    assert provider.requests[1].messages[0] == history[0]
    assert load_session(session.path).messages == history


def test_the_working_set_survives_compaction_and_its_files_lead_the_next_context(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    session = _store(tmp_path).new(repo, "scripted:fake")
    _long_history(session)
    provider = ScriptedProvider([[TextDelta("a summary that names no file")], [TextDelta("ok")]],
                                window=3000, max_output=200)
    conversation = _conversation(repo, tmp_path, provider, session)

    conversation.turn("NEXT_QUESTION")

    assert session.working_set == ["beta.py", "gamma.py", "alpha.py"]
    assert "Files in play: beta.py, gamma.py, alpha.py" in session.messages[0].content
    assert [rel for rel, _ in conversation.context.last_pinned] == ["beta.py", "gamma.py", "alpha.py"]
    context = next(m.content for m in provider.requests[1].messages
                   if m.role == "user" and m.content.startswith(context_message("")))
    for text in FILES.values():
        assert text.strip() in context
    assert load_session(session.path).working_set == session.working_set


def test_a_short_history_is_not_compacted(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", FILES)
    session = _store(tmp_path).new(repo, "scripted:fake")
    for n in range(3):
        _exchange(session, f"short question {n}", "alpha.py", f"c{n}")
    before = list(session.messages)
    provider = ScriptedProvider([[TextDelta("the reply")]], window=3000, max_output=200)
    conversation = _conversation(repo, tmp_path, provider, session)

    assert conversation.compact_if_needed() is False
    conversation.turn("another")

    assert len(provider.requests) == 1  # no summary was asked for
    assert session.messages[: len(before)] == before
    assert session.working_set == []


# ---- undo --------------------------------------------------------------------------------------------------

def _edit(workspace: Workspace, journal: EditJournal, path: str, old: str, new: str) -> None:
    EditFile(workspace, journal).run({"path": path, "old": old, "new": new})


def test_undo_restores_edited_files_and_deletes_created_ones(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"app.py": "value = 1\n", "lib/util.py": "def f():\n    return 1\n"})
    workspace = Workspace(repo)
    journal = EditJournal(workspace.root)

    journal.begin()
    _edit(workspace, journal, "app.py", "value = 1", "value = 2")
    _edit(workspace, journal, "lib/util.py", "return 1", "return 2")
    WriteFile(workspace, journal).run({"path": "lib/new.py", "content": "NEW = True\n"})
    assert (repo / "lib/new.py").exists() and (repo / "app.py").read_text() == "value = 2\n"

    assert journal.undo() == ["app.py", "lib/new.py", "lib/util.py"]
    assert (repo / "app.py").read_text() == "value = 1\n"
    assert (repo / "lib/util.py").read_text() == "def f():\n    return 1\n"
    assert not (repo / "lib/new.py").exists()
    assert journal.undo() == []


def test_several_edits_of_one_file_in_one_turn_undo_to_the_original(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"app.py": "a = 1\nb = 1\n"})
    workspace = Workspace(repo)
    journal = EditJournal(workspace.root)

    journal.begin()
    _edit(workspace, journal, "app.py", "a = 1", "a = 2")
    _edit(workspace, journal, "app.py", "b = 1", "b = 2")
    WriteFile(workspace, journal).run({"path": "app.py", "content": "rewritten\n"})

    assert journal.depth == 1
    assert journal.undo() == ["app.py"]
    assert (repo / "app.py").read_text() == "a = 1\nb = 1\n"


def test_undo_goes_back_one_turn_at_a_time_and_skips_turns_without_edits(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"app.py": "v = 0\n"})
    workspace = Workspace(repo)
    journal = EditJournal(workspace.root)

    journal.begin()
    _edit(workspace, journal, "app.py", "v = 0", "v = 1")
    journal.begin()
    _edit(workspace, journal, "app.py", "v = 1", "v = 2")
    journal.begin()  # a turn that only read

    assert journal.depth == 2
    assert journal.undo() == ["app.py"]
    assert (repo / "app.py").read_text() == "v = 1\n"
    assert journal.undo() == ["app.py"]
    assert (repo / "app.py").read_text() == "v = 0\n"
    assert journal.undo() == []


def test_undo_within_a_conversation_restores_the_last_turns_edit(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"alpha.py": "ALPHA_MARK = 'alpha file'\n"})
    session = _store(tmp_path).new(repo, "scripted:fake")
    provider = ScriptedProvider([
        [ToolCallEvent(ToolCall("e1", "edit_file", {"path": "alpha.py", "old": "alpha file", "new": "changed"}))],
        [TextDelta("done")],
    ], window=8000)
    conversation = _conversation(repo, tmp_path, provider, session)

    result = conversation.turn("change it")
    assert [o.status for o in result.outcomes] == ["executed"]
    assert (repo / "alpha.py").read_text() == "ALPHA_MARK = 'changed'\n"

    assert conversation.undo() == ["alpha.py"]
    assert (repo / "alpha.py").read_text() == "ALPHA_MARK = 'alpha file'\n"
