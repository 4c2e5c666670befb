#!/usr/bin/env bash
# The cross-generator benchmark (issue 14, item 4): train at the seed's size on scans from one
# synthetic generator and evaluate on scans from the other (`ctd synth` and `ctd synth --generator
# independent`, which share no drawing code), both ways. A model that learned the disease, not one
# generator's habits, does well on the other one. Prints accuracy (at 0.5 and at the best
# threshold), AUC and ECE for each direction, then a summary table.
#
# Usage: scripts/cross_generator.sh [--normal 100] [--abnormal 100] [--epochs 100] [--size 128,128,64]
#                                   [--severity 1-4] [--out DIR]
# Without --severity, abnormal scans are CT-23 as in the seed (CT-2 and CT-3).
# Release build of ctd (built if missing). Measured on 2 cores at 128x128x64 with --epochs 25: about
# 50 minutes in all (both runs stopped early, after 23 and 18 epochs of ~48 s; synth ~4-5 min per generator).
set -euo pipefail
cd "$(dirname "$0")/.."
normal=100 abnormal=100 epochs=100 size=128,128,64 severity="" out=""
while [ $# -gt 0 ]; do
    case "$1" in
        --normal) normal=$2; shift 2 ;;
        --abnormal) abnormal=$2; shift 2 ;;
        --epochs) epochs=$2; shift 2 ;;
        --size) size=$2; shift 2 ;;
        --severity) severity=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        *) echo "cross_generator: unknown argument $1 (see the usage at the top of the script)" >&2; exit 64 ;;
    esac
done
IFS=, read -r width height depth <<< "$size"
ctd=.build/release/ctd
[ -x "$ctd" ] || swift build -c release --product ctd
out=${out:-$(mktemp -d /tmp/cross-generator.XXXXXX)}
mkdir -p "$out"
echo "cross-generator benchmark in $out: $normal + $abnormal scans per generator (abnormal: ${severity:-CT-23}), ${width}x${height}x${depth}, up to $epochs epochs"

for generator in standard independent; do
    [ -d "$out/$generator/CT-0" ] || "$ctd" synth --out "$out/$generator" --generator "$generator" --normal "$normal" --abnormal "$abnormal" \
        ${severity:+--severity "$severity"} --seed 11
done
for generator in standard independent; do
    [ -f "$out/run-$generator/run.json" ] && grep -q '"status" *: *"\(finished\|stopped early\)"' "$out/run-$generator/run.json" && continue
    "$ctd" train --data "$out/$generator" --out "$out/run-$generator" --cache "$out/cache-$generator" \
        --width "$width" --height "$height" --depth "$depth" --epochs "$epochs" --seed 1 $([ -d "$out/run-$generator" ] && echo --resume)
done

summary=()
for trained in standard independent; do
    for tested in standard independent; do
        [ "$trained" = "$tested" ] && continue
        json=$("$ctd" evaluate --json --model "$out/run-$trained" --data "$out/$tested")
        echo "trained on $trained, tested on $tested: $json"
        summary+=("$(python3 - "$trained" "$tested" "$json" <<'PY'
import json, sys
r = json.loads(sys.argv[3])
auc = "-" if r.get("auc") is None else "%.3f" % r["auc"]
print("%-12s %-12s %.3f     %.3f     %-6s %.3f" % (sys.argv[1], sys.argv[2], r["accuracy"], r["best_threshold_accuracy"], auc, r["ece"]))
PY
)")
    done
done
echo
echo "trained on   tested on    acc@0.5   best acc  AUC    ECE"
printf '%s\n' "${summary[@]}"
