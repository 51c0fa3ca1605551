"""Configuration, with one precedence rule stated once:

    command-line flag > MOSSEN_* environment > the repo's .mossen.toml
    > the user's config file > defaults

A key is top-level (`model`, `privacy`) or lives in a section (`index.dir`); its
environment variable is MOSSEN_<SECTION>_<KEY> (`index.dir` <- MOSSEN_INDEX_DIR,
`model` <- MOSSEN_MODEL). Per-model options live in `[models."PROVIDER:MODEL"]`
tables, merged key by key across the files. The user's file is
$XDG_CONFIG_HOME/mossen/config.toml (or MOSSEN_CONFIG). `.mossen.toml.example`
documents every key; a test keeps it in step with KEYS below.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from indexer.settings import EMBED_BACKENDS, DEFAULT_EMBED_BACKEND, IndexSettings, default_index_root
from indexer.settings import ChromaServer
from mossen.errors import ConfigError, PrivacyError
from mossen.providers.locality import is_local_endpoint
from mossen.providers.base import ModelOptions


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


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value.strip() or None


def _privacy(value: Any) -> str:
    if value not in ("any", "local"):
        raise ValueError('expected "any" or "local"')
    return str(value)


def _mode(value: Any) -> str:
    if value == "auto":
        raise ValueError("auto mode is only taken from the command line: --mode auto")
    if value not in ("ask", "accept-edits", "read-only"):
        raise ValueError('expected "ask", "accept-edits" or "read-only"')
    return str(value)


def _backend(value: Any) -> str:
    if value not in EMBED_BACKENDS:
        raise ValueError("expected " + ", ".join(f'"{b}"' for b in EMBED_BACKENDS))
    return str(value)


def _threads(value: Any) -> int:
    number = _int(value)
    if number < 0:
        raise ValueError("expected 0 (one per core) or more")
    return number


def _store(value: Any) -> str:
    if value not in ("embedded", "chroma-server"):
        raise ValueError('expected "embedded" or "chroma-server"')
    return str(value)


def _port(value: Any) -> int:
    number = _int(value)
    if not 0 < number < 65536:
        raise ValueError("expected a port, 1-65535")
    return number


def _headers(value: Any) -> dict[str, str]:
    """A table of HTTP headers; from the environment, a JSON object. `${VAR}` values are expanded later."""
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValueError('expected a table of strings, e.g. { Authorization = "Bearer ${CHROMA_TOKEN}" }')
    return dict(value)


_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand(headers: dict[str, str], env: Mapping[str, str], source: str) -> dict[str, str]:
    """`${VAR}` inside header values, read from the environment (tokens stay out of config files)."""
    def value(match: re.Match[str]) -> str:
        if match.group(1) not in env:
            raise ConfigError(f"chroma.headers from {source} names ${{{match.group(1)}}}, which is not set")
        return env[match.group(1)]

    return {name: _ENV_REFERENCE.sub(value, text) for name, text in headers.items()}


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).strip().lower() in ("1", "true", "yes", "on"):
        return True
    if str(value).strip().lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _tool_style(value: Any) -> str:
    if value not in ("native", "text"):
        raise ValueError('expected "native" or "text"')
    return str(value)


def _positive(value: Any) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError("expected a positive number")
    return number


KEYS: dict[str, Key] = {
    "index.dir": Key(_path, None, "folder holding every repository's index (default $XDG_DATA_HOME/mossen/indexes)"),
    "index.max_file_size": Key(_size, 1024**2, "files larger than this are skipped (bytes or \"1MiB\")"),
    "index.exclude": Key(_strings, (), "extra gitignore-style patterns to leave out"),
    "index.batch_size": Key(_int, 32, "texts per embedding batch"),
    "index.backend": Key(_backend, DEFAULT_EMBED_BACKEND,
                         'how chunks are embedded: "onnx-int8", "onnx" (fp32) or "torch"'),
    "index.threads": Key(_threads, 0, "ONNX Runtime threads for embedding (0: one per core)"),
    "index.lock_timeout": Key(float, 10.0, "seconds a second indexer waits for the lock before giving up"),
    "index.store": Key(_store, "embedded", '"embedded" (in the index folder) or "chroma-server" (see [chroma])'),
    "chroma.host": Key(str, "127.0.0.1", "the Chroma server's host (index.store = \"chroma-server\")"),
    "chroma.port": Key(_port, 8000, "the Chroma server's port"),
    "chroma.ssl": Key(_bool, False, "talk to the Chroma server over HTTPS"),
    "chroma.headers": Key(_headers, {}, "HTTP headers for the Chroma server, e.g. an auth token; ${VAR} from env"),
    "chroma.repo_id": Key(str, "", "this repository's name on a shared server (default: its root commit)"),
    "search.top_k": Key(_int, 10, "results shown by `mossen search`"),
    "search.server": Key(_bool, True, "keep a warm search server per repository (started on demand)"),
    "search.server_idle": Key(_positive, 600.0, "seconds without a search before the server stops"),
    "model": Key(_text, None, "the chat model, PROVIDER:MODEL (ollama:…, openai:…, anthropic:…)"),
    "privacy": Key(_privacy, "any", '"local" refuses any model or store that is not on this machine'),
    "ask.budget": Key(_int, 4000, "most tokens of code sent with one question"),
    "ask.top_k": Key(_int, 60, "chunks retrieved to fill the code budget"),
    "ollama.host": Key(_text, None, "Ollama's address (default $OLLAMA_HOST, else 127.0.0.1:11434)"),
    "openai.base_url": Key(_text, None, "OpenAI-compatible server (default $OPENAI_BASE_URL, else OpenAI)"),
    "anthropic.base_url": Key(_text, None, "Anthropic API (default $ANTHROPIC_BASE_URL, else Anthropic)"),
    "chat.mode": Key(_mode, "ask", "ask | accept-edits | read-only (auto only with the --mode auto flag)"),
    "chat.max_steps": Key(_int, 25, "model calls in one turn before it stops"),
    "chat.max_seconds": Key(_positive, 900.0, "seconds one turn may take"),
    "chat.max_cost": Key(_positive, 1.0, "USD one turn may spend on a paid model"),
    "chat.command_timeout": Key(_int, 120, "seconds run_command waits by default"),
    "chat.memory_budget": Key(_int, 2000, "most tokens of MOSSEN.md / AGENTS.md in the system prompt"),
    "chat.sessions_dir": Key(_path, None, "where sessions are saved (default $XDG_DATA_HOME/mossen/sessions)"),
    "permissions.allow": Key(_strings, (), "rules that run without asking, e.g. run_command(pytest *)"),
    "permissions.ask": Key(_strings, (), "rules that always ask"),
    "permissions.deny": Key(_strings, (), "rules that are always refused"),
}

# Options of one [models."PROVIDER:MODEL"] table.
MODEL_KEYS: dict[str, Key] = {
    "temperature": Key(float, None, "sampling temperature"),
    "context_length": Key(_int, None, "the window mossen budgets for (Ollama: num_ctx)"),
    "max_output": Key(_int, None, "tokens reserved for the answer"),
    "timeout": Key(_positive, 120.0, "seconds to wait for the server"),
    "tools": Key(_tool_style, "native", "native tool calls, or \"text\" for models without them"),
    "streaming": Key(_bool, True, "false: ask for whole replies (servers that cannot stream tool calls)"),
    "price_input": Key(float, None, "USD per million input tokens (for the cost limit)"),
    "price_output": Key(float, None, "USD per million output tokens"),
}


def user_config_path(env: Mapping[str, str]) -> Path:
    """The user's config file: $MOSSEN_CONFIG, else $XDG_CONFIG_HOME/mossen/config.toml."""
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
        if section == "models":
            flat.update(_model_tables(values, path))
            continue
        items = values.items() if isinstance(values, dict) else [(None, values)]
        for key, value in items:
            name = section if key is None else f"{section}.{key}"
            if name not in KEYS:
                raise ConfigError(f"{path}: unknown key `{name}` (see .mossen.toml.example)")
            flat[name] = (value, str(path))
    return flat


def _model_tables(tables: Any, path: Path) -> dict[str, Any]:
    """[models."PROVIDER:MODEL"] tables as flat `models/NAME/OPTION` entries."""
    if not isinstance(tables, dict) or not all(isinstance(v, dict) for v in tables.values()):
        raise ConfigError(f'{path}: models must be tables like [models."ollama:qwen2.5-coder:7b"]')
    flat: dict[str, Any] = {}
    for model, options in tables.items():
        for key, value in options.items():
            if key not in MODEL_KEYS:
                raise ConfigError(f"{path}: unknown option `{key}` for model {model!r} "
                                  f"(one of {', '.join(MODEL_KEYS)})")
            flat[f"models/{model}/{key}"] = (value, str(path))
    return flat


@dataclass(frozen=True, slots=True)
class Config:
    """Resolved configuration values, with where each came from."""

    values: dict[str, Any]
    sources: dict[str, str]

    def get(self, name: str) -> Any:
        """The value of a key (defaults included)."""
        return self.values[name]

    def model_options(self, model: str) -> ModelOptions:
        """The options of [models."MODEL"], defaults for what it leaves out."""
        prefix = f"models/{model}/"
        given = {k.removeprefix(prefix): v for k, v in self.values.items() if k.startswith(prefix)}
        return ModelOptions(**{k: given.get(k, key.default) for k, key in MODEL_KEYS.items()})

    def index_settings(self) -> IndexSettings:
        """The indexer's settings from this configuration."""
        return IndexSettings(
            index_root=self.values["index.dir"] or default_index_root(),
            max_file_bytes=self.values["index.max_file_size"],
            exclude=self.values["index.exclude"],
            embed_batch_size=self.values["index.batch_size"],
            embed_backend=self.values["index.backend"],
            embed_threads=self.values["index.threads"],
            lock_timeout=self.values["index.lock_timeout"],
            chroma=self.chroma_server(),
        )

    def chroma_server(self) -> ChromaServer | None:
        """The Chroma server holding the vectors, None for the embedded store; refused off this machine
        under privacy = "local", before anything is sent (chunk vectors and paths would go there)."""
        if self.values["index.store"] != "chroma-server":
            return None
        host = self.values["chroma.host"].strip()
        bracketed = f"[{host}]" if ":" in host and not host.startswith("[") else host  # IPv6, as in a URL
        if self.values["privacy"] == "local" and not is_local_endpoint(bracketed):
            raise PrivacyError(f"privacy is \"local\" but index.store is a Chroma server at {host}, which is not "
                               "this machine; nothing was sent. Use 127.0.0.1 / localhost / ::1, index.store = "
                               "\"embedded\", or privacy = \"any\"")
        return ChromaServer(host=host.strip("[]"), port=self.values["chroma.port"], ssl=self.values["chroma.ssl"],
                            headers=tuple(sorted(self.values["chroma.headers"].items())),
                            repo_id=self.values["chroma.repo_id"].strip())


def load_config(repo: Path | None, flags: Mapping[str, Any] | None = None,
                env: Mapping[str, str] | None = None) -> Config:
    """Merge defaults < user file < repo .mossen.toml < MOSSEN_* env < flags."""
    env = os.environ if env is None else env
    layers: list[dict[str, tuple[Any, str]]] = [
        {name: (key.default, "default") for name, key in KEYS.items()},
        _read_toml(user_config_path(env)),
        _read_toml(repo / ".mossen.toml") if repo else {},
        {n: (env[v], f"${v}") for n in KEYS if (v := "MOSSEN_" + n.replace(".", "_").upper()) in env},
        {n: (v, "command line") for n, v in (flags or {}).items() if v is not None},
    ]
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for layer in layers:
        for name, (raw, source) in layer.items():
            key = MODEL_KEYS[name.rsplit("/", 1)[1]] if name.startswith("models/") else KEYS[name]
            try:
                values[name] = key.parse(raw) if raw is not None else None
            except (TypeError, ValueError) as exc:
                raise ConfigError(f"{name} = {raw!r} from {source}: {exc}") from exc
            sources[name] = source
    values["chroma.headers"] = _expand(values["chroma.headers"], env, sources["chroma.headers"])
    return Config(values, sources)
