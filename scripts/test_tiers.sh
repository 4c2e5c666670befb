#!/usr/bin/env bash
# The engine's tests (every primitive JIT-compiled, gradients, the Keras fixture, the sliced first
# block against its naive twin, the pooling kernels) under each CPU tier below this machine's own,
# played by capping oneDNN with ONEDNN_MAX_CPU_ISA: AVX2 (most servers) and AVX512_CORE
# (AVX-512 without bf16). Run after scripts/test.sh, which builds the tests and runs them uncapped.
set -euo pipefail
cd "$(dirname "$0")/.."
tiers=("$@")
[ ${#tiers[@]} -gt 0 ] || tiers=(AVX2 AVX512_CORE)
for tier in "${tiers[@]}"; do
    echo "== engine tests with ONEDNN_MAX_CPU_ISA=$tier"
    ONEDNN_MAX_CPU_ISA="$tier" swift test --skip-build --filter "EngineTests|ModelTests"
done
