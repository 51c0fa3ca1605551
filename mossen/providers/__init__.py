"""Model providers: one module per provider, each with a `create(model, options, base_url, env)`.

Provider modules are imported only when chosen: the SDKs behind them cost
seconds of start-up that a `mossen search` should never pay.
"""

from __future__ import annotations

import importlib
from typing import Mapping

from mossen.errors import UsageError
from mossen.providers.base import ModelOptions, Provider

PROVIDER_MODULES = {
    "ollama": "mossen.providers.ollama",
    "openai": "mossen.providers.openai_compat",
    "anthropic": "mossen.providers.anthropic",
    "scripted": "mossen.providers.scripted",  # a fake for tests, named as one
}
EXAMPLES = "ollama:qwen2.5-coder:7b, openai:gpt-4.1, anthropic:claude-sonnet-4-5"


def split_model_name(name: str) -> tuple[str, str]:
    """`ollama:qwen2.5-coder:7b` -> ("ollama", "qwen2.5-coder:7b")."""
    provider, _, model = name.strip().partition(":")
    if not model or provider not in PROVIDER_MODULES:
        known = ", ".join(p for p in PROVIDER_MODULES if p != "scripted")
        raise UsageError(f"model {name!r} is not PROVIDER:MODEL with PROVIDER one of {known} (e.g. {EXAMPLES})")
    return provider, model


def open_provider(name: str, options: ModelOptions, base_url: str | None, env: Mapping[str, str]) -> Provider:
    """The provider for a `provider:model` name; constructing it sends no request."""
    provider, model = split_model_name(name)
    module = importlib.import_module(PROVIDER_MODULES[provider])
    return module.create(model, options, base_url, env)
