"""The context budget: never exceeded, chunks never cut, neighbours merged, ordered by file and line."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from indexer import SearchHit
from mossen.budget import PIECE_MARGIN, Budget, EstimatingCounter, fill_budget, render_piece
from mossen.tokens import estimate_tokens

COUNTER = EstimatingCounter()


def _file(name: str, lines: int) -> list[str]:
    return [f"    value_{name}_{n} = compute_{n % 7}(item, {n})  # line {n}" for n in range(1, lines + 1)]


def _hit(path: str, lines: list[str], start: int, end: int, score: float = 1.0) -> SearchHit:
    return SearchHit(path, start, end, f"f{start}", "python", score, "function", "\n".join(lines[start - 1:end]),
                     {"dense": score / 2, "lexical": score * 3})


FILES = {f"pkg/mod{n}.py": _file(str(n), 120) for n in range(4)}


@st.composite
def hit_lists(draw: st.DrawFn) -> list[SearchHit]:
    hits = []
    for _ in range(draw(st.integers(0, 25))):
        path = draw(st.sampled_from(sorted(FILES)))
        start = draw(st.integers(1, 110))
        end = draw(st.integers(start, min(start + 30, 120)))
        hits.append(_hit(path, FILES[path], start, end))
    return hits


@settings(max_examples=300, deadline=None)
@given(hit_lists(), st.integers(0, 4000))
def test_budget_is_never_exceeded_and_no_chunk_is_cut(hits: list[SearchHit], budget: int) -> None:
    pack = fill_budget(hits, budget, COUNTER)
    assert pack.total_tokens <= budget
    for piece in pack.pieces:
        rendered = render_piece(piece.path, piece.start_line, piece.end_line, piece.language, piece.text)
        assert piece.tokens == COUNTER.count(rendered) + PIECE_MARGIN
        assert piece.text.split("\n") == FILES[piece.path][piece.start_line - 1:piece.end_line]
    # Never cut: every piece is a union of whole hits lying inside it.
    for piece in pack.pieces:
        covered: set[int] = set()
        for hit in hits:
            if hit.path == piece.path and piece.start_line <= hit.start_line and hit.end_line <= piece.end_line:
                covered.update(range(hit.start_line, hit.end_line + 1))
        assert covered == set(range(piece.start_line, piece.end_line + 1))


@settings(max_examples=200, deadline=None)
@given(hit_lists(), st.integers(0, 4000))
def test_pieces_of_a_file_neither_overlap_nor_touch_and_come_in_file_then_line_order(
        hits: list[SearchHit], budget: int) -> None:
    pack = fill_budget(hits, budget, COUNTER)
    seen_files: list[str] = []
    for piece in pack.pieces:
        if not seen_files or seen_files[-1] != piece.path:
            assert piece.path not in seen_files, "a file's pieces must be together"
            seen_files.append(piece.path)
    for path in seen_files:
        spans = [(p.start_line, p.end_line) for p in pack.pieces if p.path == path]
        assert spans == sorted(spans)
        assert all(a_end + 1 < b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:]))
    best_rank = {path: min(p.rank for p in pack.pieces if p.path == path) for path in seen_files}
    assert [best_rank[p] for p in seen_files] == sorted(best_rank[p] for p in seen_files)


def test_adjacent_and_overlapping_chunks_merge_into_one_labelled_piece() -> None:
    lines = FILES["pkg/mod0.py"]
    hits = [_hit("pkg/mod0.py", lines, 10, 14), _hit("pkg/mod0.py", lines, 15, 20),
            _hit("pkg/mod0.py", lines, 18, 25), _hit("pkg/mod0.py", lines, 40, 42)]
    pack = fill_budget(hits, 10_000, COUNTER)
    assert [p.label for p in pack.pieces] == ["pkg/mod0.py:10-25", "pkg/mod0.py:40-42"]
    assert pack.pieces[0].symbols == ("f10", "f15", "f18")
    assert pack.render().startswith("pkg/mod0.py:10-25\n```python\n")


def test_a_chunk_that_does_not_fit_is_left_out_whole_and_smaller_ones_still_fill() -> None:
    big = FILES["pkg/mod1.py"]
    small = FILES["pkg/mod2.py"]
    hits = [_hit("pkg/mod1.py", big, 1, 100), _hit("pkg/mod2.py", small, 5, 6), _hit("pkg/mod2.py", small, 50, 51)]
    cost_small = COUNTER.count(render_piece("pkg/mod2.py", 5, 6, "python", "\n".join(small[4:6]))) + PIECE_MARGIN
    pack = fill_budget(hits, cost_small * 3, COUNTER)
    assert [p.label for p in pack.pieces] == ["pkg/mod2.py:5-6", "pkg/mod2.py:50-51"]
    assert pack.left_out == 1 and pack.candidates == 3


def test_a_merge_that_would_overflow_keeps_the_piece_as_it_was() -> None:
    lines = FILES["pkg/mod3.py"]
    first = _hit("pkg/mod3.py", lines, 10, 12)
    neighbour = _hit("pkg/mod3.py", lines, 13, 60)
    budget = COUNTER.count(render_piece("pkg/mod3.py", 10, 12, "python", "\n".join(lines[9:12]))) + PIECE_MARGIN + 5
    pack = fill_budget([first, neighbour], budget, COUNTER)
    assert [p.label for p in pack.pieces] == ["pkg/mod3.py:10-12"] and pack.left_out == 1


def test_pieces_of_one_long_line_are_kept_apart() -> None:
    long_line = "x = [" + ", ".join(str(n) for n in range(400)) + "]"
    halves = [SearchHit("min.js", 1, 1, None, "javascript", 1.0, "window", long_line[:800]),
              SearchHit("min.js", 1, 1, None, "javascript", 0.9, "window", long_line[800:])]
    pack = fill_budget(halves, 10_000, COUNTER)
    assert [p.text for p in pack.pieces] == [long_line[:800], long_line[800:]]


def test_zero_budget_and_no_hits_give_an_empty_pack() -> None:
    lines = FILES["pkg/mod0.py"]
    assert fill_budget([_hit("pkg/mod0.py", lines, 1, 3)], 0, COUNTER).pieces == ()
    empty = fill_budget([], 500, COUNTER)
    assert empty.pieces == () and empty.total_tokens == 0 and empty.to_json()["chunks"] == []


def test_budget_split_subtracts_everything_and_respects_the_cap() -> None:
    b = Budget.split(window=8192, reserved_output=1024, system=300, history=2000, question=50)
    assert b.code == 8192 - 1024 - 300 - 2000 - 50
    assert Budget.split(8192, 1024, 300, 2000, 50, cap=4000).code == 4000
    assert Budget.split(4096, 1024, 300, 5000, 50, cap=4000).code == 0


def test_json_form_has_the_contract_fields() -> None:
    lines = FILES["pkg/mod0.py"]
    pack = fill_budget([_hit("pkg/mod0.py", lines, 3, 9, 0.7)], 2000, COUNTER)
    data = pack.to_json()
    assert data["budget"] == 2000 and data["total_tokens"] == pack.pieces[0].tokens
    chunk = data["chunks"][0]
    assert {k: chunk[k] for k in ("path", "start_line", "end_line")} == {"path": "pkg/mod0.py", "start_line": 3,
                                                                         "end_line": 9}
    assert chunk["tokens"] == estimate_tokens(render_piece("pkg/mod0.py", 3, 9, "python", "\n".join(lines[2:9]))) \
        + PIECE_MARGIN
    assert chunk["scores"] == {"fused": 0.7, "dense": 0.35, "lexical": 2.1}
