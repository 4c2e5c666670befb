#!/usr/bin/env bash
# Runs the whole test suite under a sanitizer: scripts/sanitize.sh address|thread
# Builds into .build-<sanitizer>/ so the normal build is left alone; prints the summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
sanitizer="${1:-address}"
case "$sanitizer" in address|thread) ;; *) echo "sanitize.sh: use address or thread" >&2; exit 64 ;; esac
scripts/install-deps.sh
scratch=".build-$sanitizer"
start=$(date +%s)
swift build --build-tests --sanitize="$sanitizer" --scratch-path "$scratch"
# Leak reports from the Swift runtime's own caches are not ours; everything else fails the run.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export TSAN_OPTIONS="halt_on_error=0${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
log="$scratch/test.log"
set +e
swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" 2>&1 | tee "$log" | grep -E "^(✘|✔ Test run|✘ Test run)|ERROR: (Address|Thread)Sanitizer|WARNING: ThreadSanitizer"
status=${PIPESTATUS[0]}
set -e
reports=$(grep -c -E "ERROR: AddressSanitizer|WARNING: ThreadSanitizer" "$log" || true)
echo "sanitize.sh: $sanitizer: tests exited $status, $reports sanitizer reports, $(( $(date +%s) - start )) s (log: $log)"
[ "$status" -eq 0 ] && [ "$reports" -eq 0 ]
