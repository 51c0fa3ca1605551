"""Choosing and guarding the model: config to provider, the local-only rule, and what goes out."""

from __future__ import annotations

import os
from pathlib import Path

from rich.console import Console

from mossen.config import Config
from mossen.privacy import Redactor, Scrubber, prepare_outgoing, require_local
from mossen.providers import open_provider, split_model_name
from mossen.providers.base import ChatRequest, Provider
from mossen.providers.locality import is_local_endpoint

BASE_URL_KEYS = {"ollama": "ollama.host", "openai": "openai.base_url", "anthropic": "anthropic.base_url"}


def open_model(config: Config, repo: Path) -> Provider:
    """The configured model's provider, refused before any request if privacy forbids its endpoint."""
    name = config.get("model")
    kind, _ = split_model_name(name)
    base_url = config.get(BASE_URL_KEYS[kind]) if kind in BASE_URL_KEYS else None
    provider = open_provider(name, config.model_options(name), base_url, os.environ)
    require_local(provider.endpoint, config.get("privacy"), f"the model {name}")
    return provider


def outgoing_request(provider: Provider, request: ChatRequest, repo: Path, err: Console,
                     redactor: Redactor | None = None) -> ChatRequest:
    """The request as it may leave the machine: for a remote model, secrets redacted and paths scrubbed."""
    if is_local_endpoint(provider.endpoint):
        return request
    cleaned, report = prepare_outgoing(request, redactor or Redactor(), Scrubber(repo.resolve(), Path.home()))
    if report.findings:
        kinds = sorted({f.kind for f in report.findings})
        err.print(f"[yellow]redacted {len(report.findings)} secret(s) before sending: {', '.join(kinds)}[/]")
    return cleaned
