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
# Row data, not code: often large, and its values drown lexical matches.
_DATA_FILES = ("*.csv", "*.tsv", "*.jsonl", "*.ndjson")

DEFAULT_EXCLUDES: tuple[str, ...] = (
    _LOCK_FILES
    + _VENDORED_AND_GENERATED_DIRS
    + _MINIFIED
    + tuple(f"*.{suffix}" for suffix in _BINARY_SUFFIXES)
    + _EDITOR_DEBRIS
    + _DATA_FILES
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

    __slots__ = ("_patterns", "_names", "_suffixes", "_prefixes", "_others", "_other_spec",
                 "_any_suffix", "_any_prefix", "_other_set", "_negations", "_subsets", "_folder_hits")

    def __init__(self, lines: Iterable[str]) -> None:
        patterns, texts = _compile(lines)
        self._patterns = patterns
        self._names: dict[str, list[int]] = {}
        self._suffixes: dict[str, list[int]] = {}
        self._prefixes: dict[str, list[int]] = {}
        self._others: list[int] = []
        self._negations: list[str] = []
        # Specs over the few patterns one path can meet, built on first use.
        self._subsets: dict[tuple[int, ...], GitIgnoreSpec] = {}
        self._folder_hits: dict[str, frozenset[int]] = {}
        for index, text in enumerate(texts):
            body = text.rstrip("\r\n").rstrip(" ")
            if body.startswith("!"):
                body = body[1:]
                self._negations.append(body)
            core = body[:-1] if body.endswith("/") else body
            kind = _simple_kind(core)
            if kind == "name":
                self._names.setdefault(core, []).append(index)
            elif kind == "suffix":
                self._suffixes.setdefault(core[1:], []).append(index)
            elif kind == "prefix":
                self._prefixes.setdefault(core[:-1], []).append(index)
            else:
                self._others.append(index)
        self._any_suffix = tuple(self._suffixes)
        self._any_prefix = tuple(self._prefixes)
        self._other_set = frozenset(self._others)
        others = [patterns[i] for i in self._others]
        self._other_spec = GitIgnoreSpec(others) if others else None

    def verdict(self, path: str, is_dir: bool = False) -> bool | None:
        """True if excluded, False if re-included by a `!` rule, None if no rule matches."""
        key = path + "/" if is_dir else path
        relevant = self._relevant(path, key)
        if not relevant:
            return None
        spec = self._subsets.get(relevant)
        if spec is None:
            spec = GitIgnoreSpec([self._patterns[i] for i in relevant])
            self._subsets[relevant] = spec
        return spec.check_file(key).include

    def excludes(self, path: str, is_dir: bool = False) -> bool:
        """Whether the rules leave this path out."""
        return self.verdict(path, is_dir) is True

    def prunes(self, dir_path: str) -> bool:
        """Whether a walk may skip this folder: excluded, and no `!` rule can reach inside."""
        return self.excludes(dir_path, is_dir=True) and not self._may_reinclude_under(dir_path)

    def _relevant(self, path: str, key: str) -> tuple[int, ...]:
        """Indexes, in order, of every pattern that could match: a superset of those that do."""
        folder, _, name = path.rpartition("/")
        # Paths come grouped by folder, so the folder part is looked at once per folder.
        in_folder = self._folder_hits.get(folder)
        if in_folder is None:
            in_folder = self._hits(folder.split("/")) if folder else frozenset()
            self._folder_hits[folder] = in_folder
        found = in_folder | self._hits((name,))
        if self._other_spec is not None and (found or self._other_spec.check_file(key).include is not None):
            found = found | self._other_set
        return tuple(sorted(found)) if found else ()

    def _hits(self, parts: Iterable[str]) -> frozenset[int]:
        """Patterns whose name, suffix or prefix fits one of these path components."""
        names, suffixes, prefixes = self._names, self._suffixes, self._prefixes
        any_suffix, any_prefix = self._any_suffix, self._any_prefix
        found: set[int] = set()
        for part in parts:
            if part in names:
                found.update(names[part])
            if part.endswith(any_suffix):
                found.update(i for s, idx in suffixes.items() if part.endswith(s) for i in idx)
            if part.startswith(any_prefix):
                found.update(i for p, idx in prefixes.items() if part.startswith(p) for i in idx)
        return frozenset(found)

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
