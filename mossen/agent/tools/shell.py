"""run_command: a shell command in the repository, with a timeout, an output cap and a clean environment.

The command runs in its own process group, so on timeout the whole group
(everything it started) is killed; so is whatever it left running in the
background once the shell has exited. Output is read as it comes and only its
first and last `MAX_OUTPUT` bytes are kept, however much the command prints.
Credentials are removed from the child's environment: any variable whose name
says key, token, secret, password, credentials or DSN, and the well-known cloud
ones.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
from pathlib import Path
from typing import IO, Any, Mapping

from mossen.agent.records import Action, ToolFailure, ToolResult
from mossen.agent.tools.args import capped, int_arg, text_arg
from mossen.providers.base import ToolSpec

MAX_OUTPUT = 16_000
DEFAULT_TIMEOUT = 120
DRAIN_SECONDS = 2.0  # after the kill, how long to wait for the rest of the output
_SECRET_NAME = re.compile(
    r"(?i)(^|_)(API_?KEY|KEY|KEYS|TOKEN|TOKENS|SECRET|SECRETS|PASSWORD|PASSWD|PASS|CREDENTIALS?|AUTH|PAT|"
    r"PRIVATE|SESSION|COOKIE|DSN|CONNECTION_STRING)($|_)|PASSW(OR)?D|^MYSQL_PWD$|^DATABASE_URL$"
)  # PGPASSWORD, MYSQL_PWD: no `_` before the word; DSNs and DATABASE_URL carry passwords
_SECRET_PREFIXES = ("AWS_", "AZURE_", "GOOGLE_APPLICATION_CREDENTIALS", "GCP_", "DIGITALOCEAN_", "HEROKU_",
                    "VAULT_", "NPM_CONFIG__AUTH", "OPENAI_", "ANTHROPIC_", "HF_TOKEN", "HUGGING")


def scrubbed_environment(env: Mapping[str, str]) -> dict[str, str]:
    """`env` without credentials (names like *_KEY, *_TOKEN, *_SECRET, AWS_*, …)."""
    return {k: v for k, v in env.items()
            if not _SECRET_NAME.search(k) and not k.upper().startswith(_SECRET_PREFIXES)}


class RunCommand:
    """run_command(command, timeout): `sh -c command` in the repository root."""

    effect = "exec"
    spec = ToolSpec("run_command", "Run a shell command in the repository root (e.g. tests, git status, a build). "
                    "Returns its exit code and output (stdout and stderr).",
                    {"type": "object", "additionalProperties": False, "required": ["command"],
                     "properties": {"command": {"type": "string", "description": "the shell command"},
                                    "timeout": {"type": "integer", "description": "seconds (default 120)"}}})

    def __init__(self, root: Path, env: Mapping[str, str], default_timeout: int = DEFAULT_TIMEOUT,
                 max_timeout: int = 1800) -> None:
        self.root, self.env = root, scrubbed_environment(env)
        self.default_timeout, self.max_timeout = default_timeout, max_timeout

    def plan(self, arguments: dict[str, Any]) -> Action:
        command = _command(arguments)
        int_arg(arguments, "timeout", self.default_timeout, 1, self.max_timeout)
        return Action("run_command", "exec", command=command, preview=f"$ {command}")

    def run(self, arguments: dict[str, Any]) -> ToolResult:
        command = _command(arguments)
        timeout = int_arg(arguments, "timeout", self.default_timeout, 1, self.max_timeout)
        proc = subprocess.Popen(["/bin/sh", "-c", command], cwd=self.root, env=self.env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        capture = _Capture(MAX_OUTPUT)
        reader = threading.Thread(target=capture.pump, args=(proc.stdout,), daemon=True)
        reader.start()
        try:
            proc.wait(timeout=timeout)
            status = f"exit code {proc.returncode}"
        except subprocess.TimeoutExpired:
            status = f"timed out after {timeout} s; the command and everything it started were killed"
        except KeyboardInterrupt:  # Ctrl-C stops the turn: its own session got no SIGINT, so stop it here
            _kill_group(proc)
            raise
        finally:
            _kill_group(proc)  # a timeout, or background processes the command left behind
        reader.join(DRAIN_SECONDS)
        if reader.is_alive():  # a process that left the group (setsid) still holds the output open
            status += "; a process that left its process group still holds the output open and was not waited for"
        return ToolResult(capped(f"$ {command}\n{capture.text()}\n[{status}]", MAX_OUTPUT))


class _Capture:
    """The first and last `limit` bytes of a stream, and how many fell between."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.head, self.tail = bytearray(), bytearray()
        self.dropped = 0
        self._lock = threading.Lock()

    def pump(self, stream: IO[bytes]) -> None:
        """Read `stream` to its end (run in a thread)."""
        try:
            for block in iter(lambda: stream.read1(65536), b""):  # type: ignore[attr-defined]
                self.feed(block)
        except (OSError, ValueError):
            pass

    def feed(self, data: bytes) -> None:
        """Keep what fits in the head, then the latest bytes in the tail."""
        with self._lock:
            room = self.limit - len(self.head)
            if room > 0:
                self.head += data[:room]
                data = data[room:]
            self.tail += data
            if len(self.tail) > self.limit:
                self.dropped += len(self.tail) - self.limit
                del self.tail[: len(self.tail) - self.limit]

    def text(self) -> str:
        """What was kept, with a note of what was cut."""
        with self._lock:
            cut = f"\n… [{self.dropped} bytes cut] …\n" if self.dropped else ""
            return (bytes(self.head) + cut.encode() + bytes(self.tail)).decode("utf-8", errors="replace")


def _command(arguments: dict[str, Any]) -> str:
    command = text_arg(arguments, "command")
    if "\0" in command:  # no program can receive it; subprocess would raise ValueError mid-turn
        raise ToolFailure("the command contains a NUL character")
    return command


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, then SIGKILL what is left after a grace second."""
    for sig, wait in ((signal.SIGTERM, 1.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            if sig == signal.SIGTERM:
                os.killpg(proc.pid, signal.SIGKILL)  # children that ignored SIGTERM
            return
        except subprocess.TimeoutExpired:
            continue
        except ProcessLookupError:
            return
