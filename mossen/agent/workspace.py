"""The repository as the only place the file tools may touch.

Every path is resolved when it is used, symbolic links included: an absolute
path, a `..` part, or anything that resolves outside the repository's real
path (a link pointing out, `/repo-evil` beside `/repo`) is refused. Credential
files, mossen's own config and git's internals resolve fine but are
*protected*: only a permission rule naming them opens them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterable

from indexer.ignore import is_credential_path
from mossen.agent.records import ToolRefused

MOSSEN_CONFIG_NAMES = frozenset({".mossen.toml"})


@dataclass(frozen=True, slots=True)
class Target:
    """A path inside the repository, resolved now."""

    path: Path  # absolute, symlinks resolved
    rel: str  # repo-relative with "/", "." for the root
    protected: str | None  # why only an explicit rule may open it, or None


class Workspace:
    """Resolves tool paths inside one repository."""

    def __init__(self, root: Path, protected_files: Iterable[Path] = ()) -> None:
        self.root = Path(os.path.realpath(root))
        # The repo's config may be a link: the file it points to is the config too.
        config_links = [self.root / name for name in MOSSEN_CONFIG_NAMES]
        self._protected_files = {Path(os.path.realpath(p)) for p in (*protected_files, *config_links)}

    def target(self, path: str) -> Target:
        """Resolve a path a tool was given; ToolRefused when it is not inside the repository."""
        if not isinstance(path, str) or not path.strip() or "\0" in path:
            raise ToolRefused("a path relative to the repository root is required")
        given = PurePosixPath(path.strip())
        if given.is_absolute() or path.startswith("~"):
            raise ToolRefused(f"{path}: absolute paths are refused; give a path relative to the repository root")
        if ".." in given.parts:
            raise ToolRefused(f"{path}: `..` is refused; paths must stay inside the repository")
        resolved = Path(os.path.realpath(self.root / given))
        if resolved != self.root and self.root not in resolved.parents:
            raise ToolRefused(f"{path}: resolves to a place outside the repository (a symbolic link?)")
        rel = resolved.relative_to(self.root).as_posix() or "."
        return Target(resolved, rel, self._protection(given.as_posix(), rel, resolved))

    def relative(self, path: Path) -> str:
        """The repo-relative form of an absolute path inside the repository."""
        return path.relative_to(self.root).as_posix() or "."

    def is_protected(self, rel: str) -> bool:
        """Whether an indexed repo-relative path is one only an explicit rule opens (search results skip it)."""
        return self._protection(rel, rel, Path(os.path.realpath(self.root / rel))) is not None

    def _protection(self, given: str, rel: str, resolved: Path) -> str | None:
        for name in (given, rel):
            if is_credential_path(name):
                return "a credential file"
            first = name.split("/", 1)[0]
            if first == ".git":
                return "git's internal data"
        if resolved in self._protected_files or PurePosixPath(rel).name in MOSSEN_CONFIG_NAMES:
            return "mossen's own configuration"
        return None
