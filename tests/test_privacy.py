"""What may leave the machine: the loopback test, secret redaction, path scrubbing, whole requests."""

from __future__ import annotations

from pathlib import Path

import pytest

from mossen.errors import PrivacyError
from mossen.privacy import Redactor, Scrubber, prepare_outgoing, require_local
from mossen.providers.base import ChatRequest, Message, ToolCall
from mossen.providers.locality import is_local_endpoint

ROOT = Path(__file__).resolve().parents[1]

AWS = "AKIAZ7QX3MPLE4CANARY"
GITHUB = "ghp_" + "Zq8Xw3Lr5Tn7Vb2Mk9Hc4Jd6Fg1Sa0Pe2Yu8"
SLACK = "xoxb-" + "123456789012-1234567890123-Zq8Xw3Lr5Tn7Vb2Mk9Hc4Jd6"
ANTHROPIC = "sk-ant-api03-" + "Zq8Xw3Lr5Tn7Vb2Mk9Hc4Jd6Fg1Sa0Pe2Yu8Io7Uy6"
OPENAI = "sk-proj-" + "Zq8Xw3Lr5Tn7Vb2Mk9Hc4Jd6Fg1Sa0Pe2Yu8Io7Uy6"
PASSWORD = "correct-horse-battery-staple-42"
PEM = ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
       "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END RSA PRIVATE KEY-----")
SOURCE = f'''import boto3

AWS_ACCESS_KEY_ID = "{AWS}"
GITHUB_TOKEN = "{GITHUB}"
slack = "{SLACK}"
client = Anthropic(api_key="{ANTHROPIC}")
openai_key = {OPENAI}
db_password = "{PASSWORD}"
KEY = """{PEM}"""

def connect(host: str, port: int = 5432) -> None:
    """Open a connection."""
    return boto3.client("s3", region_name="eu-west-1")
'''
SECRETS = (AWS, GITHUB, SLACK, ANTHROPIC, OPENAI, PASSWORD, "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun")


def test_every_planted_secret_is_redacted_with_its_kind() -> None:
    redacted, findings = Redactor().redact(SOURCE)
    for secret in SECRETS:
        assert secret not in redacted
    kinds = {f.kind for f in findings}
    assert {"aws-access-key", "github-token", "slack-token", "anthropic-key", "openai-key", "secret-keyword",
            "private-key"} <= kinds
    assert '"[REDACTED:aws-access-key]"' in redacted and "[REDACTED:private-key]" in redacted
    # The code around the secrets is untouched, line for line where no key block was removed.
    assert 'def connect(host: str, port: int = 5432) -> None:' in redacted
    assert 'return boto3.client("s3", region_name="eu-west-1")' in redacted


@pytest.mark.parametrize("path", ["mossen/budget.py", "indexer/identifiers.py", "mossen/ask.py"])
def test_ordinary_code_passes_unchanged(path: str) -> None:
    text = (ROOT / path).read_text()
    assert Redactor().redact(text) == (text, ())


def test_scrubber_leaves_only_repo_relative_paths(tmp_path: Path) -> None:
    repo = tmp_path / "home" / "alice" / "work" / "repo"
    scrubber = Scrubber(repo, tmp_path / "home" / "alice")
    text = f"Traceback: File \"{repo}/src/app.py\", line 3\ncwd {repo}\nconfig {tmp_path}/home/alice/.config/x"
    out = scrubber.scrub(text)
    assert str(repo) not in out and "alice" not in out
    assert 'File "src/app.py"' in out and "cwd ." in out and "config ~/.config/x" in out


def test_prepare_outgoing_cleans_system_messages_and_tool_arguments(tmp_path: Path) -> None:
    request = ChatRequest(
        system=f"Project notes: deploy key {AWS}",
        messages=(Message("user", SOURCE),
                  Message("assistant", "", (ToolCall("c1", "run_command", {"command": f"export T={GITHUB}",
                                                                          "cwd": [f"{tmp_path}/x"]}),)),
                  Message("tool", f"{tmp_path}/x: ok {ANTHROPIC}", tool_call_id="c1", name="run_command")))
    cleaned, report = prepare_outgoing(request, Redactor(), Scrubber(tmp_path, Path("/nonexistent-home")))
    flat = repr(cleaned)
    for secret in (*SECRETS, str(tmp_path)):
        assert secret not in flat
    assert cleaned.messages[1].tool_calls[0].arguments == {"command": "export T=[REDACTED:github-token]",
                                                           "cwd": ["x"]}
    assert len(report.findings) >= 9


@pytest.mark.parametrize("url", ["http://127.0.0.1:11434", "http://localhost:8080/v1", "http://[::1]:9000",
                                 "127.0.0.5:1234", "http://LOCALHOST./v1", "file:///tmp/script.json"])
def test_loopback_endpoints_are_local(url: str) -> None:
    assert is_local_endpoint(url)
    require_local(url, "local", "the model")  # no error


@pytest.mark.parametrize("url", ["https://api.openai.com/v1", "http://10.0.0.2:11434", "http://192.168.1.9:8080",
                                 "http://0.0.0.0:11434", "http://localhost.evil.com/v1", "http://127.0.0.1.nip.io/",
                                 "http://[::ffff:8.8.8.8]/", "http://my-laptop.local:11434"])
def test_everything_else_is_remote_and_refused_when_local_only(url: str) -> None:
    assert not is_local_endpoint(url)
    with pytest.raises(PrivacyError, match="privacy is \"local\""):
        require_local(url, "local", "the model")
    require_local(url, "any", "the model")  # allowed when privacy is "any"
