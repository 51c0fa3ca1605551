"""Bounded retries around a provider's stream, the same for every provider.

Retried: 429 (waiting what Retry-After says, up to a cap), 5xx and timeouts
(once only: each try already waited the whole timeout), but only while
nothing of the answer has arrived. Once text or a tool call has
been yielded, a failure becomes `StreamCut`: the caller holds a partial answer
and says so. Connection refused, auth, unknown model and bad requests are not
retried: another try would fail the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

from mossen.errors import ProviderError, ProviderTimeout, RateLimited, StreamCut
from mossen.providers.base import ChatRequest, MalformedToolCall, Provider, StreamEvent, TextDelta, ToolCallEvent

RetryNotice = Callable[[ProviderError, float, int], None]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry."""

    attempts: int = 3  # tries in all
    base_delay: float = 1.0  # seconds before the second try; doubles after
    max_delay: float = 30.0  # the longest wait, Retry-After included; longer is an error
    timeout_attempts: int = 2  # tries in all when the server does not answer in time
    sleep: Callable[[float], None] = field(default=time.sleep)

    def delay(self, error: ProviderError, attempt: int) -> float | None:
        """Seconds to wait before the next try, or None when it must not be retried."""
        if not error.retryable or attempt >= self.attempts:
            return None
        if isinstance(error, ProviderTimeout) and attempt >= self.timeout_attempts:
            return None
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return error.retry_after if error.retry_after <= self.max_delay else None
        return min(self.base_delay * 2 ** (attempt - 1), self.max_delay)


_ANSWER = (TextDelta, ToolCallEvent, MalformedToolCall)


def stream_with_retries(provider: Provider, request: ChatRequest, policy: RetryPolicy = RetryPolicy(),
                        on_retry: RetryNotice | None = None) -> Iterator[StreamEvent]:
    """`provider.stream(request)`, retried per `policy` until the answer begins."""
    attempt = 0
    while True:
        attempt += 1
        begun = False
        try:
            for event in provider.stream(request):
                begun = begun or isinstance(event, _ANSWER)
                yield event
            return
        except ProviderError as exc:
            if begun:
                if isinstance(exc, StreamCut):
                    raise
                raise StreamCut(f"the answer stopped midway: {exc}", exc.hint) from exc
            wait = policy.delay(exc, attempt)
            if wait is None:
                raise
            if on_retry is not None:
                on_retry(exc, wait, attempt)
            policy.sleep(wait)
