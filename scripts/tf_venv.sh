#!/usr/bin/env bash
# Creates .venv-tf/ with tensorflow-cpu + keras + safetensors + numpy (the seed's model stack,
# pinned in scripts/tf-requirements.txt) and prints its python's path. Used by
# scripts/reference_model.py for model fixtures, checkpoint round trips and the speed
# reference; never by the test suite. Re-installs when the requirements file changes.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-tf
stamp="$venv/.requirements"
if [ ! -x "$venv/bin/python" ] || ! cmp -s scripts/tf-requirements.txt "$stamp"; then
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/tf-requirements.txt >&2
    cp scripts/tf-requirements.txt "$stamp"
fi
echo "$PWD/$venv/bin/python"
