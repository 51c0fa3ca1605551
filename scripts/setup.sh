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
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
echo "mossen installed: $(pwd)/.venv/bin/mossen" >&2
