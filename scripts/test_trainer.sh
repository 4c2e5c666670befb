#!/usr/bin/env bash
# trainer/'s tests (the PyTorch twin against the built ctd, and a torchrun run end to end) in
# .venv-trainer. Needs `swift build` first. Where PyTorch cannot be installed they are skipped
# with a note, unless CTD_REQUIRE_TRAINER_TESTS=1 (CI), which makes that a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python=$(scripts/trainer_venv.sh); then
    if [ "${CTD_REQUIRE_TRAINER_TESTS:-0}" = 1 ]; then echo "test_trainer: cannot install PyTorch" >&2; exit 1; fi
    echo "test_trainer: skipped: PyTorch cannot be installed here (see scripts/trainer_venv.sh)" >&2
    exit 0
fi
cd trainer
PYTHONPATH=. CTD_BIN_DIR="${CTD_BIN_DIR:-$PWD/../.build/debug}" "$python" -m unittest discover -s tests -v
