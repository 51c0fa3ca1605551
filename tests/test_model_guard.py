"""An index records its embedding model and dimension and refuses to mix models."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer import IndexSettings, ModelMismatchError, index_repo, search
from indexer.store.catalog import Catalog
from indexer.store.layout import IndexLayout
from tests.conftest import Mossen, make_repo


def _pretend_other_model(repo: Path, settings: IndexSettings) -> None:
    with Catalog(IndexLayout.for_repo(repo.resolve(), settings).catalog) as catalog:
        catalog.set_meta(model="some-org/other-embedder", dimension="768")


def test_other_model_is_refused_until_rebuild(tmp_path: Path, settings: IndexSettings, mossen: Mossen) -> None:
    repo = make_repo(tmp_path / "repo", {"a.py": "def alpha():\n    return 'a'\n"})
    index_repo(repo, settings)
    _pretend_other_model(repo, settings)
    with pytest.raises(ModelMismatchError, match="other-embedder.*768"):
        index_repo(repo, settings)
    cli = Mossen(settings.index_root)
    done = cli.run("index", str(repo))
    assert done.returncode == 1 and "--rebuild" in done.stderr and "Traceback" not in done.stderr
    rebuilt = index_repo(repo, settings, rebuild=True)
    assert rebuilt.files_changed == 1 and rebuilt.embedded == 0  # vectors still come from the cache
    assert search(repo, "alpha", settings)[0].symbol == "alpha"
