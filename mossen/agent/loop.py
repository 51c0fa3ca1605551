"""The agent loop: user turn -> retrieval -> model -> tool calls -> results -> ... -> answer.

It knows only the provider protocol, the tool protocol, the permission policy
and three small seams wired at the edge: where retrieved code comes from, who
approves a call, and who watches (the UI or the session log).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence

from mossen.agent.permissions import Permissions
from mossen.agent.compaction import history_tokens
from mossen.agent.records import Action, ToolFailure, ToolOutcome
from mossen.agent.text_protocol import describe_tools, parse_text_calls, result_message
from mossen.agent.tools import ToolBox
from mossen.budget import Budget, TokenCounter, messages_overhead
from mossen.errors import ProviderError, StreamCut
from mossen.prompts import load_prompt
from mossen.providers.base import (
    ChatRequest, Finished, MalformedToolCall, Message, Provider, TextDelta, ToolCall, ToolCallEvent, Usage,
)
from mossen.providers.retry import RetryPolicy, stream_with_retries


class Approver(Protocol):
    """Asks the user about one call: True runs it, False declines, None when nobody can be asked."""

    def approve(self, action: Action, reason: str) -> bool | None:
        """The user's answer."""
        ...


class ContextSource(Protocol):
    """Retrieved code for a user turn, within a token budget (a message marked as data, or "")."""

    def context_for(self, question: str, budget: int) -> str:
        """The context message text."""
        ...


class Watcher:
    """What the agent reports as it goes; the base class ignores everything."""

    def text(self, piece: str) -> None:
        """A piece of the model's answer."""

    def tool_started(self, call: ToolCall, action: Action | None) -> None:
        """A tool call is about to be judged and run."""

    def tool_finished(self, outcome: ToolOutcome) -> None:
        """A tool call ended (ran, refused, awaiting approval, or failed)."""

    def message(self, message: Message) -> None:
        """A message joined the conversation (for the session log)."""

    def notice(self, text: str) -> None:
        """Something the user should know (a retry, a limit)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """When a turn stops even though the model wants to go on."""

    max_steps: int = 25
    max_seconds: float = 900.0
    max_cost: float | None = None  # USD; only paid providers have prices
    max_malformed: int = 3  # malformed tool calls in a row


@dataclass(frozen=True, slots=True)
class Prices:
    """USD per million tokens; zero for local models."""

    input: float = 0.0
    output: float = 0.0

    def cost(self, usage: Usage) -> float:
        """What `usage` cost."""
        return (usage.input_tokens * self.input + usage.output_tokens * self.output) / 1e6


@dataclass(frozen=True, slots=True)
class TurnResult:
    """How one user turn ended."""

    final: str
    outcomes: tuple[ToolOutcome, ...]
    messages: tuple[Message, ...]  # what the turn added to the history
    usage: Usage
    stopped: str | None = None  # why it stopped before the model answered, if it did
    partial: bool = False


@dataclass
class AgentSetup:
    """Everything an Agent is wired with, chosen at the edge (the CLI)."""

    provider: Provider
    tools: ToolBox
    permissions: Permissions
    approver: Approver
    system: str
    counter: TokenCounter
    context: ContextSource | None = None
    watcher: Watcher = field(default_factory=Watcher)
    limits: Limits = field(default_factory=Limits)
    prices: Prices = field(default_factory=Prices)
    text_tools: bool = False  # the model has no native tool calling: use the text protocol
    code_budget: int = 4000
    temperature: float | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    outgoing: Callable[[ChatRequest], ChatRequest] = lambda request: request  # redaction for remote models
    after_edit: Callable[[tuple[str, ...]], None] = lambda paths: None  # re-index what changed


class Agent:
    """Runs user turns to their end."""

    def __init__(self, setup: AgentSetup) -> None:
        self.s = setup

    def system_prompt(self) -> str:
        """The system prompt, with the tool descriptions when the text protocol is used."""
        if self.s.text_tools:
            return f"{self.s.system}\n\n{describe_tools(self.s.tools.specs())}"
        return self.s.system

    def turn(self, history: Sequence[Message], user_text: str) -> TurnResult:
        """One user turn: retrieval, then model and tools in turns until it answers or a limit stops it."""
        run = _Turn(self, list(history))
        try:
            return run.go(user_text)
        except KeyboardInterrupt:
            return run.result(stopped="interrupted")

    def code_budget(self, history: Sequence[Message], question: str) -> int:
        """Retrieval's share: half of what the window leaves, at most the configured budget.

        The other half stays free for the turn's own tool results.
        """
        limits = self.s.provider.limits()
        count = self.s.counter.count
        room = Budget.split(limits.context_window, limits.max_output, count(self.system_prompt()),
                            history_tokens(history, self.s.counter) + messages_overhead(len(history) + 2),
                            count(question) + count(load_prompt("context.md"))).code
        return min(self.s.code_budget, room // 2)


class _Turn:
    """The state of one running turn."""

    def __init__(self, agent: Agent, history: list[Message]) -> None:
        self.agent, self.s, self.history = agent, agent.s, history
        self.added: list[Message] = []
        self.outcomes: list[ToolOutcome] = []
        self.usage = Usage()
        self.started = time.monotonic()
        self.malformed_in_a_row = 0
        self.final = ""

    def go(self, user_text: str) -> TurnResult:
        if self.s.context is not None:
            context = self.s.context.context_for(user_text, self.agent.code_budget(self.history, user_text))
            if context:
                self._add(Message("user", context))
        self._add(Message("user", user_text))
        for _ in range(self.s.limits.max_steps):
            if (stop := self._over_limits()) is not None:
                return self.result(stopped=stop)
            try:
                text, calls = self._ask_model()
            except StreamCut as exc:
                return self.result(stopped=f"the answer was cut off: {exc}", partial=True)
            except ProviderError as exc:  # nothing of this step arrived: the turn ends, the session stays
                return self.result(stopped=f"the model could not answer: {exc}")
            if not calls:
                self.final = text
                return self.result()
            self._run_calls(calls)
            if self.malformed_in_a_row >= self.s.limits.max_malformed:
                return self.result(stopped=f"{self.malformed_in_a_row} malformed tool calls in a row; "
                                           "the turn was stopped")
        return self.result(stopped=f"the step limit ({self.s.limits.max_steps}) was reached")

    def result(self, stopped: str | None = None, partial: bool = False) -> TurnResult:
        self._answer_dangling_calls()
        if stopped:
            self.s.watcher.notice(stopped)
        return TurnResult(self.final, tuple(self.outcomes), tuple(self.added), self.usage, stopped, partial)

    def _over_limits(self) -> str | None:
        if time.monotonic() - self.started > self.s.limits.max_seconds:
            return f"the time limit ({self.s.limits.max_seconds:.0f} s) was reached"
        cost = self.s.prices.cost(self.usage)
        if self.s.limits.max_cost is not None and cost >= self.s.limits.max_cost:
            return f"the cost limit (${self.s.limits.max_cost:.2f}) was reached (${cost:.2f} spent)"
        return None

    def _ask_model(self) -> tuple[str, list[ToolCallEvent | MalformedToolCall]]:
        """One model call; the assistant message is added, cut or not."""
        limits = self.s.provider.limits()
        request = ChatRequest(self.agent.system_prompt(), tuple(self.history + self.added),
                              () if self.s.text_tools else self.s.tools.specs(), limits.max_output,
                              self.s.temperature, stable_prefix=len(self.history))
        parts: list[str] = []
        calls: list[ToolCallEvent | MalformedToolCall] = []
        try:
            for event in stream_with_retries(self.s.provider, self.s.outgoing(request), self.s.retry, self._retrying):
                if isinstance(event, TextDelta):
                    parts.append(event.text)
                    self.s.watcher.text(event.text)
                elif isinstance(event, (ToolCallEvent, MalformedToolCall)):
                    calls.append(event)
                elif isinstance(event, Usage):
                    self.usage = self.usage + event
                elif isinstance(event, Finished):
                    pass
        except StreamCut:
            self.final = "".join(parts)
            self._add(Message("assistant", self.final))
            raise
        text = "".join(parts)
        if self.s.text_tools:
            text, calls = parse_text_calls(text, len(self.outcomes))
            self._add(Message("assistant", "".join(parts)))
        else:
            self._add(Message("assistant", text, tuple(_as_call(c) for c in calls)))
        return text, calls

    def _retrying(self, error: ProviderError, wait: float, attempt: int) -> None:
        self.s.watcher.notice(f"{str(error).splitlines()[0]}; retrying in {wait:.1f} s")

    def _run_calls(self, calls: list[ToolCallEvent | MalformedToolCall]) -> None:
        for event in calls:
            if isinstance(event, MalformedToolCall):
                self.malformed_in_a_row += 1
                outcome = ToolOutcome(event.id, event.name or "(none)", {}, "error",
                                      f"malformed tool call, not run: {event.reason}")
                self.s.watcher.tool_finished(outcome)
            else:
                self.malformed_in_a_row = 0
                outcome = self._execute(event.call)
            self.outcomes.append(outcome)
            self._add_result(outcome)

    def _execute(self, call: ToolCall) -> ToolOutcome:
        def ended(status: str, output: str, changed: tuple[str, ...] = ()) -> ToolOutcome:
            outcome = ToolOutcome(call.id, call.name, call.arguments, status, output, changed)  # type: ignore[arg-type]
            self.s.watcher.tool_finished(outcome)
            return outcome

        tool = self.s.tools.get(call.name)
        if tool is None:
            self.s.watcher.tool_started(call, None)
            return ended("error", f"unknown tool {call.name!r}; the tools are {', '.join(self.s.tools.names())}")
        try:
            action = tool.plan(call.arguments)
        except ToolFailure as exc:
            self.s.watcher.tool_started(call, None)
            return ended(exc.status, str(exc))
        self.s.watcher.tool_started(call, action)
        verdict = self.s.permissions.decide(action)
        if verdict.decision == "refuse":
            return ended("refused", f"refused: {verdict.reason}")
        if verdict.decision == "ask":
            answer = self.s.approver.approve(action, verdict.reason)
            if answer is None:
                return ended("needs_approval", f"not run: it needs the user's approval ({verdict.reason})")
            if not answer:
                return ended("refused", "the user declined this call")
        try:
            # While the user was asked, a file may have moved or a link been swapped in: run only what was approved.
            if verdict.decision == "ask" and tool.plan(call.arguments) != action:
                return ended("refused", "refused: what the call would do changed while it awaited approval")
            result = tool.run(call.arguments)
        except ToolFailure as exc:
            return ended(exc.status, str(exc))
        except OSError as exc:
            return ended("error", f"{type(exc).__name__}: {exc}")
        if result.changed:
            self.s.after_edit(result.changed)
        return ended("executed", result.output, result.changed)

    def _add_result(self, outcome: ToolOutcome) -> None:
        if self.s.text_tools:
            self._add(Message("user", result_message(outcome.tool, outcome.call_id, outcome.output)))
        else:
            self._add(Message("tool", outcome.output, tool_call_id=outcome.call_id, name=outcome.tool))

    def _answer_dangling_calls(self) -> None:
        """Tool calls left without a result (an interrupt) get one, so the history stays valid."""
        answered = {m.tool_call_id for m in self.added if m.role == "tool"}
        for message in list(self.added):
            for call in message.tool_calls:
                if call.id not in answered:
                    self._add(Message("tool", "not run: the turn was interrupted", tool_call_id=call.id,
                                      name=call.name))

    def _add(self, message: Message) -> None:
        self.added.append(message)
        self.s.watcher.message(message)


def _as_call(event: ToolCallEvent | MalformedToolCall) -> ToolCall:
    if isinstance(event, ToolCallEvent):
        return event.call
    return ToolCall(event.id, event.name or "invalid", {})
