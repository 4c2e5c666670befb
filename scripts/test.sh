#!/usr/bin/env bash
# The test suite: installs missing build dependencies, builds, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build --build-tests
swift test --skip-build
