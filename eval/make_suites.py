"""Regenerate the shipped suites in eval/suites/ from the pinned corpora of eval/corpora.toml.

    .venv/bin/python eval/make_suites.py [--only NAME ...] [--max-cases N]
    .venv/bin/python eval/make_suites.py --fetch NAME    # fetch one corpus, print the folder to index

Corpora are downloaded with the ordinary clients (pip, npm, apt-get) into
`${XDG_CACHE_HOME:-~/.cache}/mossen-eval/corpora/NAME/`, once; never into the
repository. The generators decide what is in a suite: nothing is hand-picked.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

EVAL_DIR = Path(__file__).resolve().parent
REPO_ROOT = EVAL_DIR.parent
SUITES_DIR = EVAL_DIR / "suites"
EXTERNAL = REPO_ROOT.parent / "shared" / "eval"
# Generate with this checkout's code, whatever checkout the venv's editable install points at.
sys.path.insert(1, str(REPO_ROOT))

from mossen.evaluation.cases import Case, write_cases  # noqa: E402 (after the path set-up above)
from mossen.evaluation.docstrings import docstring_cases  # noqa: E402
from mossen.evaluation.history import history_cases  # noqa: E402

_DONE = ".mossen-fetched"  # marker: the corpus folder is complete


@dataclass(frozen=True, slots=True)
class Corpus:
    """One [corpora.NAME] entry of eval/corpora.toml."""

    name: str
    kind: str  # pypi | npm | debian | stdlib | self
    spec: str
    subfolder: str
    generators: tuple[str, ...]
    packages: tuple[str, ...] = ()


def load_corpora(path: Path = EVAL_DIR / "corpora.toml") -> dict[str, Corpus]:
    """The corpora table, by name."""
    table = tomllib.loads(path.read_text(encoding="utf-8"))["corpora"]
    return {
        name: Corpus(name, e["kind"], e["spec"], e.get("subfolder", ""), tuple(e.get("generators", ())),
                     tuple(e.get("packages", ())))
        for name, e in table.items()
    }


def cache_root() -> Path:
    """`${XDG_CACHE_HOME:-~/.cache}/mossen-eval/corpora`."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mossen-eval" / "corpora"


def fetch(corpus: Corpus) -> Path:
    """The folder to index for a corpus, fetched into the cache first if need be."""
    if corpus.kind == "self":
        return REPO_ROOT / corpus.subfolder
    home = cache_root() / corpus.name
    if not (home / _DONE).exists():
        if home.exists():
            shutil.rmtree(home)  # an earlier fetch stopped half-way
        home.mkdir(parents=True)
        downloads = cache_root() / "_downloads" / corpus.name
        downloads.mkdir(parents=True, exist_ok=True)
        _FETCHERS[corpus.kind](corpus, downloads, home)
        (home / _DONE).write_text(corpus.spec + "\n", encoding="utf-8")
    return home / corpus.subfolder


def _fetch_pypi(corpus: Corpus, downloads: Path, home: Path) -> None:
    _run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
          corpus.spec, "-d", str(downloads)])
    _unpack(_single(downloads, ".tar.gz"), home)


def _fetch_npm(corpus: Corpus, downloads: Path, home: Path) -> None:
    _run(["npm", "pack", "--silent", corpus.spec], cwd=downloads)
    _unpack(_single(downloads, ".tgz"), home)


def _fetch_debian(corpus: Corpus, downloads: Path, home: Path) -> None:
    # apt-get download needs the package lists: run `apt-get update` once before.
    _run(["apt-get", "download", corpus.spec], cwd=downloads)
    _run(["dpkg-deb", "-x", str(_single(downloads, ".deb")), str(home)])


def _fetch_stdlib(corpus: Corpus, downloads: Path, home: Path) -> None:
    version = ".".join(map(str, sys.version_info[:3]))
    if version != corpus.spec:
        raise SystemExit(f"{corpus.name} needs Python {corpus.spec}'s standard library; this is {version}")
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for package in corpus.packages:
        shutil.copytree(stdlib / package, home / corpus.subfolder / package,
                        ignore=shutil.ignore_patterns("__pycache__"))


_FETCHERS = {"pypi": _fetch_pypi, "npm": _fetch_npm, "debian": _fetch_debian, "stdlib": _fetch_stdlib}


def _single(folder: Path, suffix: str) -> Path:
    """The one downloaded file with this suffix (a pinned spec downloads exactly one)."""
    found = sorted(p for p in folder.iterdir() if p.name.endswith(suffix))
    if len(found) != 1:
        raise SystemExit(f"expected one *{suffix} in {folder}, found {[p.name for p in found]}")
    return found[0]


def _unpack(archive: Path, dest: Path) -> None:
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")  # refuses absolute paths, links out of dest


def _run(command: list[str], cwd: Path | None = None) -> None:
    print("$", " ".join(command), file=sys.stderr)
    subprocess.run(command, cwd=cwd, check=True)


def generate(corpus: Corpus, max_cases: int) -> dict[str, int]:
    """Write the suites of one corpus; returns {file name: number of cases}."""
    counts: dict[str, int] = {}
    for generator in corpus.generators:
        if generator == "docstring":
            root = fetch(corpus)
            for masked in (False, True):
                cases = docstring_cases(root, masked=masked, max_cases=max_cases)
                suffix = "docstring-masked" if masked else "docstring"
                counts.update(_write(corpus.name, suffix, cases))
        elif generator == "history":
            counts.update(_write(corpus.name, "history", history_cases(fetch(corpus), max_cases=max_cases)))
    return counts


def _write(name: str, suffix: str, cases: list[Case]) -> dict[str, int]:
    """Cases renumbered under the corpus name, meta naming the corpus."""
    named = [
        dataclasses.replace(c, id=f"{name}-{suffix}-{n:04d}", meta={"corpus": name, **c.meta})
        for n, c in enumerate(cases, 1)
    ]
    file = f"{name}-{suffix}.jsonl"
    return {file: write_cases(SUITES_DIR / file, named)}


def convert_external(source: Path = EXTERNAL) -> dict[str, int]:
    """../shared/eval/history-queries.jsonl as external-history.jsonl, its README kept beside it."""
    cases: list[Case] = []
    numbers: dict[str, int] = {}
    for line in (source / "history-queries.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        numbers[row["corpus"]] = numbers.get(row["corpus"], 0) + 1
        cases.append(Case(
            id=f"{row['corpus']}-external-{numbers[row['corpus']]:04d}", query=row["query"],
            gold_files=tuple(row["gold_files"]), source="external",
            meta={"corpus": row["corpus"], "repo": row["repo"], "commit": row["commit"]},
        ))
    shutil.copyfile(source / "README.md", SUITES_DIR / "external-history.README.md")
    return {"external-history.jsonl": write_cases(SUITES_DIR / "external-history.jsonl", cases)}


def main(argv: list[str] | None = None) -> int:
    """Generate the suites (or fetch one corpus) and print what was written."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", nargs="*", default=None, help="corpus names (default: all)")
    parser.add_argument("--max-cases", type=int, default=300, help="cap per suite")
    parser.add_argument("--fetch", metavar="NAME", help="fetch one corpus and print its folder")
    args = parser.parse_args(argv)
    corpora = load_corpora()
    if args.fetch:
        print(fetch(corpora[args.fetch]))
        return 0
    counts: dict[str, int] = {}
    for name, corpus in corpora.items():
        if args.only is None or name in args.only:
            counts.update(generate(corpus, args.max_cases))
    if args.only is None or "external" in args.only:
        counts.update(convert_external())
    for file, count in counts.items():
        print(f"{count:6d}  {file}")
    print(f"{sum(counts.values()):6d}  total")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
