#!/usr/bin/env bash
# Creates .venv-reference/ with nibabel + scipy (the seed's preprocessing stack) and prints its
# python's path. Used by the fixture generator and the benchmarks; never by the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-reference
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/reference-requirements.txt >&2
fi
echo "$PWD/$venv/bin/python"
