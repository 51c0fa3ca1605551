"""Configuration, with one precedence rule stated once:

    command-line flag > MOSSEN_* environment > the repo's .mossen.toml
    > the user's config file > defaults

Every key lives in a section; its environment variable is
MOSSEN_<SECTION>_<KEY> (e.g. `index.dir` <- MOSSEN_INDEX_DIR). The user's file is
$XDG_CONFIG_HOME/mossen/config.toml (or MOSSEN_CONFIG). `.mossen.toml.example`
documents every key; a test keeps it in step with KEYS below.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from indexer import IndexSettings, default_index_root
from mossen.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Key:
    """One configuration key: its parser and default."""

    parse: Callable[[Any], Any]
    default: Any
    help: str


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected a whole number")
    return int(value)


def _size(value: Any) -> int:
    """Bytes from an int or a string like "512KiB", "1MiB", "2MB"."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip().lower().replace(" ", "")
    for unit, factor in (("kib", 1024), ("mib", 1024**2), ("gib", 1024**3), ("kb", 1000), ("mb", 1000**2),
                         ("gb", 1000**3), ("b", 1)):
        if text.endswith(unit):
            return int(float(text[: -len(unit)]) * factor)
    return int(text)


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(p.strip() for p in value.split(",") if p.strip())
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ValueError("expected a list of strings")


def _path(value: Any) -> Path:
    return Path(str(value)).expanduser()


KEYS: dict[str, Key] = {
    "index.dir": Key(_path, None, "folder holding every repository's index (default $XDG_DATA_HOME/mossen/indexes)"),
    "index.max_file_size": Key(_size, 1024**2, "files larger than this are skipped (bytes or \"1MiB\")"),
    "index.exclude": Key(_strings, (), "extra gitignore-style patterns to leave out"),
    "index.batch_size": Key(_int, 32, "texts per embedding batch"),
    "index.lock_timeout": Key(float, 10.0, "seconds a second indexer waits for the lock before giving up"),
    "search.top_k": Key(_int, 10, "results shown by `mossen search`"),
}


def _user_config_path(env: Mapping[str, str]) -> Path:
    if env.get("MOSSEN_CONFIG"):
        return Path(env["MOSSEN_CONFIG"]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "mossen" / "config.toml"


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    flat: dict[str, Any] = {}
    for section, values in data.items():
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: `{section}` must be a [section] table")
        for key, value in values.items():
            name = f"{section}.{key}"
            if name not in KEYS:
                raise ConfigError(f"{path}: unknown key `{name}` (see .mossen.toml.example)")
            flat[name] = (value, str(path))
    return flat


@dataclass(frozen=True, slots=True)
class Config:
    """Resolved configuration values, with where each came from."""

    values: dict[str, Any]
    sources: dict[str, str]

    def get(self, name: str) -> Any:
        """The value of a key (defaults included)."""
        return self.values[name]

    def index_settings(self) -> IndexSettings:
        """The indexer's settings from this configuration."""
        return IndexSettings(
            index_root=self.values["index.dir"] or default_index_root(),
            max_file_bytes=self.values["index.max_file_size"],
            exclude=self.values["index.exclude"],
            embed_batch_size=self.values["index.batch_size"],
            lock_timeout=self.values["index.lock_timeout"],
        )


def load_config(repo: Path | None, flags: Mapping[str, Any] | None = None,
                env: Mapping[str, str] | None = None) -> Config:
    """Merge defaults < user file < repo .mossen.toml < MOSSEN_* env < flags."""
    env = os.environ if env is None else env
    layers: list[dict[str, tuple[Any, str]]] = [
        {name: (key.default, "default") for name, key in KEYS.items()},
        _read_toml(_user_config_path(env)),
        _read_toml(repo / ".mossen.toml") if repo else {},
        {n: (env[v], f"${v}") for n in KEYS if (v := "MOSSEN_" + n.replace(".", "_").upper()) in env},
        {n: (v, "command line") for n, v in (flags or {}).items() if v is not None},
    ]
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for layer in layers:
        for name, (raw, source) in layer.items():
            try:
                values[name] = KEYS[name].parse(raw) if raw is not None else None
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"{name} = {raw!r} from {source}: {exc}") from exc
            sources[name] = source
    return Config(values, sources)
