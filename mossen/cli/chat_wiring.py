"""Wiring `mossen chat`: config to provider, tools, permissions, retrieval, memory and session."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from mossen.agent.conversation import Conversation, SessionRecorder
from mossen.agent.journal import EditJournal
from mossen.agent.loop import Agent, AgentSetup, Approver, Limits, Prices, Watcher
from mossen.agent.memory import project_memory
from mossen.agent.permissions import Mode, Permissions
from mossen.agent.retrieval import PinnedFiles, RepoIndex, RetrievedContext
from mossen.agent.session import Session, SessionStore, default_sessions_root
from mossen.agent.tools import ToolBox
from mossen.agent.tools.files import EditFile, Glob, Grep, ListFiles, ReadFile, WriteFile
from mossen.agent.tools.search import SearchCode
from mossen.agent.tools.shell import RunCommand
from mossen.agent.workspace import Workspace
from mossen.ask import ProviderCounter
from mossen.cli.models import open_model, outgoing_request
from mossen.config import Config, user_config_path
from mossen.privacy import Redactor
from mossen.prompts import load_prompt
from mossen.providers.base import ChatRequest, Provider
from mossen.providers.locality import is_local_endpoint

# USD per million tokens (input, output) of well-known paid models, by name prefix; config overrides.
KNOWN_PRICES = (("anthropic:claude-opus", (15.0, 75.0)), ("anthropic:claude-sonnet", (3.0, 15.0)),
                ("anthropic:claude-haiku", (1.0, 5.0)), ("openai:gpt-4.1-mini", (0.4, 1.6)),
                ("openai:gpt-4.1", (2.0, 8.0)), ("openai:gpt-4o", (2.5, 10.0)), ("openai:gpt-5", (1.25, 10.0)))


@dataclass
class Chat:
    """Everything a chat needs, wired."""

    conversation: Conversation
    provider: Provider
    permissions: Permissions
    workspace: Workspace
    pinned: PinnedFiles
    context: RetrievedContext
    store: SessionStore


def sessions_for(config: Config, repo: Path) -> SessionStore:
    """The session store of `repo`."""
    root = config.get("chat.sessions_dir") or default_sessions_root()
    return SessionStore(root, config.index_settings().index_dir(repo).name)


def prices_for(provider: Provider, config: Config) -> Prices:
    """Configured prices, else known ones; a local model costs nothing."""
    if is_local_endpoint(provider.endpoint):
        return Prices()
    options = config.model_options(provider.name)
    known = next((p for prefix, p in KNOWN_PRICES if provider.name.startswith(prefix)), (0.0, 0.0))
    return Prices(options.price_input if options.price_input is not None else known[0],
                  options.price_output if options.price_output is not None else known[1])


def build_chat(repo: Path, config: Config, mode: Mode, approver: Approver, watcher: Watcher, session: Session,
               err: Console, keep: "Chat | None" = None) -> Chat:
    """The conversation for `session`, with every part chosen from config.

    `keep`: a chat being rebuilt (/model, /resume) whose pinned files and undo stack carry over.
    """
    provider = open_model(config, repo)
    counter = ProviderCounter(provider)
    workspace = Workspace(repo, protected_files=(user_config_path(os.environ),))
    index = RepoIndex(repo, config.index_settings(), workspace)
    journal = keep.conversation.journal if keep is not None else EditJournal(workspace.root)
    tools = ToolBox([
        SearchCode(index.search), Grep(workspace, index.files), ReadFile(workspace),
        ListFiles(workspace, index.files), Glob(index.files), EditFile(workspace, journal),
        WriteFile(workspace, journal), RunCommand(workspace.root, os.environ, config.get("chat.command_timeout")),
    ])
    permissions = Permissions(mode, config.get("permissions.allow"), config.get("permissions.ask"),
                              config.get("permissions.deny"))
    pinned = keep.pinned if keep is not None else PinnedFiles()
    context = RetrievedContext(index, workspace, counter, pinned)
    memory = project_memory(repo, counter, config.get("chat.memory_budget"))
    system = load_prompt("chat.md") + (f"\n# Project notes (from the repository)\n\n{memory}\n" if memory else "")
    redactor = Redactor()

    def outgoing(request: ChatRequest) -> ChatRequest:
        return outgoing_request(provider, request, repo, err, redactor)

    options = config.model_options(provider.name)
    setup = AgentSetup(
        provider=provider, tools=tools, permissions=permissions, approver=approver, system=system,
        counter=counter, context=context, watcher=SessionRecorder(session, watcher),
        limits=Limits(config.get("chat.max_steps"), config.get("chat.max_seconds"), config.get("chat.max_cost")),
        prices=prices_for(provider, config), text_tools=options.tools == "text",
        code_budget=config.get("ask.budget"), temperature=options.temperature, outgoing=outgoing,
        after_edit=index.changed,
    )
    conversation = Conversation(Agent(setup), session, context, journal)
    return Chat(conversation, provider, permissions, workspace, pinned, context, sessions_for(config, repo))
