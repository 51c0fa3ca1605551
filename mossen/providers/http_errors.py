"""HTTP failures as mossen's provider errors, with the hint that fits each provider."""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from typing import Mapping

import httpx

try:  # the openai and anthropic SDKs moved to httpx2, a fork of httpx with its own exception classes
    import httpx2
except ImportError:  # an SDK release still built on httpx
    httpx2 = httpx  # type: ignore[no-redef]

from mossen.errors import (
    AuthError, BadRequest, ProviderError, ProviderTimeout, ProviderUnreachable, RateLimited, ServerError,
    StreamCut, UnknownModel,
)


HTTP_ERRORS = (httpx.HTTPError, httpx2.HTTPError)  # what the clients raise bare while a stream is read
_TIMEOUTS = (httpx.TimeoutException, httpx2.TimeoutException)
_NO_CONNECTION = (httpx.ConnectError, httpx.UnsupportedProtocol, httpx2.ConnectError, httpx2.UnsupportedProtocol)
_BROKEN_STREAM = (httpx.RemoteProtocolError, httpx.ReadError, httpx2.RemoteProtocolError, httpx2.ReadError)


@dataclass(frozen=True, slots=True)
class Hints:
    """What the user can do about each kind of failure, for one provider."""

    unreachable: str
    auth: str
    unknown_model: str


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Retry-After (seconds or an HTTP date) or retry-after-ms, as seconds; None when absent."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if "retry-after-ms" in lowered:
        try:
            return max(0.0, float(lowered["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value.strip() else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def status_error(status: int, detail: str, headers: Mapping[str, str], where: str, model: str,
                 hints: Hints) -> ProviderError:
    """The error for an HTTP status answered by `where` for `model`."""
    detail = " ".join(detail.split())[:300]
    if status == 429:
        wait = retry_after_seconds(headers)
        after = f"; the server asks to wait {wait:.0f} s" if wait is not None else ""
        return RateLimited(f"{where} is rate-limiting requests (429){after}: {detail}",
                           "wait a moment and try again, or use another model", wait)
    if status in (401, 403):
        return AuthError(f"{where} rejected the credentials ({status}): {detail}", hints.auth)
    if status == 404:
        return UnknownModel(f"{where} does not know the model {model!r} (404): {detail}", hints.unknown_model)
    if status >= 500:
        return ServerError(f"{where} failed ({status}): {detail}", "try again later", status)
    if status == 408:
        return ProviderTimeout(f"{where} timed out the request (408): {detail}", "try again")
    return BadRequest(f"{where} rejected the request ({status}): {detail}", "")


def unreachable(where: str, reason: str, hints: Hints) -> ProviderUnreachable:
    """Nothing answered at the endpoint."""
    return ProviderUnreachable(f"cannot reach {where}: {reason}", hints.unreachable)


def timed_out(where: str, seconds: float) -> ProviderTimeout:
    """The endpoint did not answer within the configured timeout."""
    return ProviderTimeout(f"{where} did not answer within {seconds:g} s",
                           'try again, or raise `timeout` under [models."NAME"] in .mossen.toml')


def transport_error(exc: BaseException, where: str, model: str, hints: Hints, timeout: float) -> ProviderError:
    """An exception of an HTTP client library (httpx, or the openai/anthropic SDKs built on it) as ours.

    The SDKs raise APIStatusError (with `status_code` and `response`) for HTTP
    errors and APIConnectionError / APITimeoutError wrapping httpx's error
    otherwise; while a stream is read, httpx's own errors come through bare.
    (The SDKs use httpx2, Ollama's client httpx: both are recognised.)
    """
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        response = getattr(exc, "response", None)
        headers = dict(response.headers) if response is not None else {}
        return status_error(status, str(getattr(exc, "message", exc)), headers, where, model, hints)
    cause = exc.__cause__ if isinstance(exc.__cause__, HTTP_ERRORS) else exc
    if isinstance(cause, _TIMEOUTS) or "Timeout" in type(exc).__name__:
        return timed_out(where, timeout)
    if isinstance(cause, _NO_CONNECTION):
        return unreachable(where, str(cause) or type(cause).__name__, hints)
    if isinstance(cause, _BROKEN_STREAM):
        return StreamCut(f"{where} closed the connection before the answer was complete ({cause})", "try again")
    return ProviderUnreachable(f"{where} failed: {type(exc).__name__}: {exc}", hints.unreachable)
