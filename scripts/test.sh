#!/usr/bin/env bash
# The test suite: installs missing build dependencies, builds, and runs every test: Swift's, then
# trainer/'s (PyTorch; skipped with a note where PyTorch cannot be installed).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build --build-tests
swift test --skip-build
scripts/test_trainer.sh
