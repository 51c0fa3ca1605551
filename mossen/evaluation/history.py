"""The history suite: commit subject lines as queries, the code they changed as gold.

Selection, applied to `git log HEAD` newest first (rename detection on):

- non-merge commits with a parent, not written by a bot (author name or email
  naming dependabot, renovate, pre-commit-ci, github-actions, `[bot]`, …);
- a subject of 4+ words that is a real description: not a revert, release or
  version bump, formatting/lint/style, typo/spelling, docs, CI/build, dependency
  bump, WIP/fixup or merge message (`SKIP_SUBJECT`; conventional-commit types
  `docs:`, `style:`, `ci:`, `build:`, `chore:`, `release:` are skipped too);
- its source files (code mossen chunks by syntax, tests, docs and examples
  excluded: `symbols.is_source_path`) number 1–3, every one MODIFIED (status M:
  a commit that adds, deletes or renames a source file is skipped), and every
  one still exists at HEAD.

Query = the subject line; gold_files = those files; gold_symbols = the
functions and methods holding the commit's changed lines (new-side lines of
`git diff -U0 parent commit`, found in the file as of that commit), mapped by
qualified name to HEAD's version of the file for today's line range. Symbols
gone by HEAD are dropped. A commit whose changed lines lie in no function keeps
file-level gold only. The first `max_cases` qualifying commits are kept.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mossen.evaluation.cases import Case, GoldSymbol
from mossen.evaluation.symbols import Symbol, SymbolFinder, innermost_callable, is_source_path

_BOTS = re.compile(
    r"\[bot\]|dependabot|renovate|pre-commit-ci|github-actions|greenkeeper|snyk|"
    r"allcontributors|weblate|imgbot|mergify|semantic-release", re.I,
)
SKIP_SUBJECT = re.compile(
    r"""^(revert|reapply|wip|fixup!|squash!|amend!)\b | ^merge\s+(pull\s+request|branch|remote|tag)\b
      | ^(docs?|style|ci|build|chore|release|deps)(\([^)]*\))?!?:
      | ^(release|releasing|prepare|preparing)\b.*(\d|\brelease\b) | \brelease\s+v?\d | ^v?\d+(\.\d+)+
      | \bbump(ed|s|ing)?\b | \b(new|update|set|increment)\s+version\b | \bversion\s+(to\s+)?v?\d | \bchangelog\b
      | \breformat(ted|ting)?\b | \bformatt(ed|ing)\b | ^format\b | \bcode\s+style\b | ^style\b | \bwhitespace\b
      | \b(black|isort|prettier|ruff|flake8|pylint|mypy|eslint|gofmt|rustfmt|clippy|pre-commit)\b
      | \blint(s|ing|er)?\b | \bpep\s?8\b
      | \btypos?\b | \bspell(ing|ed)?\b | \bmisspel
      | ^docs?\b | \bdocumentation\b | \breadme\b | \bdocstrings?\b
      | ^(fix|update|improve|clarify|add)\s+(code\s+|a\s+|the\s+)?comments?\b
      | \bci\b | \bgithub\s+actions?\b | \btravis\b | \bappveyor\b | \btox\b | \bcodecov\b
      | \b(dependenc(y|ies)|requirements(\.txt)?|deps)\b | \b(upgrade|update)\s+\S+\s+to\s+v?\d
    """,
    re.I | re.X,
)
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", re.M)
MIN_WORDS = 4
MAX_FILES = 3


@dataclass(frozen=True, slots=True)
class Commit:
    """One commit of `git log`: sha, first parent, author, subject, and (status, path) changes."""

    sha: str
    parent: str | None
    author: str
    subject: str
    changes: tuple[tuple[str, str], ...]


def history_cases(repo: Path, *, max_cases: int = 300) -> list[Case]:
    """History-suite cases of a git work tree, newest commit first (selection: module docstring).

    For a folder inside a repository, only commits whose source files all lie in
    it count, and paths are relative to it.
    """
    repo = Path(repo)
    sub = _git(repo, "rev-parse", "--show-prefix").strip()  # "" at the top, "pkg/" in a subfolder
    top = Path(_git(repo, "rev-parse", "--show-toplevel").strip())
    head_files = set(_git(top, "ls-tree", "-r", "--name-only", "HEAD").splitlines())
    finder = SymbolFinder()
    today: dict[str, list[Symbol]] = {}
    cases: list[Case] = []
    name = repo.resolve().name
    for commit in read_log(top):
        if len(cases) >= max_cases:
            break
        files = gold_files(commit, head_files)
        if files is None or not all(path.startswith(sub) for path in files):
            continue
        symbols = []
        for path in files:
            if path not in today:
                today[path] = finder.symbols(path, _git(top, "show", f"HEAD:{path}"))
            symbols.extend(_changed_symbols(top, finder, commit, path, today[path]))
        cases.append(Case(
            id=f"{name}-history-{len(cases) + 1:04d}", query=commit.subject,
            gold_files=tuple(path[len(sub):] for path in files),
            gold_symbols=tuple(dataclasses.replace(s, path=s.path[len(sub):]) for s in symbols),
            source="history", meta={"commit": commit.sha, "repo": name},
        ))
    return cases


def read_log(repo: Path) -> list[Commit]:
    """Non-merge commits reachable from HEAD, newest first, with their file changes."""
    out = _git(repo, "log", "--no-merges", "-M", "--name-status", "--no-color",
               "--format=%x1e%H%x1f%P%x1f%an <%ae>%x1f%s", "HEAD")
    commits = []
    for record in out.split("\x1e")[1:]:
        head, _, body = record.partition("\n")
        sha, parents, author, subject = head.split("\x1f", 3)
        changes = []
        for line in body.splitlines():
            fields = line.split("\t")
            if len(fields) >= 2:
                changes.append((fields[0][:1], fields[-1]))
        parent = parents.split()[0] if parents.split() else None
        commits.append(Commit(sha, parent, author, subject.strip(), tuple(changes)))
    return commits


def is_description(commit: Commit) -> bool:
    """Whether a commit's subject is a real description by a person (see the module docstring)."""
    if commit.parent is None or _BOTS.search(commit.author):
        return False
    return len(commit.subject.split()) >= MIN_WORDS and not SKIP_SUBJECT.search(commit.subject)


def gold_files(commit: Commit, head_files: set[str]) -> list[str] | None:
    """The commit's 1–3 modified source files still at HEAD, or None when it does not qualify."""
    if not is_description(commit):
        return None
    source = [(status, path) for status, path in commit.changes if is_source_path(path)]
    if not 1 <= len(source) <= MAX_FILES or any(status != "M" for status, _ in source):
        return None
    paths = sorted(path for _, path in source)
    return paths if all(path in head_files for path in paths) else None


def changed_lines(diff: str) -> list[tuple[int, int]]:
    """New-side (first, count) of each `-U0` hunk; count 0 is a deletion after line `first`."""
    return [(int(m.group(1)), int(m.group(2) or "1")) for m in _HUNK.finditer(diff)]


def _changed_symbols(
    repo: Path, finder: SymbolFinder, commit: Commit, path: str, today: list[Symbol]
) -> list[GoldSymbol]:
    """Today's functions/methods, by qualified name, that the commit changed in `path`."""
    diff = _git(repo, "diff", "--no-color", "--no-ext-diff", "-U0", str(commit.parent), commit.sha, "--", path)
    then = finder.symbols(path, _git(repo, "show", f"{commit.sha}:{path}"))
    names: list[str] = []
    for first, count in changed_lines(diff):
        for symbol in _touched(then, first, count):
            if symbol.name not in names:
                names.append(symbol.name)
    now = {}
    for symbol in today:
        now.setdefault(symbol.name, symbol)  # same-named overloads: the first stands for all
    return [GoldSymbol(path, n, now[n].start_line, now[n].end_line) for n in names if n in now]


def _touched(symbols: list[Symbol], first: int, count: int) -> list[Symbol]:
    """Innermost callables holding changed lines; a deletion counts when inside one callable."""
    if count == 0:
        before, after = innermost_callable(symbols, first), innermost_callable(symbols, first + 1)
        return [before] if before is not None and before == after else []
    found = (innermost_callable(symbols, line) for line in range(first, first + count))
    return list(dict.fromkeys(s for s in found if s is not None))


def _git(repo: Path, *args: str) -> str:
    """Output of one git command in `repo` (raises CalledProcessError on failure)."""
    result = subprocess.run(
        ["git", "-c", "core.quotePath=off", *args], cwd=repo, check=True,
        capture_output=True, text=True, encoding="utf-8", errors="replace",
    )
    return result.stdout
