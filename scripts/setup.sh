#!/usr/bin/env bash
# Creates .venv in the repository and installs mossen with its test tools.
# Idempotent: re-running only installs what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
# torch first and pinned: the CPU build of 2.13.0; an unpinned resolve pulls CUDA.
.venv/bin/python -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
# The dev extra holds llama-cpp-python, which compiles from source (5-10 minutes, once: pip
# caches the wheel). Its default -march=native build crashes (SIGSEGV) on this CPU.
if ! .venv/bin/python -c "import importlib.util, sys; sys.exit(not importlib.util.find_spec('llama_cpp'))"; then
    echo "installing llama-cpp-python (a build from source takes 5-10 minutes unless pip cached it)" >&2
fi
CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
echo "mossen installed: $(pwd)/.venv/bin/mossen" >&2
