"""The ONNX Runtime backend: a local export reused across runs, fp32 equal to torch, int8 close to it,
and an int8 index that records its own model id, refuses other backends and answers searches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from indexer import IndexSettings, ModelMismatchError, index_repo
from indexer.embed.base import MODEL_DIM, MODEL_ID, bundled_model_path
from indexer.embed.onnx_export import export_needed
from indexer.embed.onnx_minilm import load_onnx_minilm
from indexer.embed.sentence_transformer import SentenceTransformerEmbedder
from indexer.store.catalog import Catalog
from indexer.store.layout import IndexLayout
from indexer.verify import verify_index
from tests.conftest import Mossen, make_repo

ROOT = Path(__file__).resolve().parents[1]
INT8_ID = MODEL_ID + "#onnx-int8"
TEXTS = [
    "def close_idle(self):\n    for conn in self._pool:\n        if conn.idle > self.timeout:\n            conn.close()",
    "where are retries configured",
    "class HTTPAdapter(BaseAdapter):\n    max_retries = Retry(3)",
    "x" * 3000,  # longer than the window: truncated the same way
    "ünïcødé 字符串 and emoji 🎉",
]
REPO_FILES = {
    "net/pool.py": "class SessionPool:\n    def close_idle(self, max_idle):\n"
                   "        \"\"\"Close keep-alive sessions idle longer than max_idle seconds.\"\"\"\n"
                   "        return [s.close() for s in self.sessions if s.idle_for() > max_idle]\n",
    "text/dates.py": "import datetime\n\ndef parse_date(text):\n"
                     "    \"\"\"Parse an ISO date string into a datetime.\"\"\"\n"
                     "    return datetime.datetime.fromisoformat(text)\n",
    "ui/colors.py": "PALETTE = {'red': '#ff0000', 'green': '#00ff00'}\n\ndef blend(a, b):\n"
                    "    return tuple((x + y) // 2 for x, y in zip(a, b))\n",
}


def code_texts() -> list[str]:
    """Real code: this repository's embedding modules cut into 40-line pieces."""
    pieces = []
    for path in sorted((ROOT / "indexer" / "embed").glob("*.py")):
        lines = path.read_text().splitlines()
        pieces += ["\n".join(lines[i:i + 40]) for i in range(0, len(lines), 40)]
    return pieces[:24]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx") / "indexes" / "models"


def test_the_export_is_written_once_and_reused(models: Path) -> None:
    first = load_onnx_minilm(bundled_model_path(), models, "fp32")
    exported = sorted(models.glob("*.onnx"))
    assert [p.name.rsplit("-", 1)[1] for p in exported] == ["fp32.onnx"]
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in models.iterdir()}
    second = load_onnx_minilm(bundled_model_path(), models, "fp32")
    after = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in models.iterdir()}
    assert after == before  # not written again (a re-export would rename a new inode into place)
    assert not [p for p in models.iterdir() if p.name.endswith(".tmp")]
    assert np.array_equal(first.embed(TEXTS), second.embed(TEXTS))


def test_fp32_onnx_equals_sentence_transformers(models: Path) -> None:
    onnx = load_onnx_minilm(bundled_model_path(), models, "fp32", batch_size=2)  # batches of unequal lengths
    torch_vectors = SentenceTransformerEmbedder(bundled_model_path()).embed(TEXTS + code_texts())
    onnx_vectors = onnx.embed(TEXTS + code_texts())
    assert onnx_vectors.shape == (len(TEXTS) + len(code_texts()), MODEL_DIM) and onnx_vectors.dtype == np.float32
    assert np.max(np.abs(onnx_vectors - torch_vectors)) < 1e-5
    assert onnx.model_id == MODEL_ID  # same vectors, same id: fp32 ONNX and torch indexes are one model


def test_int8_rows_stay_close_to_fp32_and_in_input_order(models: Path) -> None:
    # Code and queries; the degenerate "x" * 3000 (one token repeated) is left out: it measured 0.977.
    texts = TEXTS[:3] + TEXTS[4:] + code_texts()
    fp32 = load_onnx_minilm(bundled_model_path(), models, "fp32").embed(texts)
    int8_model = load_onnx_minilm(bundled_model_path(), models, "int8", batch_size=4)  # runs one by one
    int8 = int8_model.embed(texts)
    assert int8_model.model_id == INT8_ID
    assert np.allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-5)
    cosines = np.sum(fp32 * int8, axis=1)
    assert cosines.min() >= 0.98, cosines.round(4)
    # A function of the text alone: the same rows whatever else is embedded with them, in input order.
    assert np.array_equal(int8_model.embed(texts[::-1])[::-1], int8)
    assert np.array_equal(int8_model.embed(texts[5:7]), int8[5:7])


def test_concurrent_exporters_leave_one_sound_file(tmp_path: Path) -> None:
    folder = tmp_path / "models"
    script = ("import sys; from pathlib import Path; from indexer.embed.base import bundled_model_path; "
              "from indexer.embed.onnx_export import onnx_model_file; "
              "print(onnx_model_file(bundled_model_path(), Path(sys.argv[1]), 'fp32'))")
    procs = [subprocess.Popen([sys.executable, "-c", script, str(folder)], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
             for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outs]
    assert len({out.strip() for out, _ in outs}) == 1
    assert [p.name.endswith("fp32.onnx") for p in folder.glob("*.onnx")] == [True]
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    vectors = load_onnx_minilm(bundled_model_path(), folder, "fp32").embed(TEXTS[:2])
    reference = SentenceTransformerEmbedder(bundled_model_path()).embed(TEXTS[:2])
    assert np.max(np.abs(vectors - reference)) < 1e-5


@pytest.fixture(scope="module")
def int8_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, IndexSettings]:
    base = tmp_path_factory.mktemp("int8-index")
    repo = make_repo(base / "repo", REPO_FILES)
    settings = IndexSettings(index_root=base / "indexes", embed_backend="onnx-int8", lock_timeout=2.0)
    report = index_repo(repo, settings)
    assert report.pending == 0 and report.embedded == report.chunks_total > 0
    return repo, settings


def _snapshot(repo: Path, settings: IndexSettings) -> tuple:
    """Model, manifest and chunk ids of the index, and its consistency problems (vectors == chunks, opened as
    the recorded model: the vector store refuses to open under another model id)."""
    with Catalog(IndexLayout.for_repo(repo.resolve(), settings).catalog) as catalog:
        meta = (catalog.get_meta("model"), catalog.get_meta("dimension"))
        files = sorted((p, r.content_hash) for p, r in catalog.files().items())
        chunks = sorted(catalog.all_chunk_ids())
    return meta, files, chunks, verify_index(repo, settings, check_tree=False)


def test_an_int8_index_records_its_own_model_id(int8_index: tuple[Path, IndexSettings]) -> None:
    repo, settings = int8_index
    (model, dimension), files, chunks, problems = _snapshot(repo, settings)
    assert (model, dimension) == (INT8_ID, str(MODEL_DIM))
    assert [f for f, _ in files] == sorted(REPO_FILES) and len(chunks) >= len(REPO_FILES) and problems == []
    with pytest.raises(ModelMismatchError, match="#onnx-int8.*--rebuild"):
        index_repo(repo, IndexSettings(index_root=settings.index_root, embed_backend="torch"))


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_cli_refuses_another_backend_and_leaves_the_index_alone(int8_index: tuple[Path, IndexSettings],
                                                                backend: str) -> None:
    repo, settings = int8_index
    before = _snapshot(repo, settings)
    (repo / "net" / "pool.py").write_text(REPO_FILES["net/pool.py"] + "\n\ndef drain():\n    pass\n")
    try:
        done = Mossen(settings.index_root).run("index", str(repo), MOSSEN_INDEX_BACKEND=backend)
    finally:
        (repo / "net" / "pool.py").write_text(REPO_FILES["net/pool.py"])
    assert done.returncode != 0
    assert "#onnx-int8" in done.stderr and "--rebuild" in done.stderr and "onnx-int8" in done.stderr
    assert "Traceback" not in done.stderr
    assert _snapshot(repo, settings) == before


def test_cli_search_on_an_int8_index_finds_the_file_without_torch(int8_index: tuple[Path, IndexSettings]) -> None:
    repo, settings = int8_index
    cli = Mossen(settings.index_root)
    done = cli.run("search", "shut down connections that sat unused too long", "--path", str(repo), "--json",
                   MOSSEN_INDEX_BACKEND="onnx-int8", PYTHONPROFILEIMPORTTIME="1")
    assert done.returncode == 0, done.stderr[-3000:]
    hits = json.loads(done.stdout)
    assert hits[0]["path"] == "net/pool.py"
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert "onnxruntime" in imported  # the query was embedded by the int8 session ...
    assert "torch" not in imported  # ... and the search never paid for torch


def test_a_first_run_says_it_exports_the_model_and_later_runs_do_not(tmp_path: Path) -> None:
    root = tmp_path / "fresh-root"  # not seeded: this index folder has never exported the model
    settings = IndexSettings(index_root=root, lock_timeout=2.0)
    assert export_needed(bundled_model_path(), settings.models_dir, "int8")
    phases: list[str] = []
    index_repo(make_repo(tmp_path / "one", {"a.py": "def alpha():\n    return 1\n"}), settings,
               lambda event: phases.append(event.phase))
    assert "model" in phases and phases.index("model") < phases.index("embed")
    assert not export_needed(bundled_model_path(), settings.models_dir, "int8")
    again: list[str] = []
    index_repo(make_repo(tmp_path / "two", {"b.py": "def beta():\n    return 2\n"}), settings,
               lambda event: again.append(event.phase))
    assert "embed" in again and "model" not in again
