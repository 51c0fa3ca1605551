"""What may leave the machine, checked through `mossen ask` as a real process.

(a) `--local` / `privacy = "local"` refuses a remote model before any request;
    a loopback fake of a proxy (HTTPS_PROXY) sees every attempt to reach the
    network, so "nothing was sent" is observed, not assumed. A loopback model
    is reached directly, never through such a proxy.
(b) Secrets planted in the repository never reach a remote model: redacted,
    and absolute repo and home paths scrubbed.
(c) `--show-request` prints the exact payload and sends nothing.
"""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path
from typing import Iterator

import pytest
from rich.console import Console

from mossen.cli.models import outgoing_request
from mossen.errors import PrivacyError
from mossen.privacy import require_local
from mossen.providers.base import ChatRequest, Message
from tests.conftest import Mossen, make_repo
from tests.loopback_fakes import FAKES, FakeAnswer, FakeAnthropicServer, FakeOpenAIServer, FakeProxy, provider_for

# Canaries, assembled so that this file itself holds no key a scanner would match.
AWS_KEY = "AKIA" + "Q7XK2M9TZ4RB8WLP"
ANTHROPIC_KEY = "sk-ant-api03-" + "Zq8TfW3nLm5Yc2Rb7Xk9Hd4Gv6Jp1Ns0Ea3Uo8Qi"
PEM_BODY = "MIIEowIBAAKCAQEAx3d9Xq2Zr7mT1kLpV8sN4wYcB6fH0jQeR5uA9oGiD2tKvC1nMl"
PEM = f"-----BEGIN {'RSA PRIVATE'} KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----"
CANARIES = (AWS_KEY, ANTHROPIC_KEY, PEM_BODY, "BEGIN RSA PRIVATE KEY")
REMOTE = "https://api.openai.com/v1"
QUESTION = "Which credentials does load_deploy_credentials use to deploy?"


def deploy_source(repo: Path, home: Path) -> str:
    return f'''"""Deployment credentials for the staging cluster."""

AWS_ACCESS_KEY_ID = "{AWS_KEY}"
ANTHROPIC_API_KEY = "{ANTHROPIC_KEY}"
SIGNING_KEY = """{PEM}"""
TEMPLATES = "{repo}/templates"
SETTINGS = "{home}/.config/deploy/settings.toml"


def load_deploy_credentials(stage: str) -> dict:
    """The credentials used to deploy to stage."""
    return {{"aws": AWS_ACCESS_KEY_ID, "anthropic": ANTHROPIC_API_KEY, "key": SIGNING_KEY, "stage": stage}}
'''


POOL = '''class SessionPool:
    """Hands out idle sessions."""

    def acquire(self, host: str):
        """Take an idle session for host."""
        return next(s for s in self.sessions if s.host == host)
'''


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home folder of its own, so that scrubbing it is observable."""
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Mossen:
    return Mossen(tmp_path_factory.mktemp("indexes"))


@pytest.fixture(scope="module")
def repo(home: Path, cli: Mossen) -> Path:
    root = home / "work" / "deploy-tools"
    make_repo(root, {"src/deploy.py": deploy_source(root, home), "src/pool.py": POOL})
    done = cli.run("index", str(root))
    assert done.returncode == 0, done.stderr
    return root


@pytest.fixture
def proxy() -> Iterator[FakeProxy]:
    with FakeProxy() as fake:
        yield fake


def through(proxy: FakeProxy) -> dict[str, str]:
    """Environment sending every HTTP(S) request of the process to the fake proxy."""
    return {name: proxy.root for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY")} | {
        "NO_PROXY": "", "no_proxy": ""}


def ask(cli: Mossen, repo: Path, *flags: str, **env: str) -> subprocess.CompletedProcess[str]:
    return cli.run("ask", QUESTION, "--path", str(repo), "--no-refresh", *flags, **env)


# (a) the local-only rule

@pytest.mark.parametrize("endpoint", [REMOTE, "http://10.255.255.1:9/v1", "http://127.0.0.1.nip.io:8080/v1"])
def test_require_local_refuses_an_endpoint_off_this_machine(endpoint: str) -> None:
    with pytest.raises(PrivacyError, match="nothing was sent"):
        require_local(endpoint, "local", "the model openai:x")
    require_local(endpoint, "any", "the model openai:x")  # allowed when privacy is "any"


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:8080/v1", "http://localhost:11434", "http://[::1]:8080"])
def test_require_local_allows_loopback(endpoint: str) -> None:
    require_local(endpoint, "local", "the model openai:x")


@pytest.fixture
def local_in_config(repo: Path) -> Iterator[None]:
    config = repo / ".mossen.toml"
    config.write_text('privacy = "local"\n')
    yield
    config.unlink()


@pytest.mark.slow
@pytest.mark.parametrize("how", ["--local", "config"])
def test_cli_local_refuses_a_remote_model_before_any_request(cli: Mossen, repo: Path, proxy: FakeProxy,
                                                             how: str, request: pytest.FixtureRequest) -> None:
    if how == "config":
        request.getfixturevalue("local_in_config")
    flags = ("--local",) if how == "--local" else ()
    done = ask(cli, repo, "--model", "openai:gpt-4.1", *flags, OPENAI_BASE_URL=REMOTE, OPENAI_API_KEY="dummy",
               **through(proxy))
    assert done.returncode == 1, done.stderr
    assert 'privacy is "local"' in done.stderr and "nothing was sent" in done.stderr
    assert proxy.requests == []


@pytest.mark.slow
def test_cli_the_fake_proxy_does_see_a_remote_request(cli: Mossen, repo: Path, proxy: FakeProxy) -> None:
    """The control for the test above: without --local the same command does try to reach the host."""
    done = ask(cli, repo, "--model", "openai:gpt-4.1", OPENAI_BASE_URL=REMOTE, OPENAI_API_KEY="dummy", **through(proxy))
    assert done.returncode == 4, done.stderr
    assert ("CONNECT", "api.openai.com:443") in {(r.method, r.path) for r in proxy.requests}


@pytest.mark.parametrize("kind", sorted(FAKES))
def test_a_loopback_model_is_reached_directly_even_with_a_proxy_configured(kind: str, proxy: FakeProxy,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Its prompt is not redacted: through a proxy from the environment it would leave the machine."""
    for name, value in through(proxy).items():
        monkeypatch.setenv(name, value)
    with FAKES[kind]() as fake:
        provider = provider_for(fake)
        provider.limits()
        provider.count_tokens("def acquire(host): ...")
        list(provider.stream(canary_request(Path("/repo"), Path("/home/u"))))
    assert len(fake.chats()) == 1
    assert proxy.requests == []


@pytest.mark.slow
def test_cli_local_with_a_loopback_model_answers_without_a_proxy(cli: Mossen, repo: Path, proxy: FakeProxy) -> None:
    with FakeOpenAIServer([FakeAnswer(text=("It reads", " three constants."))]) as fake:
        done = ask(cli, repo, "--local", "--model", "openai:x", OPENAI_BASE_URL=fake.url, OPENAI_API_KEY="",
                   **through(proxy))
    assert done.returncode == 0, done.stderr
    assert "It reads three constants." in done.stdout
    [sent] = fake.chats()
    assert QUESTION in json.dumps(sent.body)
    assert proxy.requests == []  # neither the question nor the /v1/models and /tokenize probes


# (b) redaction of what goes to a remote model

def canary_request(repo: Path, home: Path) -> ChatRequest:
    context = f"src/deploy.py:1-13\n```python\n{deploy_source(repo, home)}```\n"
    return ChatRequest("You answer questions about code.", (Message("user", context), Message("user", QUESTION)),
                       max_output=128, stable_prefix=1)


def test_outgoing_request_to_a_remote_endpoint_carries_no_secret(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    repo = home / "work" / "deploy-tools"
    monkeypatch.setenv("HOME", str(home))
    err = io.StringIO()
    with FakeOpenAIServer() as fake:
        provider = provider_for(fake)
        # Its client still talks to the fake; only the endpoint privacy looks at is remote.
        provider.endpoint = REMOTE
        cleaned = outgoing_request(provider, canary_request(repo, home), repo, Console(file=err))
        list(provider.stream(cleaned))
    wire = json.dumps(fake.chats()[0].body)
    assert "load_deploy_credentials" in wire  # the file did go out, minus its secrets
    for canary in CANARIES:
        assert canary not in wire
    for kind in ("aws-access-key", "anthropic-key", "private-key"):
        assert f"[REDACTED:{kind}]" in wire
    assert str(repo) not in wire and str(home) not in wire
    assert 'TEMPLATES = \\"templates\\"' in wire and "~/.config/deploy/settings.toml" in wire
    assert "redacted 3 secret(s)" in err.getvalue()


def test_outgoing_request_to_a_loopback_endpoint_is_unchanged(tmp_path: Path) -> None:
    """A local model sees the code as it is (the canaries above are detectable when present)."""
    request = canary_request(tmp_path / "repo", tmp_path)
    with FakeOpenAIServer() as fake:
        assert outgoing_request(provider_for(fake), request, tmp_path / "repo", Console(file=io.StringIO())) is request


@pytest.mark.slow
def test_cli_show_request_for_a_remote_model_shows_no_secret_and_no_path(cli: Mossen, repo: Path, home: Path,
                                                                          proxy: FakeProxy) -> None:
    done = ask(cli, repo, "--model", "anthropic:claude-x", "--show-request", "--json", ANTHROPIC_API_KEY="dummy",
               ANTHROPIC_BASE_URL="", HOME=str(home), **through(proxy))
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["endpoint"] == "https://api.anthropic.com"
    assert "load_deploy_credentials" in done.stdout
    for canary in CANARIES:
        assert canary not in done.stdout and canary not in done.stderr
    assert "[REDACTED:" in done.stdout and "redacted" in done.stderr
    assert str(repo) not in done.stdout and str(home) not in done.stdout
    assert "~/.config/deploy/settings.toml" in done.stdout
    assert proxy.requests == []


# (c) --show-request sends nothing, and shows what a real ask sends

@pytest.mark.slow
def test_cli_show_request_sends_nothing_and_is_the_payload_a_real_ask_sends(cli: Mossen, repo: Path) -> None:
    with FakeAnthropicServer() as fake:
        shown = ask(cli, repo, "--model", "anthropic:claude-x", "--show-request", "--json",
                    ANTHROPIC_BASE_URL=fake.url, ANTHROPIC_API_KEY="")
        assert shown.returncode == 0, shown.stderr
        assert fake.requests == []
        sent = ask(cli, repo, "--model", "anthropic:claude-x", ANTHROPIC_BASE_URL=fake.url, ANTHROPIC_API_KEY="")
    assert sent.returncode == 0, sent.stderr
    [request] = fake.chats()
    assert json.loads(shown.stdout)["payload"] == request.body


@pytest.mark.slow
def test_cli_show_request_to_an_openai_compatible_server_sends_no_chat(cli: Mossen, repo: Path) -> None:
    with FakeOpenAIServer() as fake:
        done = ask(cli, repo, "--model", "openai:x", "--show-request", "--json", OPENAI_BASE_URL=fake.url,
                   OPENAI_API_KEY="")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["payload"]["model"] == "x"
    assert fake.chats() == []
    # what it may ask a local server: its window and its own token counts (llama.cpp's /tokenize)
    assert {r.path for r in fake.requests} <= {"/v1/models", "/extras/tokenize", "/tokenize"}
