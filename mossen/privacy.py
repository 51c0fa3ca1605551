"""What may leave the machine: the local-only guard, secret redaction and path scrubbing.

Redaction uses detect-secrets' rules (cloud keys, tokens, private keys, keyword
assignments, high-entropy strings) plus a few token formats it lacks, and
replaces each finding with `[REDACTED:kind]`. It runs on every text of an
outgoing request to a remote provider: system prompt, messages, tool arguments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from detect_secrets.core.scan import _process_line_based_plugins  # the line scanner, filters included
from detect_secrets.settings import transient_settings

from mossen.errors import PrivacyError
from mossen.providers.base import ChatRequest, Message, ToolCall
from mossen.providers.locality import is_local_endpoint

PLUGINS = (
    "AWSKeyDetector", "ArtifactoryDetector", "AzureStorageKeyDetector", "Base64HighEntropyString",
    "BasicAuthDetector", "CloudantDetector", "DiscordBotTokenDetector", "GitHubTokenDetector",
    "GitLabTokenDetector", "HexHighEntropyString", "IbmCloudIamDetector", "IbmCosHmacDetector",
    "JwtTokenDetector", "KeywordDetector", "MailchimpDetector", "NpmDetector", "OpenAIDetector",
    "PrivateKeyDetector", "PypiTokenDetector", "SendGridDetector", "SlackDetector", "SoftlayerDetector",
    "SquareOAuthDetector", "StripeDetector", "TelegramBotTokenDetector", "TwilioKeyDetector",
)  # every detect-secrets plugin but IPPublicDetector: an address in code is not a secret
ENTROPY_LIMITS = {"Base64HighEntropyString": 4.5, "HexHighEntropyString": 3.0}  # detect-secrets' defaults

# Formats detect-secrets does not know (or only as "high entropy" inside quotes).
EXTRA_RULES = (
    ("anthropic-key", re.compile(r"\bsk-ant-[A-Za-z0-9_\-]{20,}")),
    ("openai-key", re.compile(r"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_\-]{20,}")),
    ("google-api-key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b")),
    ("huggingface-token", re.compile(r"\bhf_[A-Za-z0-9]{30,}\b")),
    ("aws-secret-key", re.compile(r"(?i)aws_secret_access_key\s*[=:]\s*['\"]?([A-Za-z0-9/+=]{40})")),
)
PEM_BLOCK = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----|\Z)",
                       re.DOTALL)
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_\-+/.]")
_TOKEN_END_CHARS = re.compile(r"[A-Za-z0-9_\-+/.=]")  # base64 padding only trails
SHORT_CAPTURE = 16  # a finding shorter than this is a prefix (e.g. "ghp"): redact the whole token around it


def require_local(endpoint: str, privacy: str, what: str) -> None:
    """Refuse, before any request, an endpoint off this machine when privacy is "local"."""
    if privacy == "local" and not is_local_endpoint(endpoint):
        raise PrivacyError(f"privacy is \"local\" but {what} is at {endpoint}, which is not this machine; "
                           f"nothing was sent. Use a local model (e.g. ollama:…) or set privacy = \"any\"")


@dataclass(frozen=True, slots=True)
class Finding:
    """One secret found in outgoing text."""

    kind: str
    line: int


class Redactor:
    """Replaces secrets with `[REDACTED:kind]`; results are cached per text (contexts repeat in a chat)."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[str, tuple[Finding, ...]]] = {}

    def redact(self, text: str) -> tuple[str, tuple[Finding, ...]]:
        """The text with every secret replaced, and what was found."""
        if text not in self._cache:
            self._cache[text] = _redact(text)
        return self._cache[text]


def _redact(text: str) -> tuple[str, tuple[Finding, ...]]:
    findings: list[Finding] = []

    def pem(match: re.Match[str]) -> str:
        findings.append(Finding("private-key", text.count("\n", 0, match.start()) + 1))
        return "[REDACTED:private-key]"

    text = PEM_BLOCK.sub(pem, text)
    lines = text.split("\n")
    spans: dict[int, list[tuple[int, int, str]]] = {}
    for number, line in enumerate(lines):
        for kind, rule in EXTRA_RULES:
            for m in rule.finditer(line):
                group = 1 if m.groups() else 0
                spans.setdefault(number, []).append((m.start(group), m.end(group), kind))
    settings = {"plugins_used": [{"name": p, **({"limit": ENTROPY_LIMITS[p]} if p in ENTROPY_LIMITS else {})}
                                 for p in PLUGINS]}
    with transient_settings(settings):
        for secret in _process_line_based_plugins(list(enumerate(lines, 1)), "outgoing.txt"):
            if secret.secret_value:
                line = lines[secret.line_number - 1]
                spans.setdefault(secret.line_number - 1, []).extend(
                    (start, end, _kind(secret.type)) for start, end in _locate(line, secret.secret_value))
    for number, found in spans.items():
        lines[number] = _replace_spans(lines[number], found)
        findings.extend(Finding(kind, number + 1) for _, _, kind in _merged(found))
    return "\n".join(lines), tuple(findings)


def _kind(secret_type: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", secret_type.lower()).strip("-")


def _locate(line: str, value: str) -> list[tuple[int, int]]:
    """Every place `value` occurs in `line`, widened to the whole token when it is a short prefix."""
    found = []
    start = line.find(value)
    while start >= 0:
        end = start + len(value)
        if len(value) < SHORT_CAPTURE:
            while start > 0 and _TOKEN_CHARS.match(line[start - 1]):
                start -= 1
            while end < len(line) and _TOKEN_END_CHARS.match(line[end]):
                end += 1
        found.append((start, end))
        start = line.find(value, end)
    return found


def _merged(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Overlapping spans as one, named by a specific rule rather than by entropy when one matched."""
    out: list[tuple[int, int, str]] = []
    for start, end, kind in sorted(spans, key=lambda s: (s[0], -s[1])):
        if out and start < out[-1][1]:
            named = kind if "entropy" in out[-1][2] and "entropy" not in kind else out[-1][2]
            out[-1] = (out[-1][0], max(end, out[-1][1]), named)
        else:
            out.append((start, end, kind))
    return out


def _replace_spans(line: str, spans: list[tuple[int, int, str]]) -> str:
    for start, end, kind in reversed(_merged(spans)):
        line = f"{line[:start]}[REDACTED:{kind}]{line[end:]}"
    return line


@dataclass(frozen=True, slots=True)
class Scrubber:
    """Makes outgoing text name only repo-relative paths: the repo root and the home folder are hidden."""

    repo: Path
    home: Path

    def scrub(self, text: str) -> str:
        """Absolute paths inside the repo become relative; other home paths become ~/…."""
        for root in {str(self.repo), str(self.repo.resolve())}:
            text = text.replace(root + "/", "").replace(root, ".")
        for home in {str(self.home), str(self.home.resolve())}:
            if home not in ("/", ""):
                text = text.replace(home, "~")
        return text


@dataclass(frozen=True, slots=True)
class OutgoingReport:
    """What redaction changed in one request."""

    findings: tuple[Finding, ...]


def prepare_outgoing(request: ChatRequest, redactor: Redactor, scrubber: Scrubber) -> tuple[ChatRequest, OutgoingReport]:
    """The request with secrets redacted and absolute paths scrubbed from every text it carries."""
    found: list[Finding] = []

    def clean(text: str) -> str:
        redacted, hits = redactor.redact(scrubber.scrub(text))
        found.extend(hits)
        return redacted

    def clean_value(value: Any) -> Any:
        if isinstance(value, str):
            return clean(value)
        if isinstance(value, dict):
            return {k: clean_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean_value(v) for v in value]
        return value

    def clean_message(m: Message) -> Message:
        calls = tuple(ToolCall(c.id, c.name, clean_value(c.arguments)) for c in m.tool_calls)
        return replace(m, content=clean(m.content), tool_calls=calls)

    cleaned = replace(request, system=clean(request.system),
                      messages=tuple(clean_message(m) for m in request.messages))
    return cleaned, OutgoingReport(tuple(found))
