"""Who decides whether a tool call runs: the mode, then allow / ask / deny rules (deny > ask > allow).

Modes:
    ask           (default) reads run; every edit and every command asks
    accept-edits  reads and edits run; commands ask
    read-only     reads run; edits and commands are refused (plan without changing anything)
    auto          everything runs except what a rule denies or asks for (explicit flag only)

Rules, in config (`[permissions] allow/ask/deny`): `TOOL` or `TOOL(PATTERN)`, TOOL a
tool name or `*`. For run_command, PATTERN is matched against each simple command
(`*` matches anything): `run_command(pytest *)`, `run_command(git status)`. For
file tools it is a gitignore-style pattern on the repo-relative path:
`edit_file(src/**)`, `read_file(.env.example)`.

A compound command (`;`, `&&`, `||`, `|`, `&`, newlines) runs without asking
only if every part matches an allow rule; command substitution (`$(…)`,
backticks) and redirections always ask, and so do pipes into a shell
interpreter, `sudo` and the like, even in auto mode. A protected path (credential
file, mossen's config, .git) is refused unless an allow rule names it with a
pattern free of wildcards (`read_file(.env.example)`; `read_file(*)` does not).
"""

from __future__ import annotations

import fnmatch
import re
import shlex
from dataclasses import dataclass
from typing import Literal, Sequence

from pathspec import GitIgnoreSpec

from mossen.agent.records import Action
from mossen.errors import ConfigError

Mode = Literal["ask", "accept-edits", "read-only", "auto"]
MODES: tuple[Mode, ...] = ("ask", "accept-edits", "read-only", "auto")
Decision = Literal["allow", "ask", "refuse"]

_OPERATORS = frozenset({";", "&&", "||", "|", "&", "|&", ";;"})
_REDIRECTS = re.compile(r"^[0-9]*(>>?|<<?<?|>&|<&|&>>?)$")
_SUBSTITUTION = re.compile(r"\$\(|`|<\(|>\(")
# Always asked for, whatever the mode: running what came over the network, or as root.
# A program may be named by its path (`| /bin/sh`) or behind a wrapper (`| env bash`); root
# is a word anywhere, so leading blanks, newlines and subshells do not hide it.
_DANGEROUS = (
    re.compile(r"\|\s*(?:(?:\S*/)?(?:sudo|env|exec|command|nohup|xargs)\s+)*(?:\S*/)?"
               r"(?:(?:ba|z|k|c|tc|da|fi)?sh|python[0-9.]*|perl|ruby|node|php)\b"),
    re.compile(r"(?:^|[\s;&|(`])(?:\S*/)?(?:sudo|su|doas|pkexec)(?=$|[\s;&|)])"),
    re.compile(r"\brm\s+(-[a-zA-Z]*[rf][a-zA-Z]*\s+)+(/|~|\$HOME)(\s|$)"),
)
_PUNCTUATION = frozenset("();<>|&")


@dataclass(frozen=True, slots=True)
class Rule:
    """One allow/ask/deny rule."""

    tool: str
    pattern: str | None
    text: str

    @classmethod
    def parse(cls, text: str) -> "Rule":
        """`TOOL` or `TOOL(PATTERN)`; ConfigError when malformed."""
        match = re.fullmatch(r"\s*([A-Za-z_*][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*", text, re.DOTALL)
        if match is None or (match.group(2) is not None and not match.group(2).strip()):
            raise ConfigError(f"permission rule {text!r} is not TOOL or TOOL(PATTERN)")
        return cls(match.group(1), match.group(2).strip() if match.group(2) else None, text.strip())

    def names(self, tool: str) -> bool:
        """Whether the rule is about this tool."""
        return self.tool in ("*", tool)

    def matches_command(self, part: str) -> bool:
        """A simple command against the pattern (`*` matches anything, spaces included).

        A trailing ` *` also matches the bare command: `pytest *` allows `pytest`.
        """
        if self.pattern is None or part == self.pattern or fnmatch.fnmatchcase(part, self.pattern):
            return True
        return self.pattern.endswith(" *") and part == self.pattern[:-2].rstrip()

    def names_path(self, rel: str) -> bool:
        """Whether the pattern spells out this path, no wildcard: what opens a protected file."""
        return self.pattern is not None and not any(c in self.pattern for c in "*?[") and self.matches_path(rel)

    def matches_path(self, rel: str) -> bool:
        """A repo-relative path against the gitignore-style pattern."""
        return self.pattern is None or GitIgnoreSpec.from_lines([self.pattern]).match_file(rel)


@dataclass(frozen=True, slots=True)
class ShellParts:
    """A shell command split at its operators."""

    parts: tuple[str, ...]
    opaque: str | None  # why the parts cannot be trusted to be all it runs (substitution, redirection)


def split_command(command: str) -> ShellParts:
    """The simple commands of a shell command line; `opaque` says when splitting is not enough."""
    if _SUBSTITUTION.search(command):
        return ShellParts((command.strip(),), "it uses command substitution")
    lexer = shlex.shlex(command.replace("\n", " ; "), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = ""  # shlex starts a comment at `#` inside a word (`x#; rm`), sh does not
    parts: list[list[str]] = [[]]
    opaque = None
    try:
        for token in lexer:
            if token in _OPERATORS:
                parts.append([])
            elif _REDIRECTS.match(token):
                opaque = "it redirects input or output"
                parts[-1].append(token)
            elif token and set(token) <= _PUNCTUATION:  # `>|`, `<>`, `(`: syntax the split does not follow
                opaque = f"it uses shell syntax ({token}) that is not checked part by part"
                parts[-1].append(token)
            else:
                parts[-1].append(token)
    except ValueError as exc:
        return ShellParts((command.strip(),), f"it cannot be parsed ({exc})")
    simple = tuple(shlex.join(p) for p in parts if p)
    return ShellParts(simple, opaque)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a call runs, asks, or is refused, and why (shown to the user and the model)."""

    decision: Decision
    reason: str


class Permissions:
    """The mode and the rules; `decide` is the whole policy."""

    def __init__(self, mode: Mode = "ask", allow: Sequence[str] = (), ask: Sequence[str] = (),
                 deny: Sequence[str] = ()) -> None:
        if mode not in MODES:
            raise ConfigError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
        self.mode: Mode = mode
        self.allow = tuple(Rule.parse(r) for r in allow)
        self.ask = tuple(Rule.parse(r) for r in ask)
        self.deny = tuple(Rule.parse(r) for r in deny)

    def with_mode(self, mode: Mode) -> "Permissions":
        """The same rules under another mode."""
        return Permissions(mode, [r.text for r in self.allow], [r.text for r in self.ask],
                           [r.text for r in self.deny])

    def decide(self, action: Action) -> Verdict:
        """deny > protected > read-only > ask > allow > the mode's default."""
        shell = split_command(action.command) if action.command is not None else None
        if rule := self._matching(self.deny, action, shell):
            return Verdict("refuse", f"denied by the rule {rule.text}")
        for path in action.protected:
            if not any(r.names(action.tool) and r.names_path(path) for r in self.allow):
                return Verdict("refuse", f"{path} is protected; only an allow rule naming it opens it")
        if self.mode == "read-only" and action.effect != "read":
            return Verdict("refuse", "read-only mode: nothing is changed or run")
        if rule := self._matching(self.ask, action, shell):
            return Verdict("ask", f"the rule {rule.text} asks")
        if action.effect == "read":
            return Verdict("allow", "reading is allowed")
        if shell is not None:
            return self._decide_command(action, shell)
        if self._all_allowed(self.allow, action, None):
            return Verdict("allow", "allowed by a rule")
        if self.mode in ("accept-edits", "auto"):
            return Verdict("allow", f"{self.mode} mode")
        return Verdict("ask", "edits ask in ask mode")

    def _decide_command(self, action: Action, shell: ShellParts) -> Verdict:
        command = action.command or ""
        if any(p.search(command) for p in _DANGEROUS):
            return Verdict("ask", "it pipes into an interpreter or runs as another user")
        if shell.opaque:
            return Verdict("allow", "auto mode") if self.mode == "auto" else Verdict("ask", shell.opaque)
        if self._all_allowed(self.allow, action, shell):
            return Verdict("allow", "every part is allowed by a rule")
        if self.mode == "auto":
            return Verdict("allow", "auto mode")
        return Verdict("ask", "commands ask unless every part matches an allow rule")

    @staticmethod
    def _matching(rules: Sequence[Rule], action: Action, shell: ShellParts | None) -> Rule | None:
        """The first rule about this tool that matches any part of the command, or any path."""
        items = shell.parts if shell is not None else action.paths
        for rule in rules:
            if rule.names(action.tool) and (rule.pattern is None or any(_match(rule, i, shell) for i in items)):
                return rule
        return None

    @staticmethod
    def _all_allowed(rules: Sequence[Rule], action: Action, shell: ShellParts | None) -> bool:
        """Whether every part of the command (or every path) is matched by some allow rule."""
        items = shell.parts if shell is not None else action.paths
        mine = [r for r in rules if r.names(action.tool)]
        if any(r.pattern is None for r in mine):
            return True
        return bool(items) and all(any(_match(r, i, shell) for r in mine) for i in items)


def _match(rule: Rule, item: str, shell: ShellParts | None) -> bool:
    return rule.matches_command(item) if shell is not None else rule.matches_path(item)
