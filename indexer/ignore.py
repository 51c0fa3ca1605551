"""Which paths discovery leaves out: default exclusions, credential files, gitignore rule sets.

Rule sets use gitignore syntax with pathspec's `GitIgnoreSpec` semantics: the
last matching pattern wins, and a pattern naming a file beats a pattern naming
one of its folders, so `!vendor/keep.py` re-includes that file even though
`vendor/` excludes its folder.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pathspec import GitIgnoreSpec
from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern

_LOCK_FILES = (
    "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml",
    "poetry.lock", "Cargo.lock", "Gemfile.lock", "composer.lock", "go.sum",
    "uv.lock", "Pipfile.lock", "bun.lockb", "*.lock",
)
_VENDORED_AND_GENERATED_DIRS = (
    "node_modules/", "vendor/", "third_party/", "dist/", "build/", "target/", "out/",
    ".venv/", "venv/", "env/", ".env/", "__pycache__/", ".tox/", ".nox/", ".mypy_cache/",
    ".pytest_cache/", ".ruff_cache/", ".next/", ".nuxt/", "coverage/", ".gradle/",
    ".idea/", ".vscode/", "bower_components/", "site-packages/", ".eggs/",
    "*.egg-info/", ".git/", ".hg/", ".svn/",
)
_MINIFIED = ("*.min.js", "*.min.mjs", "*.min.css", "*.map", "*-min.js", "*.bundle.js")
_BINARY_SUFFIXES = (
    # images
    "png", "jpg", "jpeg", "gif", "bmp", "ico", "icns", "tif", "tiff", "webp", "avif",
    "heic", "psd", "xcf", "svg",
    # archives and packages
    "zip", "tar", "gz", "tgz", "bz2", "xz", "zst", "7z", "rar", "lz4", "lzma", "jar",
    "war", "ear", "whl", "egg", "deb", "rpm", "dmg", "iso", "apk", "ipa",
    # fonts
    "ttf", "otf", "woff", "woff2", "eot",
    # audio and video
    "mp3", "wav", "flac", "ogg", "m4a", "aac", "opus", "mp4", "m4v", "mov", "avi",
    "mkv", "webm", "wmv", "flv",
    # compiled code
    "pyc", "pyo", "pyd", "so", "dylib", "dll", "exe", "o", "a", "obj", "lib", "class",
    "wasm",
    # documents
    "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp", "epub",
    # databases and data
    "sqlite", "sqlite3", "db", "mdb", "parquet", "feather", "arrow", "avro", "npy",
    "npz", "pkl", "pickle", "h5", "hdf5", "joblib",
    # model weights
    "bin", "pt", "pth", "ckpt", "onnx", "safetensors", "gguf", "ggml", "tflite", "pb",
)
_EDITOR_DEBRIS = (".DS_Store", "*.swp", "*.swo")

DEFAULT_EXCLUDES: tuple[str, ...] = (
    _LOCK_FILES
    + _VENDORED_AND_GENERATED_DIRS
    + _MINIFIED
    + tuple(f"*.{suffix}" for suffix in _BINARY_SUFFIXES)
    + _EDITOR_DEBRIS
)
"""Gitignore patterns mossen applies before `settings.exclude` and `.mossenignore`."""

CREDENTIAL_PATTERNS: tuple[str, ...] = (
    ".env", ".env.*", ".envrc", "*.pem", "*.key", "*.p12", "*.pfx", "*.p8", "*.ppk",
    "id_rsa*", "id_dsa*", "id_ecdsa*", "id_ed25519*", ".npmrc", ".netrc", "_netrc",
    ".pypirc", ".pgpass", ".htpasswd", "credentials.json", ".aws/credentials",
    ".docker/config.json", ".dockercfg", ".kube/config", ".ssh/*", "*.keystore",
    "*.jks", "*.kdbx", "secrets.y*ml", ".git-credentials", ".s3cfg", ".boto",
    ".vault-token", "*.tfstate", "*.tfstate.backup",
)
"""Files never read, at any depth, case-insensitively; `!` rules cannot re-include them."""

CREDENTIAL_REASON = "credential file (never read)"


def _glob_to_regex(glob: str) -> str:
    """A `/`-respecting regex for a glob using only `*` and `?`."""
    parts = (
        "[^/]*" if ch == "*" else "[^/]" if ch == "?" else re.escape(ch) for ch in glob
    )
    return "".join(parts)


_CREDENTIAL_RE = re.compile(
    "(?:^|/)(?:" + "|".join(_glob_to_regex(p) for p in CREDENTIAL_PATTERNS) + ")$"
)


def is_credential_path(path: str) -> bool:
    """Whether a repo-relative path names a credential file that must never be read."""
    return _CREDENTIAL_RE.search(path.lower()) is not None


_GLOB_CHARS = frozenset("*?[\\")


def _compile(lines: Iterable[str]) -> tuple[list[GitIgnoreSpecPattern], list[str]]:
    """Compile each line on its own so one malformed line cannot void the rest."""
    patterns: list[GitIgnoreSpecPattern] = []
    texts: list[str] = []
    for line in lines:
        try:
            pattern = GitIgnoreSpecPattern(line)
        except Exception:  # pathspec raises several types for malformed lines
            continue
        if pattern.include is not None:
            patterns.append(pattern)
            texts.append(line)
    return patterns, texts


class RuleSet:
    """Gitignore lines compiled once, with a cheap pre-check in front of pathspec.

    pathspec tries every pattern's regex on every path, which costs ~35 µs a
    path for mossen's ~150 defaults. Most patterns are a bare name, `*suffix`
    or `prefix*`, so a set lookup and two `str.endswith`/`startswith` calls on
    each path component tell whether any pattern *could* match; only then is
    pathspec asked for the exact verdict.
    """

    __slots__ = ("_spec", "_names", "_suffixes", "_prefixes", "_other", "_negations")

    def __init__(self, lines: Iterable[str]) -> None:
        patterns, texts = _compile(lines)
        self._spec = GitIgnoreSpec(patterns)
        names: set[str] = set()
        suffixes: list[str] = []
        prefixes: list[str] = []
        other: list[GitIgnoreSpecPattern] = []
        self._negations: list[str] = []
        for pattern, text in zip(patterns, texts):
            body = text.rstrip("\r\n").rstrip(" ")
            if body.startswith("!"):
                body = body[1:]
                self._negations.append(body)
            core = body[:-1] if body.endswith("/") else body
            kind = _simple_kind(core)
            if kind == "name":
                names.add(core)
            elif kind == "suffix":
                suffixes.append(core[1:])
            elif kind == "prefix":
                prefixes.append(core[:-1])
            else:
                other.append(pattern)
        self._names = frozenset(names)
        self._suffixes = tuple(suffixes)
        self._prefixes = tuple(prefixes)
        self._other = GitIgnoreSpec(other) if other else None

    def verdict(self, path: str, is_dir: bool = False) -> bool | None:
        """True if excluded, False if re-included by a `!` rule, None if no rule matches."""
        key = path + "/" if is_dir else path
        if not self._may_match(path, key):
            return None
        return self._spec.check_file(key).include

    def excludes(self, path: str, is_dir: bool = False) -> bool:
        """Whether the rules leave this path out."""
        return self.verdict(path, is_dir) is True

    def prunes(self, dir_path: str) -> bool:
        """Whether a walk may skip this folder: excluded, and no `!` rule can reach inside."""
        return self.excludes(dir_path, is_dir=True) and not self._may_reinclude_under(dir_path)

    def _may_match(self, path: str, key: str) -> bool:
        names, suffixes, prefixes = self._names, self._suffixes, self._prefixes
        for part in path.split("/"):
            if part in names or part.endswith(suffixes) or part.startswith(prefixes):
                return True
        return self._other is not None and self._other.check_file(key).include is not None

    def _may_reinclude_under(self, dir_path: str) -> bool:
        inside = dir_path + "/"
        for body in self._negations:
            anchored = body.lstrip("/")
            if "/" not in body.rstrip("/"):
                return True  # an unanchored pattern can match at any depth
            literal = re.split(r"[*?\[\\]", anchored, maxsplit=1)[0]
            if literal.startswith(inside) or inside.startswith(literal):
                return True
        return False


def _simple_kind(core: str) -> str:
    """Classify an unanchored pattern as name, *suffix or prefix*; anything else is "other"."""
    if not core or "/" in core or any(ch.isspace() for ch in core):
        return "other"
    if not _GLOB_CHARS.intersection(core):
        return "name"
    if core[0] == "*" and len(core) > 1 and not _GLOB_CHARS.intersection(core[1:]):
        return "suffix"
    if core[-1] == "*" and len(core) > 1 and not _GLOB_CHARS.intersection(core[:-1]):
        return "prefix"
    return "other"
