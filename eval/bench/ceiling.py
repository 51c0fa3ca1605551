"""The physical limit of embedding here: a float32 GEMM probe, and all-MiniLM-L6-v2's FLOPs per token.

    python -m bench.ceiling     # one JSON line; run it with `probe_env` so BLAS uses every core

The encoder is BERT-shaped: 6 layers, hidden d = 384, FFN f = 1536, and a
text of L tokens. Counting 2 FLOPs per multiply-add, one token costs per layer

    8·d²     Q, K, V and output projections (four d×d matrices)
  + 4·d·f    the FFN, up (d×f) and down (f×d)
  + 4·L·d    attention: scores q·kᵀ over L keys, then the weighted sum of L values (all heads)

so FLOPs/token = 6 · (8·d² + 4·d·f + 4·L·d) = 21,233,664 + 9,216·L, i.e. 2 ×
the ~10.6 M weights every token passes through, plus attention: 23.6 M at
L = 256, taken as 24 M (FLOPS_PER_TOKEN). The token
embedding look-up, layer norms, GELU, softmax and mean pooling are left out
(each linear in d, together under 1 %). The ceiling in tokens/s is the GEMM
rate divided by 24 M: what the machine could do if every FLOP of the model ran
at the speed of one large matrix multiply, with no padding and no overhead.
"""

from __future__ import annotations

import json
import os
import time

import numpy as np

LAYERS, HIDDEN, FFN = 6, 384, 1536
# The figure the ceiling is judged by (issue 7): ~24 MFLOP per token, i.e. the formula below at the
# model's full 256-token window (21.2 M + 2.4 M), rounded up. A shorter mean text costs a little less
# attention; `flops_per_token` gives that figure too, shown beside it.
FLOPS_PER_TOKEN = 24e6
SQUARE = 2048  # the probe's matrices: large enough for BLAS to reach its peak
MODEL_ROWS = 8192  # the model's own shape: 32 texts x 256 tokens through the FFN's up projection
REPEATS = 5


def flops_per_token(sequence_length: float) -> float:
    """FLOPs of all-MiniLM-L6-v2 per token of a text of `sequence_length` tokens (see the module docstring)."""
    d, f, length = HIDDEN, FFN, sequence_length
    return LAYERS * (8 * d * d + 4 * d * f + 4 * length * d)


def probe_env(env: dict[str, str]) -> dict[str, str]:
    """`env` with every BLAS told to use all of the machine's cores."""
    cores = str(os.cpu_count() or 1)
    return {**env, "OPENBLAS_NUM_THREADS": cores, "OMP_NUM_THREADS": cores, "MKL_NUM_THREADS": cores}


def gemm_gflops(rows: int, inner: int, cols: int, repeats: int = REPEATS) -> float:
    """Best GFLOP/s of a float32 (rows × inner) @ (inner × cols) over `repeats` runs, after a warm-up."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((rows, inner), dtype=np.float32)
    b = rng.standard_normal((inner, cols), dtype=np.float32)
    a @ b
    best = min(_timed_matmul(a, b) for _ in range(repeats))
    return 2.0 * rows * inner * cols / best / 1e9


def _timed_matmul(a: np.ndarray, b: np.ndarray) -> float:
    started = time.perf_counter()
    a @ b
    return time.perf_counter() - started


def main() -> None:
    """Print both probes as one JSON line."""
    print(json.dumps({
        "square_gflops": gemm_gflops(SQUARE, SQUARE, SQUARE),
        "model_shape_gflops": gemm_gflops(MODEL_ROWS, HIDDEN, FFN),
        "threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
    }))


if __name__ == "__main__":
    main()
