"""mossen's own errors; only the CLI turns errors into messages and exit codes.

    MossenError
    ├── ConfigError             a config file or value is invalid
    ├── UsageError              the command line asks for something impossible
    ├── PrivacyError            a request would leave the machine against `privacy = "local"`
    └── ProviderError           a model provider failed; `hint` says what to do
        ├── ProviderUnreachable     nothing answers at the endpoint
        ├── ProviderTimeout         the endpoint stopped answering in time
        ├── RateLimited             429; `retry_after` seconds when the server said
        ├── ServerError             5xx
        ├── AuthError               missing or rejected credentials
        ├── UnknownModel            the server does not have this model
        ├── BadRequest              the server rejected the request itself
        └── StreamCut               the answer stopped before it was complete

Errors of the indexer (indexer.errors.IndexerError and its subclasses) are
reported by the CLI the same way.
"""

from __future__ import annotations


class MossenError(Exception):
    """Base of every error mossen raises on purpose."""


class ConfigError(MossenError):
    """A configuration file or value is invalid."""


class UsageError(MossenError):
    """The command line asks for something that cannot be done."""


class PrivacyError(MossenError):
    """The chosen model or store is not on this machine while privacy is "local"."""


class ProviderError(MossenError):
    """A model provider failed. `hint` tells the user what to do about it."""

    retryable = False

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text}\n  {self.hint}" if self.hint else text


class ProviderUnreachable(ProviderError):
    """Nothing answers at the endpoint (connection refused, unknown host)."""


class ProviderTimeout(ProviderError):
    """The endpoint did not answer in time."""

    retryable = True


class RateLimited(ProviderError):
    """The server said 429; `retry_after` is its Retry-After in seconds, if given."""

    retryable = True

    def __init__(self, message: str, hint: str = "", retry_after: float | None = None) -> None:
        super().__init__(message, hint)
        self.retry_after = retry_after


class ServerError(ProviderError):
    """The server failed (5xx)."""

    retryable = True

    def __init__(self, message: str, hint: str = "", status: int = 500) -> None:
        super().__init__(message, hint)
        self.status = status


class AuthError(ProviderError):
    """Credentials are missing or were rejected."""


class UnknownModel(ProviderError):
    """The server does not know the model name."""


class BadRequest(ProviderError):
    """The server rejected the request (4xx other than auth, 404 model and 429)."""


class StreamCut(ProviderError):
    """The stream broke; once the answer had begun, what arrived is partial (never retried then)."""

    retryable = True
