"""Export the bundled model to ONNX on this machine (no download), once per weights and variant.

The file lands in `models/` under the index root, named by a digest of the
source weights plus the variant ("fp32" or "int8") and the export format, so a
later run reuses it and changed weights get a new file. Every file is written
under a temporary name in the same folder and moved into place with
`os.replace`: concurrent exporters each finish their own copy and the last
rename wins, so a reader never sees half a model. torch (and transformers) are
imported only when a file has to be made.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Callable, Literal

from indexer.errors import EmbedderError

Variant = Literal["fp32", "int8"]
EXPORT_FORMAT = 1  # bump when the exported graph changes (inputs, pooling, opset)
OPSET = 17
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT = "embedding"


def onnx_model_file(model_path: Path, models_dir: Path, variant: Variant) -> Path:
    """The ONNX file of `variant` for the model at `model_path`, exported (and quantized) if missing."""
    fp32, int8 = _files(model_path, models_dir)
    if not fp32.exists():
        _write_atomically(fp32, lambda tmp: _export_fp32(model_path, tmp))
    if variant == "fp32":
        return fp32
    if not int8.exists():
        _write_atomically(int8, lambda tmp: _quantize_int8(fp32, tmp))
    return int8


def export_needed(model_path: Path, models_dir: Path, variant: Variant) -> bool:
    """Whether `onnx_model_file` will first export (or quantize): seconds of work worth telling the user."""
    fp32, int8 = _files(model_path, models_dir)
    return not (fp32 if variant == "fp32" else int8).exists()


def _files(model_path: Path, models_dir: Path) -> tuple[Path, Path]:
    """(fp32, int8) file paths of the model at `model_path`."""
    models_dir.mkdir(parents=True, exist_ok=True)
    stem = f"all-MiniLM-L6-v2-{weights_digest(model_path, models_dir)[:16]}-v{EXPORT_FORMAT}"
    return models_dir / f"{stem}-fp32.onnx", models_dir / f"{stem}-int8.onnx"


def weights_digest(model_path: Path, models_dir: Path) -> str:
    """sha256 of the model's weights, remembered beside the exports under the file's size and mtime.

    Hashing 90 MB costs ~0.1 s; a search that opens an int8 index should not pay it every time.
    """
    weights = model_path / "model.safetensors"
    try:
        stat = weights.stat()
    except OSError as exc:
        raise EmbedderError(f"the embedding model's weights are missing: {weights}") from exc
    key = hashlib.sha256(f"{weights.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    memo = models_dir / f"weights-{key}.json"
    try:
        return str(json.loads(memo.read_text())["sha256"])
    except (OSError, ValueError, KeyError):
        pass
    with weights.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    _write_atomically(memo, lambda tmp: tmp.write_text(json.dumps({"path": str(weights), "sha256": digest})))
    return digest


def _write_atomically(dest: Path, write: Callable[[Path], object]) -> None:
    """`write` a temporary file in `dest`'s folder, then rename it over `dest` (atomic on one filesystem)."""
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        tmp.chmod(0o644)  # mkstemp makes it private; the exports are no secret
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _export_fp32(model_path: Path, dest: Path) -> None:
    """BERT + mean pooling + L2 norm as one graph, dynamic batch and sequence axes."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:  # imported here: seconds, paid once per machine and weights
        import torch
        from transformers import AutoModel
        from transformers.utils import logging as transformers_logging
    except ImportError as exc:  # pragma: no cover - a broken install
        raise EmbedderError(f"exporting the model to ONNX needs torch and transformers: {exc}") from exc
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    bert = AutoModel.from_pretrained(str(model_path), attn_implementation="eager").eval()

    class Pooled(torch.nn.Module):
        """What sentence-transformers computes for this model: mean over real tokens, unit length."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    sample = torch.ones(2, 8, dtype=torch.long)
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUTS} | {OUTPUT: {0: "batch"}}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shapes; a test checks other shapes agree
        # The TorchScript exporter (dynamo=False) needs no onnxscript and handles this BERT.
        torch.onnx.export(Pooled(), (sample, sample, torch.zeros_like(sample)), str(dest),
                          input_names=list(INPUTS), output_names=[OUTPUT], dynamic_axes=axes,
                          opset_version=OPSET, dynamo=False)


def _quantize_int8(fp32: Path, dest: Path) -> None:
    """Dynamic int8 quantization: MatMul weights per output channel, activations quantized at run time.

    Measured on code chunks against fp32: all quantizable ops per tensor gave cosine 0.89 at
    worst, MatMul only per tensor 0.89, MatMul per channel 0.989 (the embedding table stays fp32).
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    quiet = _DropHint()
    sink = logging.NullHandler()  # keeps logging.warning() from installing a stderr handler for good
    root.addFilter(quiet)
    root.addHandler(sink)
    try:
        quantize_dynamic(str(fp32), str(dest), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"])
    finally:
        root.removeHandler(sink)
        root.removeFilter(quiet)


class _DropHint(logging.Filter):
    """Drops the quantizer's advice to pre-process (symbolic shape inference fails on this graph)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()
