"""`mossen chat` in a real pseudo-terminal (tmux): approvals, /undo, Ctrl-C on a running command, resume.

The model is the scripted FAKE (`--model scripted:PATH`); the REPL, prompt_toolkit,
the index, the tools, the shell command and the session files are real. Every
wait polls the screen for text with a generous deadline (the machine may be busy);
a failure prints the screen.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from tests.conftest import Mossen, make_repo

pytestmark = pytest.mark.slow

TMUX = shutil.which("tmux")
TURN_TIMEOUT = 180.0  # seconds: a turn on a loaded 2-core machine (the first one loads the embedder)
STEP_TIMEOUT = 60.0
KILL_TIMEOUT = 20.0  # seconds from Ctrl-C until the command's processes are gone (sleep 30 would end by itself)
APP = 'def greet(name):\n    return "hello " + name\n\n\nprint(greet("world"))\n'
QUESTION = "QUESTION_MARK please make greet say goodbye"
ALLOW = "Allow? [y]es / [n]o / [a]lways this session:"
# Runs the program and writes its exit status to a file. Ctrl-C reaches the wrapper too: a handler that does
# nothing keeps it alive (a shell would die of it), and the program gets the default handling back at exec.
KEEP_STATUS = ("import signal, subprocess, sys; signal.signal(signal.SIGINT, lambda *_: None); "
               "code = subprocess.call(sys.argv[2:]); open(sys.argv[1], 'w').write(str(code))")


class Terminal:
    """A private tmux server; each program runs in its own session and stays on screen after it exits."""

    def __init__(self, folder: Path) -> None:
        self.socket, self.conf = folder / "tmux.sock", folder / "tmux.conf"
        self.conf.write_text("set -g remain-on-exit on\nset -g history-limit 50000\n", encoding="utf-8")
        self.name = ""
        self.status = folder / "none.status"

    def tmux(self, *args: str) -> str:
        assert TMUX is not None, "tmux is needed for the terminal tests (Debian package tmux)"
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}  # the pane's size rules
        done = subprocess.run([TMUX, "-S", str(self.socket), "-f", str(self.conf), *args], capture_output=True,
                              text=True, timeout=30, env=env)
        assert done.returncode == 0, f"tmux {' '.join(args)}: {done.stderr}"
        return done.stdout

    def start(self, name: str, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        """Run `argv` in a new 200x50 terminal; a wrapper around it keeps its exit status in a file."""
        pairs = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
        self.status = self.socket.parent / f"{name}.status"
        wrapper = [sys.executable, "-c", KEEP_STATUS, str(self.status), *argv]
        self.tmux("new-session", "-d", "-s", name, "-x", "200", "-y", "50", "-c", str(cwd), *pairs, "--",
                  *wrapper)
        self.name = name

    def screen(self) -> str:
        """Everything the program has shown, scrollback included, wrapped lines joined."""
        return self.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", self.name)

    def type(self, line: str) -> None:
        """Type a line and press Enter."""
        self.tmux("send-keys", "-t", self.name, "-l", line)
        self.tmux("send-keys", "-t", self.name, "Enter")

    def press(self, key: str) -> None:
        self.tmux("send-keys", "-t", self.name, key)

    def wait_for(self, text: str, times: int = 1, timeout: float = STEP_TIMEOUT) -> str:
        """The screen once `text` is on it `times` times; fails with the screen after `timeout` s."""
        return self.wait_until(lambda screen: screen.count(text) >= times, f"{text!r} x{times}", timeout)

    def wait_until(self, ok: Callable[[str], bool], what: str, timeout: float = STEP_TIMEOUT) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if ok(screen):
                return screen
            if time.monotonic() > deadline:
                pytest.fail(f"not seen within {timeout:.0f} s: {what}\n---- the screen ----\n{screen}")
            time.sleep(0.2)

    def exit_status(self, timeout: float = STEP_TIMEOUT) -> int:
        """The program's exit status, once it has exited.

        Read from the wrapper's file: tmux 3.3 sometimes leaves an exited pane unreaped, its status unknown.
        """
        deadline = time.monotonic() + timeout
        while not (self.status.exists() and self.status.read_text().strip()):
            if time.monotonic() > deadline:
                pytest.fail(f"the program did not exit within {timeout:.0f} s\n---- the screen ----\n{self.screen()}")
            time.sleep(0.2)
        return int(self.status.read_text())

    def close(self) -> None:
        if self.socket.exists():
            subprocess.run([TMUX or "tmux", "-S", str(self.socket), "kill-server"], capture_output=True, timeout=30)


def marked_processes(mark: str) -> dict[int, str]:
    """Live processes whose environment holds MOSSEN_TEST_MARK=mark (this test's, and nobody else's): pid -> argv."""
    needle = f"MOSSEN_TEST_MARK={mark}".encode()
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue  # gone, or not ours to read
    return found


def sleeps(mark: str) -> dict[int, str]:
    return {pid: argv for pid, argv in marked_processes(mark).items() if "sleep 30" in argv}


def wait_for_processes(mark: str, present: bool, timeout: float = STEP_TIMEOUT) -> dict[int, str]:
    deadline = time.monotonic() + timeout
    while True:
        found = sleeps(mark)
        if bool(found) == present or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def script(path: Path, *turns: list[dict[str, Any]]) -> Path:
    """A script for the FAKE model."""
    path.write_text(json.dumps({"turns": list(turns)}), encoding="utf-8")
    return path


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(tmp_path)
    try:
        yield term
    finally:
        term.close()


@pytest.fixture
def mark() -> Iterator[str]:
    token = secrets.token_hex(8)
    yield token
    for pid in marked_processes(token):  # only processes this test started: they carry its mark
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def test_approve_an_edit_undo_it_interrupt_a_command_exit_and_resume(
        tmp_path: Path, mossen: Mossen, terminal: Terminal, mark: str) -> None:
    repo = make_repo(tmp_path / "repo", {"app.py": APP, "README.md": "Greets the world.\n"})
    indexed = mossen.run("index", str(repo))
    assert indexed.returncode == 0, indexed.stderr
    first = script(tmp_path / "first.json",
                   [{"text": "Let me read it."}, {"tool": "read_file", "arguments": {"path": "app.py"}, "id": "r1"}],
                   [{"tool": "edit_file", "id": "e1",
                     "arguments": {"path": "app.py", "old": 'return "hello "', "new": 'return "goodbye "'}}],
                   [{"text": "Greet now says **goodbye**."}],
                   [{"tool": "run_command", "arguments": {"command": "sleep 30"}, "id": "x1"}],
                   [{"text": "SHOULD_NOT_BE_SHOWN"}])
    env = {key: value for key, value in mossen.env().items()
           if key in ("MOSSEN_INDEX_DIR", "MOSSEN_CONFIG", "HF_HUB_OFFLINE")}
    env.update(XDG_DATA_HOME=str(tmp_path / "data"), MOSSEN_CHAT_SESSIONS_DIR=str(tmp_path / "sessions"),
               MOSSEN_TEST_MARK=mark)
    chat = [sys.executable, "-m", "mossen", "chat", "--model", f"scripted:{first}"]

    # (a) a question; the model reads, then asks to edit; the edit waits for a yes
    terminal.start("chat", chat, repo, env)
    terminal.wait_for("/help for commands", timeout=TURN_TIMEOUT)
    terminal.type(QUESTION)
    screen = terminal.wait_for(ALLOW, timeout=TURN_TIMEOUT)
    assert "● read_file app.py" in screen and "● edit_file app.py" in screen
    assert '-    return "hello " + name' in screen and '+    return "goodbye " + name' in screen
    assert (repo / "app.py").read_text() == APP  # nothing changes before the answer
    terminal.type("y")
    screen = terminal.wait_for("tokens in", timeout=TURN_TIMEOUT)
    assert "✓ edited app.py" in screen and "Greet now says goodbye." in screen
    assert (repo / "app.py").read_text() == APP.replace('"hello "', '"goodbye "')

    # (b) /undo puts the file back
    terminal.type("/undo")
    terminal.wait_for("restored app.py")
    assert (repo / "app.py").read_text() == APP

    # (c) a slow command, approved, then Ctrl-C: the turn stops, the REPL lives on, no process is left
    terminal.type("now run the slow command")
    terminal.wait_for(ALLOW, times=2, timeout=TURN_TIMEOUT)
    terminal.type("y")
    running = wait_for_processes(mark, present=True)
    assert running, f"the approved `sleep 30` never started\n{terminal.screen()}"
    started = time.monotonic()
    terminal.press("C-c")
    screen = terminal.wait_for("turn interrupted; the session is kept")
    assert "SHOULD_NOT_BE_SHOWN" not in screen
    # well before the 30 s in which sleep would end by itself
    assert wait_for_processes(mark, present=False, timeout=KILL_TIMEOUT) == {}, "Ctrl-C left the command running"
    assert time.monotonic() - started < 30
    terminal.wait_for("tokens in", times=2)
    terminal.type("/help")
    terminal.wait_for("put back the files the last edit set changed")

    # (d) /exit names the session
    terminal.type("/exit")
    screen = terminal.wait_for("continues it")
    assert terminal.exit_status() == 0
    found = re.search(r"mossen chat --resume (\S+)` continues it", screen)
    assert found, screen
    session_id = found.group(1)

    # (e) --resume shows the earlier conversation, and /exit leaves again
    second = script(tmp_path / "second.json", [{"text": "unused"}])
    terminal.start("resumed", [*chat[:-1], f"scripted:{second}", "--resume", session_id], repo, env)
    screen = terminal.wait_for("/help for commands", timeout=TURN_TIMEOUT)
    assert f"session {session_id}" in screen
    assert f"you: {QUESTION}" in screen and "you: now run the slow command" in screen
    assert "Greet now says **goodbye**." in screen
    terminal.type("/exit")
    terminal.wait_for("continues it")
    assert terminal.exit_status() == 0
    assert not (tmp_path / "second.json.requests.jsonl").exists()  # resuming alone asks the model nothing
