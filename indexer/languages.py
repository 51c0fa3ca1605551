"""Which language a file is, by its name: one table, used by discovery and chunking."""

from __future__ import annotations

from pathlib import PurePosixPath

# language -> file suffixes (lower case). Languages with a tree-sitter grammar
# are chunked by syntax; the rest by line windows.
_SUFFIXES: dict[str, tuple[str, ...]] = {
    "python": (".py", ".pyi", ".pyw"),
    "javascript": (".js", ".mjs", ".cjs", ".jsx"),
    "typescript": (".ts", ".mts", ".cts"),
    "tsx": (".tsx",),
    "go": (".go",),
    "rust": (".rs",),
    "java": (".java",),
    "c": (".c", ".h"),
    "cpp": (".cc", ".cpp", ".cxx", ".c++", ".hh", ".hpp", ".hxx", ".h++", ".ipp"),
    "csharp": (".cs",),
    "ruby": (".rb", ".rake", ".gemspec"),
    "php": (".php",),
    "kotlin": (".kt", ".kts"),
    "swift": (".swift",),
    "scala": (".scala", ".sc"),
    "bash": (".sh", ".bash", ".zsh"),
    "markdown": (".md", ".markdown", ".mdx"),
    # Indexed as text, chunked by line windows.
    "rst": (".rst",),
    "text": (".txt",),
    "toml": (".toml",),
    "yaml": (".yaml", ".yml"),
    "json": (".json",),
    "html": (".html", ".htm"),
    "css": (".css", ".scss", ".less"),
    "sql": (".sql",),
    "lua": (".lua",),
    "perl": (".pl", ".pm"),
    "r": (".r",),
    "dart": (".dart",),
    "elixir": (".ex", ".exs"),
    "haskell": (".hs",),
    "ocaml": (".ml", ".mli"),
    "zig": (".zig",),
    "vue": (".vue",),
    "svelte": (".svelte",),
    "proto": (".proto",),
    "cmake": (".cmake",),
    "dockerfile": (".dockerfile",),
    "make": (".mk",),
    "ini": (".ini", ".cfg"),
}

_NAMES: dict[str, str] = {
    "Makefile": "make",
    "GNUmakefile": "make",
    "Dockerfile": "dockerfile",
    "CMakeLists.txt": "cmake",
    "Rakefile": "ruby",
    "Gemfile": "ruby",
    "Jenkinsfile": "groovy",
}

_BY_SUFFIX: dict[str, str] = {s: lang for lang, sfx in _SUFFIXES.items() for s in sfx}

# Languages chunked by syntax with a tree-sitter grammar (see chunking/).
SYNTAX_LANGUAGES: frozenset[str] = frozenset(
    {
        "python", "javascript", "typescript", "tsx", "go", "rust", "java", "c", "cpp",
        "csharp", "ruby", "php", "kotlin", "swift", "scala", "bash",
    }
)


def language_for_path(path: str) -> str | None:
    """The language of a repo-relative path, or None when it is not a known text kind."""
    p = PurePosixPath(path)
    if p.name in _NAMES:
        return _NAMES[p.name]
    return _BY_SUFFIX.get(p.suffix.lower())


def all_languages() -> list[str]:
    """Every language name mossen knows, sorted."""
    return sorted(set(_SUFFIXES) | set(_NAMES.values()))
