#!/usr/bin/env bash
# Creates .venv-trainer/ with the CPU build of PyTorch, NumPy and safetensors (trainer/'s tests
# and a CPU run of the twin) and prints its python's path. PyTorch comes from a local wheel when
# pip's find-links folder has one (this project's machines: /opt/wheels), else from PyTorch's
# CPU index. On a GPU machine install trainer/requirements.txt with the CUDA build instead.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-trainer
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import torch, numpy, safetensors" 2>/dev/null; then
    python3 -m venv "$venv" >&2
    links=$(pip config get global.find-links 2>/dev/null || true)
    wheel=$(ls "${links:-/nonexistent}"/torch-*+cpu-*.whl 2>/dev/null | sort -V | tail -1 || true)
    if [ -n "$wheel" ]; then
        "$venv/bin/pip" install --quiet --disable-pip-version-check "$wheel" numpy "safetensors>=0.4" >&2
    else
        "$venv/bin/pip" install --quiet --disable-pip-version-check torch --index-url https://download.pytorch.org/whl/cpu >&2
        "$venv/bin/pip" install --quiet --disable-pip-version-check numpy "safetensors>=0.4" >&2
    fi
fi
echo "$PWD/$venv/bin/python"
