#!/usr/bin/env bash
# Fuzzes the decoders that read strangers' bytes with libFuzzer + AddressSanitizer:
#   nifti       NIfTI header + voxel decoder (.nii and .nii.gz), as ingest reads an inbox file
#   checkpoint  the safetensors loader and checkpoint checks (whole files, slow: its seed is 5 MB)
#   safetensors a safetensors header on its own, checked as a checkpoint's layout (fast)
#   config      a configuration file: unknown keys, YAML errors, every value
#   control     the control-socket line splitter and request decoder
# Usage: scripts/fuzz.sh [--seconds N] [--jobs J] [--grow] [TARGET...]   (default: 60 s each, all five)
# Each target starts from valid seeds (written by the fuzzer itself, plus the NIfTI test fixtures and
# config/ctd.yaml), from the grown corpus committed under Fuzz/corpus/<target>/ and from every input
# committed under Tests/FuzzTargetsTests/Inputs/<target>/. A crash is copied there as a new
# regression input (commit it, fix the decoder) and the script exits 1. --jobs runs that many
# targets at once; --grow merges what a run found, minimised, back into Fuzz/corpus/ (commit it;
# not for checkpoint, whose inputs are megabytes).
# Prints executions, executions per second, coverage and corpus size per target at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=60
jobs=1
grow=0
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --jobs) jobs="$2"; shift 2 ;;
        --grow) grow=1; shift ;;
        nifti|checkpoint|safetensors|config|control) targets+=("$1"); shift ;;
        *) echo "fuzz.sh: unknown argument $1 (use --seconds N, --jobs J, --grow and nifti, checkpoint, safetensors, config or control)" >&2; exit 64 ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || targets=(nifti checkpoint safetensors config control)

scripts/install-deps.sh
fuzzer_lib="$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")/lib/clang"
fuzzer_lib="$(ls -d "$fuzzer_lib"/*/lib/linux/libclang_rt.fuzzer_no_main-x86_64.a | head -1)"
[ -f "$fuzzer_lib" ] || { echo "fuzz.sh: libFuzzer (libclang_rt.fuzzer_no_main) not found beside swift" >&2; exit 69; }
# Coverage + ASan on every module; libFuzzer without its main (SwiftPM gives executables their own).
swift build --package-path Fuzz -c release \
    -Xswiftc -sanitize=address -Xswiftc -sanitize-coverage=edge,trace-cmp,pc-table,inline-8bit-counters \
    -Xlinker "$fuzzer_lib" -Xlinker -lstdc++ 2>&1 | grep -E "error|warning: |Compiling|Build" | grep -v "ld.gold: warning" || true
bin=Fuzz/.build/release
work=.build-fuzz
mkdir -p "$work"
# Runs one target; writes its summary line to $work/<target>.summary; returns 1 on a crash.
fuzz_one() {
    local target="$1" exe max_len
    case "$target" in
        nifti) exe=FuzzNIfTI; max_len=65536 ;;
        checkpoint) exe=FuzzCheckpoint; max_len=$((8 << 20)) ;;
        safetensors) exe=FuzzSafeTensors; max_len=65536 ;;
        config) exe=FuzzConfig; max_len=16384 ;;
        # Short inputs: a 70 KB one is thousands of request lines, each decoded as JSON (9 exec/s);
        # the 64 KiB line limit is covered by the hand-made inputs.
        control) exe=FuzzControl; max_len=8192 ;;
    esac
    [ -x "$bin/$exe" ] || { echo "fuzz.sh: $bin/$exe was not built" >&2; return 1; }
    local corpus="$work/corpus/$target" regressions="Tests/FuzzTargetsTests/Inputs/$target"
    local grown="Fuzz/corpus/$target" crashes="$work/crashes/$target" log="$work/$target.log"
    rm -rf "$corpus"
    mkdir -p "$corpus" "$crashes" "$regressions" "$grown"
    "$bin/$exe" --write-seeds "$corpus"
    [ "$target" = nifti ] && cp Tests/Fixtures/*.nii Tests/Fixtures/*.nii.gz "$corpus"/
    [ "$target" = config ] && cp config/ctd.yaml "$corpus"/
    echo "fuzzing $target for $seconds s…"
    local status=0
    ASAN_OPTIONS=detect_leaks=0 "$bin/$exe" "$corpus" "$grown" "$regressions" -max_total_time="$seconds" -max_len="$max_len" \
        -timeout=20 -rss_limit_mb=3072 -print_final_stats=1 -artifact_prefix="$crashes/" >"$log" 2>&1 || status=$?
    local runs rate coverage units found=0
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    coverage=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    for crash in "$crashes"/*; do
        [ -f "$crash" ] || continue
        found=$((found + 1))
        cp "$crash" "$regressions/$(basename "$crash")"
        echo "fuzz.sh: $target crashed on $crash; kept as $regressions/$(basename "$crash") — see $log" >&2
        rm "$crash"
    done
    # Checkpoint inputs are megabytes each; its headers grow through the safetensors target instead.
    if [ "$grow" = 1 ] && [ "$target" != checkpoint ]; then
        # Keep only inputs that add coverage: the committed corpus stays small.
        local merged="$work/merged/$target"
        rm -rf "$merged"; mkdir -p "$merged"
        ASAN_OPTIONS=detect_leaks=0 "$bin/$exe" -merge=1 -max_len="$max_len" -timeout=20 -rss_limit_mb=3072 \
            "$merged" "$grown" "$corpus" >"$work/$target.merge.log" 2>&1 || true
        if [ "$(ls "$merged" | wc -l)" -gt 0 ]; then rm -rf "$grown"; mv "$merged" "$grown"; fi
    fi
    units=$(ls "$grown" | wc -l)
    printf '%-11s %6s s %12s runs %8s exec/s %6s edges %6s kept %3s crashes\n' \
        "$target" "$seconds" "${runs:-?}" "${rate:-?}" "${coverage:-?}" "$units" "$found" >"$work/$target.summary"
    if [ "$status" -ne 0 ] || [ "$found" -gt 0 ]; then tail -30 "$log" >&2; return 1; fi
}

failed=0
running=0
for target in "${targets[@]}"; do
    fuzz_one "$target" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then wait -n || failed=1; running=$((running - 1)); fi
done
while [ "$running" -gt 0 ]; do wait -n || failed=1; running=$((running - 1)); done
echo
echo "fuzz summary ($(nproc) cores, $jobs at once, load $(cut -d' ' -f1 /proc/loadavg)):"
for target in "${targets[@]}"; do printf '  %s' "$(cat "$work/$target.summary" 2>/dev/null || echo "$target: no summary")"; echo; done
exit $failed
