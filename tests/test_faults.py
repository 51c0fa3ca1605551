"""What mossen does when a model server fails: each fault against a loopback fake of the real server.

Faults: connection refused, timeouts, 429 with Retry-After, 5xx, a stream cut
mid-answer, an unknown model name. First at the provider + retry level (no real
waiting: the retry policy's sleep records the waits), then through `mossen ask`
as a real process.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest

from mossen.ask import Answer, collect
from mossen.errors import (
    ProviderError, ProviderTimeout, ProviderUnreachable, RateLimited, ServerError, StreamCut, UnknownModel,
)
from mossen.providers.base import ChatRequest, Message, Provider
from mossen.providers.retry import RetryPolicy, stream_with_retries
from tests.conftest import Mossen, make_repo
from tests.loopback_fakes import (
    FAKES, FakeAnswer, FakeAnthropicServer, FakeCut, FakeHang, FakeOllamaServer, FakeOpenAIServer, FakeStatus,
    FakeStreamError, LoopbackFake, free_port, provider_at, provider_for,
)

REQUEST = ChatRequest("You answer questions about code.",
                      (Message("user", "src/pool.py:1-2\n```python\ndef acquire(): ...\n```"),
                       Message("user", "What does acquire do?")), max_output=128, stable_prefix=1)
BASE = 0.25  # the retry policy's first wait in these tests; doubles after
FULL_TEXT = "".join(FakeAnswer().text)  # "Hello from the fake."
# Stream units each fake sends before its second text piece ends (so "Hello from" arrived),
# and before its first text piece (so nothing of the answer arrived).
AFTER_TWO_PIECES = {"openai": 3, "ollama": 2, "anthropic": 5}
BEFORE_TEXT = {"openai": 1, "ollama": 0, "anthropic": 1}
HINTS = {"openai": "OPENAI_BASE_URL", "ollama": "ollama serve", "anthropic": "ANTHROPIC_BASE_URL"}


@dataclass
class Retries:
    """Records what the retry policy would have slept, and each retry notice."""

    waits: list[float] = field(default_factory=list)
    notices: list[tuple[type, float, int]] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)

    def notice(self, error: ProviderError, wait: float, attempt: int) -> None:
        self.notices.append((type(error), wait, attempt))

    def answer(self, provider: Provider, attempts: int = 3, max_delay: float = 30.0) -> Answer:
        """The answer as `mossen ask` collects it, through the real retry loop."""
        policy = RetryPolicy(attempts, BASE, max_delay, sleep=self.sleep)
        return collect(stream_with_retries(provider, REQUEST, policy, self.notice))


def kind_of(fake: LoopbackFake) -> str:
    return next(name for name, cls in FAKES.items() if isinstance(fake, cls))


@pytest.fixture(params=sorted(FAKES))
def fake(request: pytest.FixtureRequest) -> Iterator[LoopbackFake]:
    with FAKES[request.param]() as server:
        yield server


# Provider + retry level.

@pytest.mark.parametrize("kind", sorted(FAKES))
def test_connection_refused_fails_at_once_with_what_to_do(kind: str) -> None:
    retries = Retries()
    provider = provider_at(kind, f"http://127.0.0.1:{free_port()}", "fake-model", timeout=5)
    with pytest.raises(ProviderUnreachable) as caught:
        retries.answer(provider)
    assert "cannot reach" in str(caught.value) and HINTS[kind] in caught.value.hint
    assert retries.waits == []  # another try would be refused the same way


def test_timeouts_are_retried_once_then_reported(fake: LoopbackFake) -> None:
    fake.then(FakeHang(), FakeHang(), FakeHang())
    retries = Retries()
    with pytest.raises(ProviderTimeout, match=r"did not answer within 0\.5 s"):
        retries.answer(provider_for(fake, timeout=0.5))
    assert len(fake.chats()) == 2  # each try already waited the whole timeout
    assert retries.waits == [BASE]


def test_a_timeout_then_an_answer() -> None:
    with FakeOpenAIServer([FakeHang()]) as fake:
        retries = Retries()
        answer = retries.answer(provider_for(fake, timeout=0.5))
    assert (answer.text, answer.partial) == (FULL_TEXT, False)
    assert len(fake.chats()) == 2 and retries.waits == [BASE]


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
@pytest.mark.parametrize("header, wait", [(("Retry-After", "1"), 1.0), (("retry-after-ms", "1500"), 1.5)])
def test_429_waits_what_the_server_asks_then_answers(kind: str, header: tuple[str, str], wait: float) -> None:
    limited = FakeStatus(429, {"error": {"message": "Rate limit reached", "type": "rate_limit_error"}}, (header,))
    with FAKES[kind]([limited]) as fake:
        retries = Retries()
        answer = retries.answer(provider_for(fake))
    assert answer.text == FULL_TEXT
    assert len(fake.chats()) == 2
    assert retries.waits == [wait]  # not the policy's own BASE
    assert retries.notices == [(RateLimited, wait, 1)]


def test_ollama_429_is_retried_after_the_policy_delay() -> None:
    # The ollama client keeps no response headers, so a Retry-After cannot be honoured.
    with FakeOllamaServer([FakeStatus(429, {"error": "too many requests"}, (("Retry-After", "7"),))]) as fake:
        retries = Retries()
        answer = retries.answer(provider_for(fake))
    assert answer.text == FULL_TEXT and len(fake.chats()) == 2 and retries.waits == [BASE]


def test_a_retry_after_beyond_the_cap_is_reported_not_waited_for() -> None:
    with FakeOpenAIServer([FakeStatus(429, {"error": {"message": "slow down"}}, (("Retry-After", "120"),))]) as fake:
        retries = Retries()
        with pytest.raises(RateLimited, match="wait 120 s") as caught:
            retries.answer(provider_for(fake), max_delay=30)
    assert caught.value.retry_after == 120
    assert len(fake.chats()) == 1 and retries.waits == []


def test_5xx_is_retried_up_to_the_attempts_and_named(fake: LoopbackFake) -> None:
    fake.then(FakeStatus(500, {"error": "boom"}), FakeStatus(502, {"error": "bad gateway"}),
              FakeStatus(503, {"error": "unavailable"}))
    retries = Retries()
    with pytest.raises(ServerError, match=r"\(503\)") as caught:
        retries.answer(provider_for(fake))
    assert caught.value.status == 503
    assert len(fake.chats()) == 3
    assert retries.waits == [BASE, 2 * BASE]


def test_a_5xx_then_an_answer(fake: LoopbackFake) -> None:
    fake.then(FakeStatus(500, {"error": "boom"}))
    retries = Retries()
    assert retries.answer(provider_for(fake)).text == FULL_TEXT
    assert len(fake.chats()) == 2 and retries.waits == [BASE]


@pytest.mark.parametrize("clean", [False, True], ids=["socket-closed", "body-ended-early"])
def test_a_stream_cut_mid_answer_gives_the_partial_text_without_a_retry(fake: LoopbackFake, clean: bool) -> None:
    fake.then(FakeCut(after=AFTER_TWO_PIECES[kind_of(fake)], clean=clean))
    retries = Retries()
    answer = retries.answer(provider_for(fake))
    assert (answer.text, answer.partial) == ("Hello from", True)
    assert isinstance(answer.error, StreamCut)
    assert len(fake.chats()) == 1 and retries.waits == []  # a retry would repeat the text already shown


def test_a_stream_cut_before_the_answer_began_is_retried(fake: LoopbackFake) -> None:
    fake.then(FakeCut(after=BEFORE_TEXT[kind_of(fake)]))
    retries = Retries()
    answer = retries.answer(provider_for(fake))
    assert (answer.text, answer.partial) == (FULL_TEXT, False)
    assert len(fake.chats()) == 2 and retries.waits == [BASE]


def test_a_stream_cut_with_nothing_received_is_an_error_not_an_empty_answer() -> None:
    with FakeOpenAIServer([FakeCut(after=1)] * 3) as fake:
        with pytest.raises(StreamCut):
            Retries().answer(provider_for(fake))
    assert len(fake.chats()) == 3


def test_anthropic_error_event_mid_answer_gives_a_partial_answer() -> None:
    with FakeAnthropicServer([FakeStreamError(after=AFTER_TWO_PIECES["anthropic"])]) as fake:
        retries = Retries()
        answer = retries.answer(provider_for(fake))
    assert (answer.text, answer.partial) == ("Hello from", True)
    assert "Overloaded" in str(answer.error)
    assert len(fake.chats()) == 1 and retries.waits == []


def test_anthropic_overloaded_before_the_answer_is_retried() -> None:
    with FakeAnthropicServer([FakeStreamError(after=1)]) as fake:
        retries = Retries()
        answer = retries.answer(provider_for(fake))
    assert answer.text == FULL_TEXT and len(fake.chats()) == 2
    assert retries.notices == [(ServerError, BASE, 1)]


@pytest.mark.parametrize("kind, hint", [("openai", "/v1/models"), ("anthropic", "check the model name"),
                                        ("ollama", "ollama pull fake-model")])
def test_an_unknown_model_is_named_with_what_to_do_and_not_retried(kind: str, hint: str) -> None:
    # Ollama answers 404 by itself for a model never pulled; the others are told to
    script = [] if kind == "ollama" else [FAKES[kind].unknown_model("fake-model")]
    with FAKES[kind](script, model="qwen2.5-coder:7b") as fake:
        retries = Retries()
        with pytest.raises(UnknownModel, match="does not know the model 'fake-model'") as caught:
            retries.answer(provider_at(kind, fake.url, "fake-model"))
    assert hint in caught.value.hint
    assert len(fake.requests) == 1 and retries.waits == []


# Through `mossen ask`, as a real process.

FILES = {
    "src/pool.py": '''"""A pool of keep-alive sessions."""


class SessionPool:
    """Hands out idle sessions and opens new ones up to a limit."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.sessions: list = []

    def acquire(self, host: str):
        """Take an idle session for host from the pool, or open a new one."""
        for session in self.sessions:
            if session.host == host and not session.busy:
                session.busy = True
                return session
        if len(self.sessions) >= self.size:
            raise RuntimeError("pool exhausted")
        session = open_session(host)
        self.sessions.append(session)
        return session
''',
    "src/backoff.py": '''def backoff(attempt: int, base: float = 0.5) -> float:
    """Seconds to wait before retry number attempt."""
    return base * 2 ** attempt
''',
    # the timeout test's model: every other test keeps the default timeout
    ".mossen.toml": '[models."openai:slow"]\ntimeout = 1\n',
}
QUESTION = "How does the session pool hand out sessions?"
slow = pytest.mark.slow


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Mossen:
    return Mossen(tmp_path_factory.mktemp("indexes"))


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory, cli: Mossen) -> Path:
    repo = make_repo(tmp_path_factory.mktemp("faults") / "repo", FILES)
    done = cli.run("index", str(repo))
    assert done.returncode == 0, done.stderr
    return repo


def ask(cli: Mossen, repo: Path, base_url: str, *flags: str, model: str = "openai:x",
        **env: str) -> subprocess.CompletedProcess[str]:
    return cli.run("ask", QUESTION, "--path", str(repo), "--model", model, *flags,
                   OPENAI_BASE_URL=base_url, OPENAI_API_KEY="", **env)


@slow
def test_cli_connection_refused_still_shows_the_code(cli: Mossen, repo: Path) -> None:
    done = ask(cli, repo, f"http://127.0.0.1:{free_port()}/v1", "--json")
    assert done.returncode == 4, done.stderr
    out = json.loads(done.stdout)
    assert out["answer"] is None
    assert "cannot reach" in out["error"] and "OPENAI_BASE_URL" in out["error"]
    assert "src/pool.py" in {c["path"] for c in out["chunks"]}
    assert "Traceback" not in done.stderr


@slow
def test_cli_429_with_retry_after_is_retried_then_answered(cli: Mossen, repo: Path) -> None:
    answer = FakeAnswer(text=("The pool", " hands out", " idle sessions."))
    limited = FakeStatus(429, {"error": {"message": "Rate limit reached"}}, (("Retry-After", "2"),))
    with FakeOpenAIServer([limited, answer]) as fake:
        done = ask(cli, repo, fake.url)
    assert done.returncode == 0, done.stderr
    assert "The pool hands out idle sessions." in done.stdout
    assert "retrying in 2.0 s" in done.stderr  # what the server asked, not the first back-off (1 s)
    assert len(fake.chats()) == 2


@slow
def test_cli_5xx_exhausted_names_the_status_and_shows_the_code(cli: Mossen, repo: Path) -> None:
    with FakeOpenAIServer([FakeStatus(500, {"error": {"message": "internal"}})] * 3) as fake:
        done = ask(cli, repo, fake.url)
    assert done.returncode == 4, done.stderr
    assert "failed (500)" in done.stderr
    assert "def acquire" in done.stdout  # the retrieved code, though no answer came
    assert len(fake.chats()) == 3


@slow
def test_cli_stream_cut_mid_answer_is_marked_partial(cli: Mossen, repo: Path) -> None:
    cut = FakeCut(after=AFTER_TWO_PIECES["openai"])
    with FakeOpenAIServer([cut, cut]) as fake:
        as_json = ask(cli, repo, fake.url, "--json")
        plain = ask(cli, repo, fake.url)
    assert as_json.returncode == 4, as_json.stderr
    out = json.loads(as_json.stdout)
    assert (out["answer"], out["partial"]) == ("Hello from", True)
    assert "closed the connection" in out["error"]
    assert plain.returncode == 4, plain.stderr
    assert "Hello from" in plain.stdout and "partial answer" in plain.stderr
    assert len(fake.chats()) == 2  # one per run: never retried once text arrived


@slow
def test_cli_timeout_says_how_long_it_waited(cli: Mossen, repo: Path) -> None:
    with FakeOpenAIServer([FakeHang()] * 3) as fake:
        done = ask(cli, repo, fake.url, model="openai:slow")
    assert done.returncode == 4, done.stderr
    assert "did not answer within 1 s" in done.stderr
    assert len(fake.chats()) == 2


@slow
def test_cli_unknown_model_gives_the_hint(cli: Mossen, repo: Path) -> None:
    with FakeOpenAIServer([FakeOpenAIServer.unknown_model("x")]) as fake:
        done = ask(cli, repo, fake.url)
    assert done.returncode == 4, done.stderr
    assert "does not know the model 'x' (404)" in done.stderr
    assert "the server lists its models at /v1/models" in done.stderr
    assert len(fake.chats()) == 1


@slow
def test_cli_ollama_not_running_says_to_start_it(cli: Mossen, repo: Path) -> None:
    done = ask(cli, repo, "", model="ollama:qwen2.5-coder:7b", OLLAMA_HOST=f"127.0.0.1:{free_port()}")
    assert done.returncode == 4, done.stderr
    assert "ollama serve" in done.stderr
    assert "def acquire" in done.stdout
