"""The chunker on real tree-sitter grammars and the real embedder tokenizer."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.chunking import Chunker, ChunkLimits
from indexer.embed.base import bundled_model_path
from indexer.embed.tokens import TokenCounter
from indexer.languages import language_for_path
from indexer.records import Chunk

FIXTURES = Path(__file__).parent / "fixtures" / "chunking"
FIXTURE_NAMES = sorted(p.name for p in FIXTURES.iterdir())


@pytest.fixture(scope="session")
def counter() -> TokenCounter:
    return TokenCounter(bundled_model_path())


def make(counter: TokenCounter, max_tokens: int = 256, min_tokens: int = 48, window_lines: int = 40,
         per_line: bool = True) -> Chunker:
    """The chunker as the indexer builds it (per-line token counts summed), or counting each text whole."""
    return Chunker(ChunkLimits(counter, max_tokens, min_tokens, window_lines,
                               count_lines=counter.count_lines if per_line else None))


def read(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def outline(chunks: list[Chunk]) -> list[tuple[str, str | None, int, int]]:
    return [(c.kind, c.symbol, c.start_line, c.end_line) for c in chunks]


def assert_invariants(chunks: list[Chunk], source: str, counter: TokenCounter, max_tokens: int) -> None:
    """Sorted, disjoint, every non-blank line exactly once, exact text, within budget."""
    lines = [ln[:-1] if ln.endswith("\r") else ln for ln in source.split("\n")]
    owner: dict[int, int] = {}
    pieces: dict[int, list[str]] = {}
    previous_end = 0
    for i, chunk in enumerate(chunks):
        assert counter(chunk.embedding_text) <= max_tokens, chunk
        assert 1 <= chunk.start_line <= chunk.end_line <= len(lines)
        whole = "\n".join(lines[chunk.start_line - 1 : chunk.end_line])
        if chunk.text != whole:  # a piece of one over-long line
            assert chunk.start_line == chunk.end_line and chunk.text in whole
            assert chunk.start_line >= previous_end
            pieces.setdefault(chunk.start_line, []).append(chunk.text)
        else:
            assert chunk.start_line > previous_end, "chunks overlap or are unsorted"
        assert chunk.text.strip() and not lines[chunk.start_line - 1].strip() == ""
        for line in range(chunk.start_line, chunk.end_line + 1):
            assert owner.get(line, i) == i or line in pieces
            owner[line] = i
        previous_end = chunk.end_line
    for line, parts in pieces.items():
        assert "".join(parts) == lines[line - 1]
    for number, text in enumerate(lines, start=1):
        if text.strip():
            assert number in owner, f"line {number} is in no chunk"


# --- golden outlines: every definition fits the default budget, merging off ---

WHOLE = {
    "sample.py": [
        ("block", None, 1, 6), ("class", "Pool", 9, 22), ("function", "make_pool", 25, 27),
    ],
    "sample.js": [
        ("block", None, 1, 4), ("class", "Cache", 6, 19),
        ("function", "cacheKey", 21, 23), ("function", "clearAll", 25, 27),
    ],
    "sample.ts": [
        ("block", None, 1, 3), ("class", "Job", 5, 8), ("class", "Queue", 10, 22),
        ("function", "drain", 24, 28),
    ],
    "sample.tsx": [
        ("block", None, 1, 3), ("function", "Counter", 5, 12), ("class", "Panel", 14, 24),
    ],
    "sample.go": [
        ("block", None, 1, 8), ("class", "Store", 10, 14), ("method", "Store.Get", 16, 25),
        ("method", "Store.Put", 27, 31), ("function", "New", 33, 35),
    ],
    "sample.rs": [
        ("block", None, 1, 4), ("class", "Registry", 6, 9), ("class", "Registry", 11, 18),
        ("class", "Registry", 20, 24), ("function", "parse_id", 26, 28),
    ],
    "Sample.java": [("block", None, 1, 4), ("class", "Invoice", 6, 25)],
    "sample.c": [
        ("block", None, 1, 4), ("class", "buffer", 6, 9), ("function", "grow", 11, 19),
        ("function", "main", 21, 31),
    ],
    "sample.cpp": [("block", None, 1, 2), ("class", "geo", 4, 26)],
    "sample.cs": [("block", None, 1, 2), ("class", "Shop.Orders", 4, 25)],
    "sample.rb": [("block", None, 1, 4), ("class", "Cache", 6, 24)],
    "sample.php": [
        ("block", None, 1, 7), ("class", "Mailer", 9, 25), ("function", "mailer", 27, 30),
    ],
    "sample.kt": [
        ("block", None, 1, 5), ("class", "Token", 7, 7), ("class", "Session", 9, 20),
        ("function", "anonymous", 22, 22), ("class", "Defaults", 24, 26),
    ],
    "sample.swift": [
        ("block", None, 1, 3), ("class", "Endpoint", 5, 8), ("class", "Client", 10, 22),
        ("function", "makeClient", 24, 26),
    ],
    "sample.scala": [
        ("block", None, 1, 3), ("class", "Discounts", 5, 7), ("class", "PriceList", 9, 17),
        ("class", "Priced", 19, 21), ("function", "total", 23, 24),
    ],
    "sample.sh": [
        ("block", None, 1, 5), ("function", "log", 7, 9), ("function", "prune_old", 11, 14),
        ("function", "backup", 16, 22), ("block", None, 24, 27),
    ],
    "sample.md": [
        ("section", "Mossen", 1, 3), ("section", "Mossen > Install", 5, 7),
        ("section", "Mossen > Install > Linux", 9, 14), ("section", "Mossen > Install > macOS", 16, 18),
        ("section", "Mossen > Usage", 20, 22),
    ],
}

# --- golden outlines with a small budget: classes split into header + members ---

SPLIT = {
    "sample.py": [
        ("block", None, 1, 6), ("class", "Pool", 9, 12), ("method", "Pool.__init__", 14, 17),
        ("method", "Pool.available", 19, 22), ("function", "make_pool", 25, 27),
    ],
    "sample.js": [
        ("block", None, 1, 4), ("class", "Cache", 6, 6), ("method", "Cache.constructor", 7, 10),
        ("method", "Cache.get", 12, 19), ("function", "cacheKey", 21, 23),
        ("function", "clearAll", 25, 27),
    ],
    "sample.ts": [
        ("block", None, 1, 3), ("class", "Job", 5, 8), ("class", "Queue", 10, 11),
        ("method", "Queue.push", 13, 16), ("method", "Queue.next", 18, 22),
        ("function", "drain", 24, 28),
    ],
    "Sample.java": [
        ("block", None, 1, 4), ("class", "Invoice", 6, 8), ("method", "Invoice.Invoice", 10, 12),
        ("method", "Invoice.total", 14, 20), ("class", "Invoice.Formatter", 22, 25),
    ],
    "sample.cpp": [
        ("block", None, 1, 2), ("class", "geo", 4, 4), ("class", "geo.Polygon", 6, 7),
        ("method", "geo.Polygon.Polygon", 8, 8), ("method", "geo.Polygon.perimeter", 10, 16),
        ("block", None, 18, 20), ("function", "geo.describe", 22, 26),
    ],
    "sample.cs": [
        ("block", None, 1, 2), ("class", "Shop.Orders", 4, 5), ("class", "Shop.Orders.Cart", 6, 8),
        ("method", "Shop.Orders.Cart.Add", 10, 14), ("method", "Shop.Orders.Cart.Total", 16, 22),
        ("class", "Shop.Orders.Status", 24, 25),
    ],
    "sample.php": [
        ("block", None, 1, 7), ("class", "Mailer", 9, 11), ("method", "Mailer.send", 13, 17),
        ("method", "Mailer.flush", 19, 25), ("function", "mailer", 27, 30),
    ],
    "sample.kt": [
        ("block", None, 1, 5), ("class", "Token", 7, 7), ("class", "Session", 9, 10),
        ("method", "Session.login", 12, 14), ("method", "Session.isValid", 16, 20),
        ("function", "anonymous", 22, 22), ("class", "Defaults", 24, 26),
    ],
    "sample.swift": [
        ("block", None, 1, 3), ("class", "Endpoint", 5, 8), ("class", "Client", 10, 11),
        ("method", "Client.init", 13, 15), ("method", "Client.url", 17, 22),
        ("function", "makeClient", 24, 26),
    ],
}


def test_nested_class_splits_with_qualified_names(counter: TokenCounter) -> None:
    chunks = make(counter, max_tokens=72, min_tokens=0).chunk("sample.rb", read("sample.rb"), "ruby")
    assert outline(chunks) == [
        ("block", None, 1, 4), ("class", "Cache", 6, 6), ("class", "Cache.Store", 7, 8),
        ("method", "Cache.Store.initialize", 10, 13), ("method", "Cache.Store.fetch", 15, 19),
        ("method", "Cache.dump", 21, 24),
    ]
    initialize = chunks[3]
    assert initialize.context.splitlines() == ["# path: sample.rb", "module Cache", "class Store < Base"]


def test_every_language_has_a_fixture() -> None:
    languages = {language_for_path(name) for name in FIXTURE_NAMES}
    assert languages >= {
        "python", "javascript", "typescript", "tsx", "go", "rust", "java", "c", "cpp",
        "csharp", "ruby", "php", "kotlin", "swift", "scala", "bash", "markdown",
    }


@pytest.mark.parametrize("name", sorted(WHOLE))
def test_golden_outline(counter: TokenCounter, name: str) -> None:
    chunks = make(counter, min_tokens=0).chunk(name, read(name), language_for_path(name))
    assert outline(chunks) == WHOLE[name]
    assert {c.language for c in chunks} == {language_for_path(name)}


@pytest.mark.parametrize("name", sorted(SPLIT))
def test_golden_outline_with_split_classes(counter: TokenCounter, name: str) -> None:
    chunks = make(counter, max_tokens=96, min_tokens=0).chunk(name, read(name), language_for_path(name))
    assert outline(chunks) == SPLIT[name]


@pytest.mark.parametrize("name", FIXTURE_NAMES)
@pytest.mark.parametrize("max_tokens", [48, 96, 256])
def test_invariants_on_fixtures(counter: TokenCounter, name: str, max_tokens: int) -> None:
    source = read(name)
    chunks = make(counter, max_tokens=max_tokens).chunk(name, source, language_for_path(name))
    assert_invariants(chunks, source, counter, max_tokens)


def test_context_names_path_and_enclosing_class(counter: TokenCounter) -> None:
    chunks = make(counter, max_tokens=96, min_tokens=0).chunk("src/sample.py", read("sample.py"), "python")
    by_symbol = {c.symbol: c for c in chunks}
    assert by_symbol["Pool.__init__"].context == "# path: src/sample.py\nclass Pool(Base):"
    assert by_symbol["make_pool"].context == "# path: src/sample.py"
    assert by_symbol["Pool.__init__"].text.startswith("    def __init__(self, factory")
    assert by_symbol["Pool.available"].text.startswith("    @property")


RUST_IMPL = """use std::fmt;

impl fmt::Display for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Registry({} items)", self.items.len())
    }

    fn describe(&self) -> String {
        format!("{} entries in {}", self.items.len(), self.name)
    }

    fn is_empty(&self) -> bool {
        self.items.is_empty() && self.pending.is_empty()
    }
}
"""


def test_rust_impl_methods_are_type_dot_method_with_impl_context(counter: TokenCounter) -> None:
    chunks = make(counter, max_tokens=80, min_tokens=0).chunk("a.rs", RUST_IMPL, "rust")
    assert outline(chunks) == [
        ("block", None, 1, 1), ("class", "Registry", 3, 3), ("method", "Registry.fmt", 4, 6),
        ("method", "Registry.describe", 8, 10), ("method", "Registry.is_empty", 12, 15),
    ]
    assert chunks[2].context.splitlines() == ["# path: a.rs", "impl fmt::Display for Registry {"]


def test_chunker_is_reusable_and_deterministic(counter: TokenCounter) -> None:
    chunker = make(counter)
    first = [chunker.chunk(n, read(n), language_for_path(n)) for n in FIXTURE_NAMES]
    second = [chunker.chunk(n, read(n), language_for_path(n)) for n in FIXTURE_NAMES]
    assert first == second


# --- splitting, merging and the fallbacks ---


def test_oversized_function_splits_at_statement_boundaries(counter: TokenCounter) -> None:
    body = "".join(f"    total = combine(\n        total, {i} * weight\n    )\n" for i in range(100))
    source = f"def big(weight):\n    total = 0\n{body}    return total\n"
    chunks = make(counter, max_tokens=128).chunk("big.py", source, "python")
    assert len(chunks) > 5
    assert_invariants(chunks, source, counter, 128)
    assert {(c.kind, c.symbol) for c in chunks} == {("function", "big")}
    lines = source.split("\n")
    for chunk in chunks[1:]:
        assert lines[chunk.start_line - 1].startswith("    total = combine("), chunk.start_line
        assert "def big(weight):" in chunk.context
    for chunk in chunks[:-1]:
        assert lines[chunk.end_line - 1] == "    )"


def test_tiny_siblings_merge_but_real_definitions_stay_alone(counter: TokenCounter) -> None:
    tiny = "".join(f"def get_{n}():\n    return {i}\n\n\n" for i, n in enumerate("abcdef"))
    big = "def compute(values):\n" + "".join(
        f"    values = [v * {i} + offset for v in values if v > {i}]\n" for i in range(6)
    ) + "    return values\n"
    source = tiny + big
    chunks = make(counter).chunk("m.py", source, "python")
    assert outline(chunks) == [("function", "get_a", 1, 22), ("function", "compute", 25, 32)]
    unmerged = make(counter, min_tokens=0).chunk("m.py", source, "python")
    assert [c.symbol for c in unmerged] == ["get_a", "get_b", "get_c", "get_d", "get_e", "get_f", "compute"]


def test_tiny_method_does_not_merge_into_the_next_top_level_function(counter: TokenCounter) -> None:
    methods = "".join(f"    def m{i}(self, value):\n        return self.scale * value + {i}\n\n" for i in range(8))
    source = f"class Scaler:\n    scale = 2\n\n{methods}\ndef helper():\n    return 1\n"
    chunks = make(counter, max_tokens=96).chunk("s.py", source, "python")
    assert chunks[-1].symbol == "helper" and chunks[-1].start_line == chunks[-1].end_line - 1
    assert all(c.symbol.startswith("Scaler") for c in chunks[:-1] if c.symbol)
    assert_invariants(chunks, source, counter, 96)


def test_markdown_sections_ignore_fenced_headings_and_split_big_sections(counter: TokenCounter) -> None:
    paragraphs = "\n\n".join(f"Paragraph {i} explains step {i} of the setup in some detail." for i in range(30))
    source = f"Intro line.\n\nTitle\n=====\n\n## Setup\n\n{paragraphs}\n\n```\n# not a heading\n```\n\n## End\nBye.\n"
    chunks = make(counter, max_tokens=64).chunk("doc.md", source, "markdown")
    assert_invariants(chunks, source, counter, 64)
    assert chunks[0].symbol is None and chunks[0].kind == "section"
    assert chunks[1].symbol == "Title"
    setup = [c for c in chunks if c.symbol == "Title > Setup"]
    assert len(setup) > 3
    assert all(c.context.splitlines() == ["# path: doc.md", "Title"] for c in setup)
    assert chunks[-1].symbol == "Title > End"
    assert not any("not a heading" in (c.symbol or "") for c in chunks)


@pytest.mark.parametrize("language", ["text", "yaml", None])
def test_window_fallback(counter: TokenCounter, language: str | None) -> None:
    source = "".join(f"key_{i}: value {i}\n" for i in range(100))
    chunks = make(counter, max_tokens=512, window_lines=40).chunk("f.txt", source, language)
    assert outline(chunks) == [("window", None, 1, 40), ("window", None, 41, 80), ("window", None, 81, 100)]
    small = make(counter, max_tokens=64, window_lines=40).chunk("f.txt", source, language)
    assert len(small) > 3
    assert_invariants(small, source, counter, 64)


def test_minified_single_line_javascript(counter: TokenCounter) -> None:
    parts = (f"function f{i}(x){{var y=x*{i};return y>100?Math.max(y,{i}):g(y,'k{i}')}}" for i in range(4000))
    source = ";".join(parts)[:200_000]
    chunks = make(counter).chunk("app.min.js", source, "javascript")
    assert len(chunks) > 100
    assert all(c.start_line == c.end_line == 1 for c in chunks)
    assert_invariants(chunks, source, counter, 256)


@pytest.mark.parametrize("language", ["python", "javascript"])
def test_hundred_thousand_open_parens(counter: TokenCounter, language: str) -> None:
    source = "(" * 100_000
    chunks = make(counter).chunk("deep", source, language)
    assert "".join(c.text for c in chunks) == source
    assert_invariants(chunks, source, counter, 256)


@pytest.mark.parametrize("language", ["python", "javascript", "c", "rust"])
def test_twenty_thousand_nested_brackets(counter: TokenCounter, language: str) -> None:
    source = "x = " + "[\n" * 20_000 + "]\n" * 20_000
    chunks = make(counter).chunk("deep", source, language)
    assert_invariants(chunks, source, counter, 256)


@pytest.mark.parametrize("language", ["python", "go", "java", "ruby", "kotlin"])
def test_invalid_syntax_still_covers_every_line(counter: TokenCounter, language: str) -> None:
    source = "def (:\n  ]]] class {{{ \n\x00\x01 fn }\n\nfunc ) end end\n" * 20
    chunks = make(counter, max_tokens=64).chunk("bad", source, language)
    assert_invariants(chunks, source, counter, 64)


@pytest.mark.parametrize("language", ["python", "markdown", "text", None])
def test_empty_and_blank_files(counter: TokenCounter, language: str | None) -> None:
    chunker = make(counter)
    assert chunker.chunk("e", "", language) == []
    assert chunker.chunk("e", "  \n\n\t\r\n", language) == []


def test_crlf_keeps_line_numbers(counter: TokenCounter) -> None:
    source = read("sample.py")
    lf = make(counter, max_tokens=96, min_tokens=0).chunk("sample.py", source, "python")
    crlf = make(counter, max_tokens=96, min_tokens=0).chunk("sample.py", source.replace("\n", "\r\n"), "python")
    assert outline(crlf) == outline(lf)
    assert [c.text for c in crlf] == [c.text for c in lf]


def test_non_ascii_keeps_line_numbers(counter: TokenCounter) -> None:
    source = (
        "# 中文注释：计算总和，这一行很长很长很长\n"
        "def total(xs):\n"
        "    return sum(xs)\n"
        "\n\n"
        "def greet():\n"
        "    # 你好，世界 🌍\n"
        '    return "héllo wörld"\n'
    )
    chunks = make(counter, min_tokens=0).chunk("u.py", source, "python")
    assert outline(chunks) == [("function", "total", 1, 3), ("function", "greet", 6, 8)]
    assert chunks[1].text.splitlines()[1] == "    # 你好，世界 🌍"


def test_undecodable_bytes_as_surrogates_do_not_raise(counter: TokenCounter) -> None:
    source = b"def f():\n    return '\xff\xfe'\n".decode("utf-8", "surrogateescape")
    chunks = make(counter).chunk("s.py", source, "python")
    assert [(c.start_line, c.end_line) for c in chunks] == [(1, 2)]


REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("max_tokens", [256, 64])
def test_summed_line_counts_chunk_exactly_as_whole_text_counts(counter: TokenCounter, max_tokens: int) -> None:
    """The indexer's fast path (each line tokenized once per file, ranges summed) changes no chunk."""
    files = [FIXTURES / name for name in FIXTURE_NAMES]
    files += sorted((REPO / "indexer").rglob("*.py"))[:25] + [REPO / "README.md"]
    fast, whole = make(counter, max_tokens, min_tokens=16, per_line=True), make(counter, max_tokens, min_tokens=16,
                                                                                per_line=False)
    compared = 0
    for path in files:
        text = path.read_text(encoding="utf-8")
        language = language_for_path(path.name)
        assert fast.chunk(path.name, text, language) == whole.chunk(path.name, text, language), path
        compared += 1
    assert compared > 30


def test_line_counts_add_up_to_the_count_of_joined_lines(counter: TokenCounter) -> None:
    lines = ["def f(x):", "", "    return x\u00e9 + 1  # caf\u00e9 \u4e2d\u6587", "\t\ttail\x0bend", "getUserName()"]
    per_line = counter.count_lines(lines)
    for start in range(len(lines)):
        for end in range(start, len(lines)):
            joined = "\n".join(lines[start:end + 1])
            assert counter(joined) == counter("") + sum(per_line[start:end + 1]), (start, end)
            assert counter("# path: a.py\n" + joined) == counter("# path: a.py") + sum(per_line[start:end + 1])
