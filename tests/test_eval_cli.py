"""`mossen eval` as a real process on a tiny git repository with known commits and a hand-written suite."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from indexer import STRATEGIES
from mossen.evaluation.cases import Case, GoldSymbol, read_cases, write_cases
from mossen.evaluation.metrics import compare, query_metrics, summarize
from mossen.evaluation.report import comparison_text, headroom_text, suite_markdown
from mossen.evaluation.runner import StrategyResult, SuiteResult, headline_comparisons, headroom
from tests.conftest import Mossen, git, make_repo

pytestmark = pytest.mark.slow

RETRY = '''"""Retrying network calls."""

import time


def backoff_delay(attempt: int, base: float = 0.5) -> float:
    """Seconds to wait before the given retry attempt."""
    return base * (2 ** attempt)


def retry_download(fetch, url: str, attempts: int = 3) -> bytes:
    """Call fetch(url) until it succeeds, sleeping between failures."""
    for attempt in range(attempts):
        try:
            return fetch(url)
        except OSError:
            time.sleep(backoff_delay(attempt))
    raise OSError(f"giving up on {url}")
'''

LOADER = '''"""Reading the configuration file."""

import datetime
import tomllib


def load_settings(path: str) -> dict:
    """Parse a TOML settings file into a dictionary."""
    with open(path, "rb") as handle:
        return tomllib.load(handle)


def parse_deadline(text: str) -> datetime.date:
    """A deadline written as an ISO date."""
    return datetime.date.fromisoformat(text)
'''

COLOURS = '''"""Terminal colours."""

RED = "\\033[31m"
RESET = "\\033[0m"


def paint_red(text: str) -> str:
    """Wrap text in the escape codes that make a terminal print it red."""
    return f"{RED}{text}{RESET}"
'''


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Three files, then two commits that qualify for a history suite and one that does not."""
    root = make_repo(tmp_path / "repo", {"net/retry.py": RETRY.replace("2 ** attempt", "2 * attempt"),
                                         "conf/loader.py": LOADER.replace("fromisoformat", "fromordinal"),
                                         "ui/colours.py": COLOURS})
    (root / "net/retry.py").write_text(RETRY)
    git(root, "commit", "-qam", "Retry failed downloads with exponential backoff")
    (root / "conf/loader.py").write_text(LOADER)
    git(root, "commit", "-qam", "Parse deadlines written as ISO dates")
    (root / "ui/colours.py").write_text(COLOURS + "\n")
    git(root, "commit", "-qam", "Bump version to 1.2")
    return root


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    """A hand-written suite over the fixture repository."""
    path = tmp_path / "suite.jsonl"
    write_cases(path, [
        Case("q1", "wait longer between download retries", ("net/retry.py",),
             (GoldSymbol("net/retry.py", "backoff_delay", 6, 8),), "manual"),
        Case("q2", "read the toml settings file", ("conf/loader.py",),
             (GoldSymbol("conf/loader.py", "load_settings", 7, 10),), "manual"),
        Case("q3", "print text in red on the terminal", ("ui/colours.py",)),
    ])
    return path


def run_json(mossen: Mossen, *args: str) -> dict:
    done = mossen.run("eval", *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)  # nothing but the JSON object on stdout


def test_suite_file_json_has_every_strategy_and_level(mossen: Mossen, repo: Path, suite: Path) -> None:
    report = run_json(mossen, str(repo), "--suite", str(suite))
    [result] = report["suites"]
    assert result["cases"] == 3 and set(result["strategies"]) == {"lexical", "dense", "hybrid"}
    for figures in result["strategies"].values():
        assert figures["file"]["mrr"]["n"] == 3
        assert figures["symbol"]["mrr"]["n"] == 2  # q3 has no gold symbols
        mrr = figures["file"]["mrr"]
        assert 0.0 <= mrr["low"] <= mrr["mean"] <= mrr["high"] <= 1.0
        assert [q["id"] for q in figures["queries"]] == ["q1", "q2", "q3"]
    hybrid = result["strategies"]["hybrid"]
    # three files, every chunk retrieved: each gold file is ranked somewhere in the first three
    assert all(q["file_ranks"][0] is not None and q["file_ranks"][0] <= 3 for q in hybrid["queries"])
    assert hybrid["file"]["r@5"]["mean"] == 1.0
    first = result["comparisons"][0]
    assert first["a"] == "hybrid" and first["b"] == result["best_baseline"] in ("lexical", "dense")
    assert first["n"] == 3 and isinstance(first["significant"], bool)
    best = result["strategies"][result["best_baseline"]]["file"]["mrr"]["mean"]
    assert result["headroom"]["a"] == "a perfect ranking" and result["headroom"]["b"] == result["best_baseline"]
    assert result["headroom"]["diff"] == pytest.approx(1.0 - best, abs=1e-6)


def test_history_suite_is_generated_when_no_suite_is_given(mossen: Mossen, repo: Path) -> None:
    report = run_json(mossen, str(repo), "--strategy", "lexical,hybrid")
    [result] = report["suites"]
    assert result["cases"] == 2  # the version bump does not qualify; the initial commit adds files
    assert list(result["strategies"]) == ["lexical", "hybrid"]
    queries = result["strategies"]["hybrid"]["queries"]
    assert all(q["symbol_ranks"] is not None for q in queries)  # the commits changed known functions


def test_table_shows_figures_with_intervals_and_the_paired_comparison(mossen: Mossen, repo: Path, suite: Path) -> None:
    done = mossen.run("eval", str(repo), "--suite", str(suite))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for expected in ("strategy", "file Hit@5", "file MRR", "file nDCG@10", "sym R@5", "lexical", "dense", "hybrid"):
        assert expected in out
    assert "±" in out
    assert "hybrid vs " in out and "file MRR" in out and "significant" in out
    # three queries: not even a perfect ranking could be significantly better than the baseline
    assert "headroom: a perfect ranking vs " in out and "too few queries" in out


def test_generate_writes_a_suite_the_runner_reads(mossen: Mossen, repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "history.jsonl"
    done = mossen.run("eval", "generate", "history", str(repo), "-o", str(out))
    assert done.returncode == 0, done.stderr
    cases = read_cases(out)
    assert [c.query for c in cases] == ["Parse deadlines written as ISO dates",
                                        "Retry failed downloads with exponential backoff"]
    assert cases[0].gold_files == ("conf/loader.py",)
    assert [s.symbol for s in cases[0].gold_symbols] == ["parse_deadline"]


@pytest.mark.parametrize("args, message", [
    (["--strategy", "lexical,bm42"], f"unknown strategy 'bm42'; choose from {', '.join(STRATEGIES)}"),
    (["--suite", "missing.jsonl"], "cannot read suite missing.jsonl"),
])
def test_errors_are_one_line_and_exit_1(mossen: Mossen, repo: Path, suite: Path, args: list[str], message: str) -> None:
    extra = ["--suite", str(suite)] if args[0] == "--strategy" else []
    done = mossen.run("eval", str(repo), *extra, *args, cwd=repo, COLUMNS="300")  # rich wraps at 80 otherwise
    assert done.returncode == 1
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert done.stdout == ""


def test_bad_suite_line_is_named(mossen: Mossen, repo: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "query": "q", "gold_files": ["a.py"]}\n{"query": "no id"}\n')
    done = mossen.run("eval", str(repo), "--suite", str(bad))
    assert done.returncode == 1
    assert "bad suite file" in done.stderr and "bad.jsonl:2" in done.stderr


def test_a_folder_that_is_not_a_git_repository_is_an_error(mossen: Mossen, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "a.py").write_text("x = 1\n")
    done = mossen.run("eval", str(plain), cwd=plain)
    assert done.returncode == 1 and "not a git repository" in " ".join(done.stderr.split())


def test_docstring_suites_search_a_stripped_copy_in_the_cache(mossen: Mossen, repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    done = mossen.run("eval", str(repo), "--docstrings", "--json", "--strategy", "hybrid", XDG_CACHE_HOME=str(cache))
    assert done.returncode == 0, done.stderr
    suites = json.loads(done.stdout)["suites"]
    assert [s["name"] for s in suites] == ["repo docstring", "repo docstring masked"]
    corpus = Path(suites[0]["corpus"])
    assert corpus.is_relative_to(cache / "mossen-eval") and corpus != repo
    stripped = (corpus / "net/retry.py").read_text()
    assert "Seconds to wait" not in stripped and "def backoff_delay" in stripped
    assert (repo / "net/retry.py").read_text() == RETRY  # the repository itself is untouched


@dataclass(frozen=True)
class Hit:
    path: str
    start_line: int = 1
    end_line: int = 10


def test_markdown_report_has_both_levels_and_the_comparison() -> None:
    gold = (GoldSymbol("a.py", "f", 2, 3),)
    ranked = {"lexical": ["b.py", "a.py"], "dense": ["c.py", "b.py", "a.py"], "hybrid": ["a.py"]}
    results = {}
    for name, paths in ranked.items():
        queries = tuple(query_metrics(f"q{i}", [Hit(p) for p in paths], ["a.py"], gold) for i in range(20))
        results[name] = StrategyResult(name, queries, summarize(queries, "file"), summarize(queries, "symbol"))
    comparisons, best = headline_comparisons(results)
    text = suite_markdown(SuiteResult("demo", "corpus", 20, results, comparisons, best))
    assert best == "lexical" and comparisons[0].b == "lexical"
    assert "| hybrid | 20 | 1.000 ±0.000 | 1.000 ±0.000 |" in text
    assert "| lexical | 20 | 1.000 ±0.000 | 0.000 ±0.000 | 1.000 ±0.000 | 1.000 ±0.000 | 0.500 ±0.000 |" in text
    assert "Symbol level" in text
    assert "hybrid vs lexical, file MRR: +0.500 [+0.500, +0.500] significant (n=20)" in text
    assert "hybrid vs dense, file MRR: +0.667 [+0.667, +0.667] significant (n=20)" in text
    worse = compare(results["dense"].queries, results["hybrid"].queries, ("dense", "hybrid"))
    assert comparison_text(worse) == "dense vs hybrid, file MRR: -0.667 [-0.667, -0.667] significantly worse (n=20)"


def _results(ranked: dict[str, list[list[str]]]) -> dict[str, StrategyResult]:
    """Strategies from the files each ranks per query (gold: a.py)."""
    results = {}
    for name, per_query in ranked.items():
        queries = tuple(query_metrics(f"q{i}", [Hit(p) for p in paths], ["a.py"]) for i, paths in enumerate(per_query))
        results[name] = StrategyResult(name, queries, summarize(queries, "file"), summarize(queries, "symbol"))
    return results


def test_headroom_says_when_not_even_a_perfect_ranking_could_win() -> None:
    # 18 queries, the baseline first on 17 and second on one: a perfect ranking gains 0.5 / 18 at most
    small = _results({"lexical": [["a.py"]] * 17 + [["b.py", "a.py"]], "hybrid": [["a.py"]] * 18})
    ceiling = headroom(small, "lexical", ())
    assert ceiling is not None and ceiling.n == 18
    assert ceiling.diff == pytest.approx(0.5 / 18) and not ceiling.significant
    assert headroom_text(ceiling).endswith("too few queries: not even a perfect ranking would be significantly better")
    comparisons, best = headline_comparisons(small)
    text = suite_markdown(SuiteResult("small", "corpus", 18, small, comparisons, best, (), ceiling))
    assert "Headroom: a perfect ranking vs lexical, file MRR: +0.028" in text


def test_headroom_counts_unreachable_cases_as_misses_even_for_a_perfect_ranking() -> None:
    # the baseline misses q0 and q1 (a.py absent from its list); q1's gold file is not in the corpus at all
    ranked = [["b.py"], ["b.py"]] + [["c.py", "a.py"]] * 18
    ceiling = headroom(_results({"dense": ranked}), "dense", ("q1",))
    assert ceiling is not None and ceiling.diff == pytest.approx((1.0 + 18 * 0.5) / 20) and ceiling.significant
    assert headroom_text(ceiling).endswith("(n=20): the most any ranking can gain here")
    assert headroom(_results({"dense": ranked}), None, ()) is None
