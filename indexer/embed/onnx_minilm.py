"""The bundled model through ONNX Runtime: fp32 (same vectors as torch) or dynamic int8.

Texts are tokenized once, sorted by token count and batched, so a batch pads
to the length of its own longest text rather than the window. The session's
threads are set deliberately: intra-op threads = cores (or the configured
number), one inter-op thread and sequential execution (this BERT is one chain
of operators, nothing runs side by side), and no spinning: a busy-waiting pool
steals the only other core from whatever else runs on a small machine.
CUDA is used when onnxruntime offers it, the CPU otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
from tokenizers import Tokenizer

from indexer.embed.base import MODEL_DIM, model_id_for
from indexer.embed.onnx_export import INPUTS, Variant, onnx_model_file
from indexer.errors import EmbedderError


def session_threads(configured: int) -> int:
    """Intra-op threads: the configured number, else every core this process may use."""
    if configured > 0:
        return configured
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def providers(available: Sequence[str]) -> list[str]:
    """CUDA first when this onnxruntime build has it, the CPU always."""
    return (["CUDAExecutionProvider"] if "CUDAExecutionProvider" in available else []) + ["CPUExecutionProvider"]


class OnnxMiniLM:
    """all-MiniLM-L6-v2 as an ONNX graph (BERT + mean pooling + L2 norm) in an InferenceSession."""

    dimension = MODEL_DIM

    def __init__(self, onnx_file: Path, tokenizer_file: Path, model_id: str, max_tokens: int = 256,
                 batch_size: int = 32, threads: int = 0) -> None:
        try:  # ~0.2 s: paid only by runs that embed with ONNX
            import onnxruntime as ort
        except ImportError as exc:  # pragma: no cover - a broken install
            raise EmbedderError(f"onnxruntime is not importable: {exc}") from exc
        options = ort.SessionOptions()
        options.intra_op_num_threads = session_threads(threads)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3  # warnings about CPU fallbacks would tear through progress bars
        self._session = ort.InferenceSession(str(onnx_file), options,
                                             providers=providers(ort.get_available_providers()))
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.enable_truncation(max_tokens)
        self._tokenizer.no_padding()
        self._batch_size = batch_size
        self.model_id = model_id
        self.threads = options.intra_op_num_threads

    @property
    def providers(self) -> list[str]:
        """The execution providers the session runs on, best first."""
        return list(self._session.get_providers())

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts in batches of similar token counts; rows come back in input order."""
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        ids = [e.ids for e in self._tokenizer.encode_batch(list(texts))]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), self._batch_size):
            rows = order[start:start + self._batch_size]
            out[rows] = self._run([ids[i] for i in rows])
        return out

    def _run(self, batch: list[list[int]]) -> np.ndarray:
        width = max(len(row) for row in batch)
        input_ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for i, row in enumerate(batch):
            input_ids[i, :len(row)] = row
            mask[i, :len(row)] = 1
        feed = dict(zip(INPUTS, (input_ids, mask, np.zeros_like(input_ids))))
        return np.asarray(self._session.run(None, feed)[0], dtype=np.float32)


def load_onnx_minilm(model_path: Path, models_dir: Path, variant: Variant, max_tokens: int = 256,
                     batch_size: int = 32, threads: int = 0) -> OnnxMiniLM:
    """The ONNX embedder of `variant`, exporting the model into `models_dir` first if needed.

    int8 runs one text at a time: dynamic quantization scales activations per tensor, so in a
    batch a text's vector would depend on its batch-mates (cosine 0.99 between two batchings,
    measured) and the cache, keyed by text, would keep whichever came first. One text per run
    makes the vector a function of the text, like a query's, and measured no slower here
    (no padding at all; eval/BENCH-EMBED.md).
    """
    backend = "onnx-int8" if variant == "int8" else "onnx"
    return OnnxMiniLM(onnx_model_file(model_path, models_dir, variant), model_path / "tokenizer.json",
                      model_id_for(backend), max_tokens, 1 if variant == "int8" else batch_size, threads)
