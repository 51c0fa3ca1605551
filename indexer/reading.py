"""Read one discovered file safely: no symlinks followed, any bytes decoded or refused with a reason.

`read_source` never raises for a file's content or for a race with the file
system (deleted, replaced by a link or a FIFO, grown past the limit): every
such case becomes a `SkippedFile`.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from indexer.discover import SYMLINK_REASON, Candidate, file_kind, format_size
from indexer.languages import language_for_path
from indexer.records import SkippedFile

BINARY_SNIFF_BYTES = 8192
MAX_INVALID_SHARE = 0.01  # more invalid UTF-8 than this and the file is not text
LONG_LINE_CHARS = 4_000  # in a js/ts/css/json/html file: minified
MAX_AVERAGE_LINE_CHARS = 400
MIN_CHARS_FOR_AVERAGE = 4_000  # a short one-line file is not "minified"
HUGE_LINE_CHARS = 100_000  # in any file
MARKER_LINES = 5

MINIFIABLE_LANGUAGES = frozenset({"javascript", "typescript", "tsx", "css", "json", "html"})
# Prose may be one long line per paragraph; only the long-line limits apply to it.
PROSE_LANGUAGES = frozenset({"markdown", "rst", "text"})
# Split so that this module's own text never looks generated to mossen.
GENERATED_MARKERS = ("@" + "generated", "DO NOT " + "EDIT")

_BOMS: tuple[tuple[bytes, str, str], ...] = (
    # UTF-32 first: its little-endian BOM begins with UTF-16's.
    (codecs.BOM_UTF32_LE, "utf-32", "decoded as UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "decoded as UTF-32"),
    (codecs.BOM_UTF8, "utf-8-sig", ""),
    (codecs.BOM_UTF16_LE, "utf-16", "decoded as UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "decoded as UTF-16"),
)
_ESCAPED_BYTES = re.compile("[\udc80-\udcff]")


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file's decoded text with the identity of the bytes it came from."""

    path: str
    text: str
    content_hash: str  # sha256 hex of the raw bytes read
    size: int
    mtime_ns: int
    inode: int
    language: str  # language_for_path(...) or "text"
    note: str = ""  # e.g. "decoded as UTF-16", "3 invalid UTF-8 bytes replaced"


def read_source(repo: Path, candidate: Candidate, max_bytes: int) -> SourceFile | SkippedFile:
    """Read and decode one candidate, or say why it was left out."""
    path = candidate.path
    try:
        fd = _open_nofollow(os.fspath(repo), path)
    except OSError as exc:
        return SkippedFile(path, _open_failure(exc))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return SkippedFile(path, f"not a regular file ({file_kind(st.st_mode)})")
        data = _read_at_most(fd, max_bytes + 1)
    except OSError as exc:
        return SkippedFile(path, f"cannot be read: {exc.strerror or exc}")
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        return SkippedFile(path, f"larger than {format_size(max_bytes)}")
    language = language_for_path(path) or "text"
    decoded = decode_text(data)
    if isinstance(decoded, str):
        return SkippedFile(path, decoded)
    text, note = decoded
    refusal = content_refusal(text, language)
    if refusal:
        return SkippedFile(path, refusal)
    return SourceFile(
        path=path, text=text, content_hash=hashlib.sha256(data).hexdigest(),
        size=st.st_size, mtime_ns=st.st_mtime_ns, inode=st.st_ino, language=language, note=note,
    )


def _open_nofollow(root: str, rel: str) -> int:
    """Open `root/rel` read-only refusing a symlink at every step, not only the last."""
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW
    parts = rel.split("/")
    dir_fd = os.open(root, flags | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            next_fd = _open_folder(part, dir_fd, flags)
            os.close(dir_fd)
            dir_fd = next_fd
        # O_NONBLOCK: a FIFO swapped in after discovery must not hang the open.
        return os.open(parts[-1], flags | os.O_NONBLOCK, dir_fd=dir_fd)
    finally:
        os.close(dir_fd)


def _open_folder(name: str, dir_fd: int, flags: int) -> int:
    """Open a folder of the path; a symlink there fails with ELOOP, as a final one does."""
    try:
        return os.open(name, flags | os.O_DIRECTORY, dir_fd=dir_fd)
    except NotADirectoryError:
        # Linux reports a symlink met with O_NOFOLLOW|O_DIRECTORY as ENOTDIR.
        if stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode):
            raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), name) from None
        raise


def _open_failure(exc: OSError) -> str:
    if exc.errno == errno.ENOENT:
        return "vanished before it could be read"
    if exc.errno == errno.ELOOP:
        return SYMLINK_REASON  # O_NOFOLLOW met a link in the path
    return f"cannot be read: {exc.strerror or exc}"


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    remaining = limit
    while remaining > 0:
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def decode_text(data: bytes) -> tuple[str, str] | str:
    """(text, note) for bytes that are text, else the reason they are not."""
    for bom, encoding, note in _BOMS:
        if data.startswith(bom):
            text = data.decode(encoding, "replace")
            return text, note
    if b"\0" in data[:BINARY_SNIFF_BYTES]:
        return "binary content"
    try:
        return data.decode("utf-8"), ""
    except UnicodeDecodeError:
        pass
    escaped = data.decode("utf-8", "surrogateescape")
    text, invalid = _ESCAPED_BYTES.subn("\ufffd", escaped)
    if invalid > MAX_INVALID_SHARE * len(data):
        return "not valid UTF-8 text"
    plural = "byte" if invalid == 1 else "bytes"
    return text, f"{invalid} invalid UTF-8 {plural} replaced"


def content_refusal(text: str, language: str) -> str:
    """Why decoded text is not worth indexing (minified, generated), or ""."""
    head = text[: MARKER_LINES * 1000].split("\n", MARKER_LINES)[:MARKER_LINES]
    if any(marker in line for line in head for marker in GENERATED_MARKERS):
        return "generated file"
    if not text:
        return ""
    longest = max(map(len, text.split("\n")))
    if longest > HUGE_LINE_CHARS or (longest > LONG_LINE_CHARS and language in MINIFIABLE_LANGUAGES):
        return f"minified or generated (lines of {longest:,} chars)"
    if language not in PROSE_LANGUAGES and len(text) >= MIN_CHARS_FOR_AVERAGE:
        newlines = text.count("\n")
        lines = newlines + (0 if text.endswith("\n") else 1)
        average = (len(text) - newlines) // lines
        if average > MAX_AVERAGE_LINE_CHARS:
            return f"minified or generated (lines of {average:,} chars on average)"
    return ""
