"""A conversation: an agent working through a saved session, compacted when it grows too long."""

from __future__ import annotations

from mossen.agent.compaction import KEEP_MESSAGES, needs_compaction, summarise, working_set
from mossen.agent.journal import EditJournal
from mossen.agent.loop import Agent, TurnResult, Watcher
from mossen.agent.retrieval import RetrievedContext
from mossen.agent.session import Session
from mossen.agent.text_protocol import TOOL_RESULT_OPEN
from mossen.budget import Budget
from mossen.errors import ProviderError
from mossen.providers.base import Message


class SessionRecorder(Watcher):
    """Saves every message to the session as it happens, and passes everything on."""

    def __init__(self, session: Session, inner: Watcher) -> None:
        self.session, self.inner = session, inner

    def text(self, piece: str) -> None:
        self.inner.text(piece)

    def tool_started(self, call, action) -> None:  # type: ignore[no-untyped-def]
        self.inner.tool_started(call, action)

    def tool_finished(self, outcome) -> None:  # type: ignore[no-untyped-def]
        self.inner.tool_finished(outcome)

    def message(self, message: Message) -> None:
        self.session.append(message)
        self.inner.message(message)

    def notice(self, text: str) -> None:
        self.inner.notice(text)


class Conversation:
    """User turns against one session; the agent's watcher must be a SessionRecorder of that session."""

    def __init__(self, agent: Agent, session: Session, context: RetrievedContext, journal: EditJournal) -> None:
        self.agent, self.session, self.context, self.journal = agent, session, context, journal
        self.context.working_set = session.working_set

    def turn(self, text: str) -> TurnResult:
        """Compact if needed, then run one user turn; its edits form one undoable set."""
        self.compact_if_needed()
        self.journal.begin()
        return self.agent.turn(list(self.session.messages), text)

    def history_room(self) -> int:
        """Tokens the window leaves for history and code: window - answer - system prompt."""
        limits = self.agent.s.provider.limits()
        count = self.agent.s.counter.count
        return Budget.split(limits.context_window, limits.max_output, count(self.agent.system_prompt()), 0, 0).code

    def compact_if_needed(self, force: bool = False) -> bool:
        """Summarise older messages when history outgrows its share; True when it did."""
        history = self.session.messages
        if not force and not needs_compaction(history, self.agent.s.counter, self.history_room()):
            return False
        keep = _keep_from_a_user_turn(history, KEEP_MESSAGES)
        older = history[: len(history) - keep]
        if not older:
            return False
        files = working_set(history, self.context.pinned.paths)
        try:
            summary = summarise(self.agent.s.provider, older, self.agent.s.provider.limits().max_output)
        except ProviderError as exc:
            self.agent.s.watcher.notice(f"could not summarise the history ({str(exc).splitlines()[0]}); "
                                        f"the {len(older)} oldest messages were dropped")
            summary = "(earlier messages were dropped: they could not be summarised)"
        self.session.compact(summary, files, keep)
        self.context.working_set = files
        return True

    def undo(self) -> list[str]:
        """Put back the files the last turn that changed files changed; the paths restored.

        The model is told, so it does not go on believing its edits stand.
        """
        restored = self.journal.undo()
        if restored:
            self.agent.s.after_edit(tuple(restored))
            self.session.append(Message("user", f"[The user undid the last edits: {', '.join(restored)} "
                                                "are back as they were before them.]"))
        return restored

    def clear(self) -> None:
        """Start over in the same session file."""
        self.session.clear()
        self.context.working_set = []


def _keep_from_a_user_turn(history: list[Message], keep: int) -> int:
    """How many recent messages to keep so the kept part starts at something the user said
    (no orphan tool results, native or in the text protocol)."""
    keep = min(keep, len(history))
    while keep < len(history) and not _said_by_user(history[len(history) - keep]):
        keep += 1
    return keep


def _said_by_user(message: Message) -> bool:
    return message.role == "user" and not message.content.startswith(TOOL_RESULT_OPEN)
