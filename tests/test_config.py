"""Config precedence: flag > MOSSEN_* env > repo .mossen.toml > user config > defaults."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from mossen.config import KEYS, MODEL_KEYS, load_config
from mossen.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_each_layer_overrides_the_one_below(tmp_path: Path) -> None:
    user = _write(tmp_path / "user.toml", "[search]\ntop_k = 3\n[index]\nbatch_size = 4\nlock_timeout = 1\n")
    repo = tmp_path / "repo"
    _write(repo / ".mossen.toml", "[index]\nbatch_size = 5\nlock_timeout = 2\n")
    env = {"MOSSEN_CONFIG": str(user), "MOSSEN_INDEX_LOCK_TIMEOUT": "7"}
    config = load_config(repo, {"index.dir": tmp_path / "flag"}, env)
    assert config.get("search.top_k") == 3 and config.sources["search.top_k"] == str(user)
    assert config.get("index.batch_size") == 5
    assert config.get("index.lock_timeout") == 7.0 and config.sources["index.lock_timeout"] == "$MOSSEN_INDEX_LOCK_TIMEOUT"
    assert config.get("index.dir") == tmp_path / "flag"
    assert config.get("index.max_file_size") == 1024 * 1024  # default


def test_env_index_dir_and_sizes(tmp_path: Path) -> None:
    config = load_config(None, {}, {"MOSSEN_INDEX_DIR": str(tmp_path), "MOSSEN_INDEX_MAX_FILE_SIZE": "2MiB",
                                    "MOSSEN_CONFIG": str(tmp_path / "none.toml")})
    settings = config.index_settings()
    assert settings.index_root == tmp_path and settings.max_file_bytes == 2 * 1024 * 1024


@pytest.mark.parametrize("text", ["[index]\nbatch_size = 'many'\n", "[index]\nnope = 1\n", "index = 3\n", "[index\n"])
def test_bad_config_is_a_clear_error(tmp_path: Path, text: str) -> None:
    repo = tmp_path / "repo"
    _write(repo / ".mossen.toml", text)
    with pytest.raises(ConfigError, match=r"\.mossen\.toml|batch_size"):
        load_config(repo, {}, {"MOSSEN_CONFIG": str(tmp_path / "none.toml")})


def test_example_file_documents_every_key_and_parses() -> None:
    example = ROOT / ".mossen.toml.example"
    data = tomllib.loads(example.read_text())
    models = data.pop("models")
    documented = {name for s, v in data.items() for name in ([f"{s}.{k}" for k in v] if isinstance(v, dict) else [s])}
    assert documented == set(KEYS)
    for name in KEYS:
        section, _, key = name.partition(".")
        KEYS[name].parse(data[section][key] if key else data[section])  # every example value is valid
    assert {k for options in models.values() for k in options} == set(MODEL_KEYS)
    config = load_config(ROOT, {}, {"MOSSEN_CONFIG": str(example)})
    assert config.model_options("ollama:qwen2.5-coder:7b").context_length == 32768


def test_model_tables_merge_option_by_option_and_top_level_keys_take_env(tmp_path: Path) -> None:
    user = _write(tmp_path / "user.toml", 'model = "openai:a"\n[models."openai:a"]\ntemperature = 0.5\ntimeout = 9\n')
    repo = tmp_path / "repo"
    _write(repo / ".mossen.toml", 'privacy = "local"\n[models."openai:a"]\ntimeout = 30\n')
    config = load_config(repo, {}, {"MOSSEN_CONFIG": str(user), "MOSSEN_MODEL": "ollama:b"})
    assert config.get("model") == "ollama:b" and config.sources["model"] == "$MOSSEN_MODEL"
    assert config.get("privacy") == "local"
    options = config.model_options("openai:a")
    assert (options.temperature, options.timeout, options.max_output) == (0.5, 30.0, None)
    assert config.model_options("other:x").timeout == 120.0


@pytest.mark.parametrize("text", ['privacy = "public"\n', '[models."x:y"]\ncolour = 1\n', 'models = 3\n',
                                  '[models."x:y"]\ntimeout = -1\n'])
def test_bad_model_and_privacy_settings_are_clear_errors(tmp_path: Path, text: str) -> None:
    repo = tmp_path / "repo"
    _write(repo / ".mossen.toml", text)
    with pytest.raises(ConfigError, match=r"privacy|colour|models|timeout"):
        load_config(repo, {}, {"MOSSEN_CONFIG": str(tmp_path / "none.toml")})
