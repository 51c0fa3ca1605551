"""Reading files safely: real bytes on disk, real races between discover and read."""

from __future__ import annotations

import codecs
import hashlib
import os
import random
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from indexer.discover import SYMLINK_REASON, Candidate, discover_files
from indexer.reading import SourceFile, read_source
from indexer.records import SkippedFile
from indexer.settings import MIB, IndexSettings

REPO_ROOT = Path(__file__).resolve().parents[1]


def _write(root: Path, rel: str, data: bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _candidate(root: Path, rel: str) -> Candidate:
    st = os.lstat(root / rel)
    return Candidate(rel, st.st_size, st.st_mtime_ns, st.st_ino)


def _read(root: Path, rel: str, data: bytes, max_bytes: int = MIB) -> SourceFile | SkippedFile:
    _write(root, rel, data)
    return read_source(root, _candidate(root, rel), max_bytes)


def _source(result: SourceFile | SkippedFile) -> SourceFile:
    assert isinstance(result, SourceFile), result
    return result


def _reason(result: SourceFile | SkippedFile) -> str:
    assert isinstance(result, SkippedFile), result
    return result.reason


# -- text and identity --------------------------------------------------------


def test_utf8_source_carries_text_hash_and_the_stat_of_what_was_read(tmp_path: Path) -> None:
    data = "def hello():\n    return 'héllo'\n".encode()
    got = _source(_read(tmp_path, "pkg/hello.py", data))

    st = os.stat(tmp_path / "pkg/hello.py")
    assert got.text == data.decode()
    assert got.content_hash == hashlib.sha256(data).hexdigest()
    assert (got.size, got.mtime_ns, got.inode) == (st.st_size, st.st_mtime_ns, st.st_ino)
    assert (got.path, got.language, got.note) == ("pkg/hello.py", "python", "")


def test_unknown_extension_is_text_and_empty_file_is_indexed(tmp_path: Path) -> None:
    got = _source(_read(tmp_path, "NOTES", b""))
    assert (got.text, got.language, got.size) == ("", "text", 0)
    assert got.content_hash == hashlib.sha256(b"").hexdigest()


def test_binary_content_with_a_source_extension_is_skipped(tmp_path: Path) -> None:
    data = b"import os\n" + bytes(range(256)) * 4
    assert _reason(_read(tmp_path, "fake.py", data)) == "binary content"


def test_few_invalid_utf8_bytes_are_replaced_and_counted(tmp_path: Path) -> None:
    data = b"x = 1\n" * 100 + b"name = 'caf\xe9'\n# \xff\xfe\n"  # 3 bad bytes in 622
    got = _source(_read(tmp_path, "latin.py", data))
    assert got.note == "3 invalid UTF-8 bytes replaced"
    assert got.text.count("\ufffd") == 3
    assert got.content_hash == hashlib.sha256(data).hexdigest()


def test_one_percent_invalid_is_the_limit(tmp_path: Path) -> None:
    ok = b"a" * 990 + b"\xff" * 10  # exactly 1%
    too_many = b"a" * 989 + b"\xff" * 11
    assert _source(_read(tmp_path, "ok.txt", ok)).note == "10 invalid UTF-8 bytes replaced"
    assert _reason(_read(tmp_path, "bad.txt", too_many)) == "not valid UTF-8 text"


def test_mostly_invalid_utf8_is_not_text(tmp_path: Path) -> None:
    data = "Grüße aus Köln, schöne Straße\n".encode("latin-1") * 3 + bytes(range(0x80, 0x100))
    assert _reason(_read(tmp_path, "legacy.txt", data)) == "not valid UTF-8 text"


def test_utf8_bom_is_dropped(tmp_path: Path) -> None:
    got = _source(_read(tmp_path, "bom.py", codecs.BOM_UTF8 + b"print('hi')\n"))
    assert (got.text, got.note) == ("print('hi')\n", "")


@pytest.mark.parametrize(
    ("encoding", "bom", "note"),
    [("utf-16-le", codecs.BOM_UTF16_LE, "decoded as UTF-16"),
     ("utf-16-be", codecs.BOM_UTF16_BE, "decoded as UTF-16"),
     ("utf-32-le", codecs.BOM_UTF32_LE, "decoded as UTF-32"),
     ("utf-32-be", codecs.BOM_UTF32_BE, "decoded as UTF-32")],
)
def test_utf16_and_utf32_with_bom_are_decoded(tmp_path: Path, encoding: str, bom: bytes, note: str) -> None:
    text = "using System;\n// naïve ☃ café\nclass A {}\n"
    data = bom + text.encode(encoding)  # full of NUL bytes, yet text
    got = _source(_read(tmp_path, "A.cs", data))
    assert (got.text, got.note) == (text, note)
    assert got.content_hash == hashlib.sha256(data).hexdigest()


# -- minified and generated -----------------------------------------------------


def test_five_megabyte_one_line_minified_js_is_skipped(tmp_path: Path) -> None:
    data = b"var a=1;" * (5 * 1_000_000 // 8)  # 5,000,000 chars, no newline
    got = read_source(tmp_path, _candidate_after_write(tmp_path, "app.js", data), 8 * MIB)
    assert _reason(got) == "minified or generated (lines of 5,000,000 chars)"


def _candidate_after_write(root: Path, rel: str, data: bytes) -> Candidate:
    _write(root, rel, data)
    return _candidate(root, rel)


def test_long_line_limit_depends_on_language(tmp_path: Path) -> None:
    body = b"x = 1\n" * 200 + b"DATA = '" + b"a" * 5000 + b"'\n"
    assert isinstance(_read(tmp_path, "table.py", body), SourceFile)
    assert _reason(_read(tmp_path, "table.js", body)) == "minified or generated (lines of 5,009 chars)"


def test_any_file_with_a_huge_line_is_skipped(tmp_path: Path) -> None:
    data = b"# Title\n\n" + b"word " * 30_000 + b"\n"
    assert _reason(_read(tmp_path, "doc.md", data)) == "minified or generated (lines of 150,000 chars)"


def test_long_average_lines_are_skipped_except_in_prose(tmp_path: Path) -> None:
    data = (b"v" * 500 + b"\n") * 20
    assert _reason(_read(tmp_path, "gen.py", data)) == "minified or generated (lines of 500 chars on average)"
    assert isinstance(_read(tmp_path, "essay.md", data), SourceFile)
    assert isinstance(_read(tmp_path, "short.json", b'{"k": "' + b"v" * 600 + b'"}'), SourceFile)


@pytest.mark.parametrize(
    "head",
    [b"// Code generated by protoc-gen-go. DO NOT EDIT.\n", b"# @generated by tool\n",
     b"#!/bin/sh\n# This file is generated; DO NOT EDIT\n"],
)
def test_generated_marker_in_the_first_lines_is_skipped(tmp_path: Path, head: bytes) -> None:
    assert _reason(_read(tmp_path, "gen.go", head + b"package x\n" * 10)) == "generated file"


def test_generated_marker_further_down_is_ignored(tmp_path: Path) -> None:
    data = b"package x\n" * 20 + b"// the tool writes DO NOT EDIT headers\n"
    assert isinstance(_read(tmp_path, "x.go", data), SourceFile)


# -- races and unreadable files ----------------------------------------------


def test_file_deleted_between_discover_and_read(tmp_path: Path) -> None:
    _write(tmp_path, "a.py", b"x = 1\n")
    (found,) = discover_files(tmp_path, IndexSettings()).files
    (tmp_path / "a.py").unlink()
    assert _reason(read_source(tmp_path, found, MIB)) == "vanished before it could be read"


def test_file_replaced_by_a_symlink_is_not_followed(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    _write(repo, "a.py", b"x = 1\n")
    secret = _write(tmp_path, "outside/secret.py", b"SECRET = 'hunter2'\n")
    (found,) = discover_files(repo, IndexSettings()).files
    (repo / "a.py").unlink()
    os.symlink(secret, repo / "a.py")
    assert _reason(read_source(repo, found, MIB)) == SYMLINK_REASON


def test_folder_replaced_by_a_symlink_is_not_followed(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    _write(repo, "pkg/a.py", b"x = 1\n")
    _write(tmp_path, "outside/a.py", b"SECRET = 'hunter2'\n")
    (found,) = discover_files(repo, IndexSettings()).files
    shutil.rmtree(repo / "pkg")
    os.symlink(tmp_path / "outside", repo / "pkg")
    assert _reason(read_source(repo, found, MIB)) == SYMLINK_REASON


@pytest.mark.parametrize(
    ("swap", "reason"),
    [(os.mkfifo, "not a regular file (FIFO)"), (os.mkdir, "not a regular file (directory)")],
)
def test_file_replaced_by_a_fifo_or_folder(
    tmp_path: Path, swap: Callable[[Path], None], reason: str
) -> None:
    _write(tmp_path, "a.py", b"x = 1\n")
    (found,) = discover_files(tmp_path, IndexSettings()).files
    (tmp_path / "a.py").unlink()
    swap(tmp_path / "a.py")  # a FIFO must not block the open: nobody ever writes to it
    assert _reason(read_source(tmp_path, found, MIB)) == reason


def test_file_grown_past_the_limit_after_discovery(tmp_path: Path) -> None:
    _write(tmp_path, "a.py", b"x = 1\n")
    (found,) = discover_files(tmp_path, IndexSettings()).files
    _write(tmp_path, "a.py", b"#" * 2000)
    assert _reason(read_source(tmp_path, found, 1000)) == "larger than 1000 bytes"


_UNREADABLE_PROBE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from indexer.discover import Candidate
    from indexer.reading import read_source
    root = Path(sys.argv[1])
    try:
        open(root / "locked.py", "rb").read()
        print("open succeeded")
    except PermissionError:
        print("open refused")
    print(read_source(root, Candidate("locked.py", 6, 0, 0), 1 << 20).reason)
    """
)


def test_unreadable_file_is_skipped_with_the_os_error(tmp_path: Path) -> None:
    """chmod 000 does not stop root: the probe runs without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH.

    Dropping both capabilities from the bounding set (setpriv) makes a root
    process obey file modes; the probe first proves that a plain open() fails.
    """
    locked = _write(tmp_path, "locked.py", b"x = 1\n")
    locked.chmod(0)
    command = [sys.executable, "-c", _UNREADABLE_PROBE, str(tmp_path)]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("root without setpriv cannot be made to obey file modes")
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["open refused", "cannot be read: Permission denied"]


def test_arbitrary_bytes_never_raise(tmp_path: Path) -> None:
    rng = random.Random(20240601)
    seeds = [codecs.BOM_UTF16_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF8, b"", b"\xff", b"\n" * 3]
    for n in range(300):
        data = rng.choice(seeds) + rng.randbytes(rng.randrange(0, 3000))
        result = _read(tmp_path, f"f{n}.js", data)
        assert isinstance(result, (SourceFile, SkippedFile))
        if isinstance(result, SourceFile):
            assert result.content_hash == hashlib.sha256(data).hexdigest()
