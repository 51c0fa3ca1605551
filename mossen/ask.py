"""Answering one question: retrieve, fit the code into the budget, build the request, collect the answer.

No UI here: the CLI renders what these functions return and stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from indexer import IndexSettings, SearchHit, SearchOptions, search
from mossen.budget import Budget, ContextPack, TokenCounter, fill_budget, messages_overhead
from mossen.errors import ProviderError, StreamCut
from mossen.prompts import load_prompt
from mossen.providers.base import (
    ChatRequest, Message, ModelLimits, Provider, StreamEvent, TextDelta, Usage,
)
from mossen.tokens import estimate_tokens


@dataclass(frozen=True, slots=True)
class AskPlan:
    """Everything decided before a model is called."""

    question: str
    budget: Budget
    pack: ContextPack
    request: ChatRequest


@dataclass(frozen=True, slots=True)
class Answer:
    """What came back: the text, whether it is partial, and the usage reported."""

    text: str
    partial: bool
    usage: Usage
    error: ProviderError | None = None


class ProviderCounter:
    """The provider's own count where it has one, else the conservative estimate."""

    def __init__(self, provider: Provider) -> None:
        self._provider = provider
        self._works = True

    def count(self, text: str) -> int:
        """Tokens of `text` for this provider's model."""
        if self._works:
            counted = self._provider.count_tokens(text)
            if counted is not None:
                return counted
            self._works = False
        return estimate_tokens(text)


def retrieve(repo: Path, question: str, settings: IndexSettings, top_k: int) -> list[SearchHit]:
    """The chunks that best answer `question`, best first."""
    return search(repo, question, settings, SearchOptions(top_k=top_k))


def context_message(code: str) -> str:
    """The user message carrying retrieved code (rendered pieces), marked as data."""
    return load_prompt("context.md") + code


def is_context_message(text: str) -> bool:
    """Whether a user message is retrieved code rather than something the user said."""
    return text.startswith(load_prompt("context.md"))


def system_prompt(memory: str = "") -> str:
    """The system prompt, with the project's memory (MOSSEN.md) when given."""
    base = load_prompt("ask.md")
    return f"{base}\n# Project notes (from the repository)\n\n{memory}" if memory else base


def plan_ask(question: str, hits: list[SearchHit], counter: TokenCounter, cap: int,
             limits: ModelLimits | None = None, memory: str = "") -> AskPlan:
    """Split the window, fill the code budget with the best hits, and build the request.

    Without `limits` (no model consulted, as for --show-context) the code budget is `cap`.
    """
    system = system_prompt(memory)
    # the context header, the question, and the template of system + context + question messages
    wrapper = counter.count(load_prompt("context.md")) + counter.count(question) + messages_overhead(3)
    if limits is None:
        budget = Budget(0, 0, counter.count(system), 0, wrapper, cap)
        max_output = 0
    else:
        budget = Budget.split(limits.context_window, limits.max_output, counter.count(system), 0, wrapper, cap)
        max_output = limits.max_output
    pack = fill_budget(hits, budget.code, counter)
    messages = (Message("user", context_message(pack.render())), Message("user", question))
    return AskPlan(question, budget, pack, ChatRequest(system, messages, max_output=max_output, stable_prefix=1))


def collect(events: Iterable[StreamEvent], on_text: Callable[[str], None] = lambda _: None) -> Answer:
    """Read a stream to its end; a stream cut after text arrived gives a partial answer, not an exception."""
    parts: list[str] = []
    usage = Usage()
    try:
        for event in events:
            if isinstance(event, TextDelta):
                parts.append(event.text)
                on_text(event.text)
            elif isinstance(event, Usage):
                usage = usage + event
    except StreamCut as exc:
        if not parts:
            raise  # nothing arrived: a failure, not a partial answer
        return Answer("".join(parts), True, usage, exc)
    return Answer("".join(parts), False, usage)
