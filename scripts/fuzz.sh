#!/usr/bin/env bash
# Fuzzes the decoders that read strangers' bytes with libFuzzer + AddressSanitizer:
#   nifti       NIfTI header + voxel decoder (.nii and .nii.gz), as ingest reads an inbox file
#   checkpoint  the safetensors loader and checkpoint checks
#   control     the control-socket line splitter and request decoder
# Usage: scripts/fuzz.sh [--seconds N] [TARGET...]   (default: 60 s each, all three)
# Each target starts from valid seeds (written by the fuzzer itself, plus the NIfTI test fixtures)
# and from every input committed under Tests/FuzzTargetsTests/Inputs/<target>/. A crash is copied
# there as a new regression input (commit it, fix the decoder) and the script exits 1.
# Prints executions, executions per second and corpus size per target at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=60
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        nifti|checkpoint|control) targets+=("$1"); shift ;;
        *) echo "fuzz.sh: unknown argument $1 (use --seconds N and nifti, checkpoint or control)" >&2; exit 64 ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || targets=(nifti checkpoint control)

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
summary=()
failed=0
for target in "${targets[@]}"; do
    case "$target" in
        nifti) exe=FuzzNIfTI; max_len=65536 ;;
        checkpoint) exe=FuzzCheckpoint; max_len=$((8 << 20)) ;;
        control) exe=FuzzControl; max_len=70000 ;;
    esac
    [ -x "$bin/$exe" ] || { echo "fuzz.sh: $bin/$exe was not built" >&2; exit 1; }
    corpus="$work/corpus/$target"
    regressions="Tests/FuzzTargetsTests/Inputs/$target"
    crashes="$work/crashes/$target"
    mkdir -p "$corpus" "$crashes" "$regressions"
    "$bin/$exe" --write-seeds "$corpus"
    [ "$target" = nifti ] && cp Tests/Fixtures/*.nii Tests/Fixtures/*.nii.gz "$corpus"/
    log="$work/$target.log"
    echo "fuzzing $target for $seconds s…"
    set +e
    ASAN_OPTIONS=detect_leaks=0 "$bin/$exe" "$corpus" "$regressions" -max_total_time="$seconds" -max_len="$max_len" \
        -timeout=20 -rss_limit_mb=3072 -print_final_stats=1 -artifact_prefix="$crashes/" >"$log" 2>&1
    status=$?
    set -e
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    units=$(ls "$corpus" | wc -l)
    found=0
    for crash in "$crashes"/*; do
        [ -f "$crash" ] || continue
        found=$((found + 1))
        cp "$crash" "$regressions/$(basename "$crash")"
        echo "fuzz.sh: $target crashed on $crash; kept as $regressions/$(basename "$crash") — see $log" >&2
        rm "$crash"
    done
    if [ "$status" -ne 0 ] || [ "$found" -gt 0 ]; then
        failed=1
        tail -30 "$log" >&2
    fi
    summary+=("$(printf '%-11s %6s s %12s runs %8s exec/s %6s inputs %3s crashes' "$target" "$seconds" "${runs:-?}" "${rate:-?}" "$units" "$found")")
done
echo
echo "fuzz summary ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)):"
printf '  %s\n' "${summary[@]}"
exit $failed
