"""Prompt texts, kept as data files beside this module."""

from __future__ import annotations

from importlib.resources import files


def load_prompt(name: str) -> str:
    """The text of `mossen/prompts/NAME`."""
    return files(__name__).joinpath(name).read_text(encoding="utf-8")
