#!/usr/bin/env bash
# The main job, from a fresh clone: install what is missing, build release, and run ctd on data it
# generates itself. Until the daemon lands (issue 5) this runs the offline pipeline end to end:
# synthetic chest CTs → inspect → train a small model → predict scans it has never seen.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product ctd
ctd=.build/release/ctd
demo=${CTD_DEMO_DIR:-demo}
size=${CTD_DEMO_SIZE:-64}
mkdir -p "$demo"
echo "== ctd synth: 30 normal and 30 abnormal synthetic chest CTs (512×512, 30–70 slices)"
"$ctd" synth --out "$demo/data" --normal 30 --abnormal 30 --seed 1
echo "== ctd inspect one of them"
"$ctd" inspect "$(ls "$demo"/data/CT-23/*.nii.gz | head -1)"
echo "== ctd train at ${size}×${size}×${size} (the seed's model and settings, smaller input so it takes minutes)"
rm -rf "$demo/run"
"$ctd" train --data "$demo/data" --out "$demo/run" --cache "$demo/cache" \
    --width "$size" --height "$size" --depth "$size" --epochs "${CTD_DEMO_EPOCHS:-30}" --patience 10
echo "== ctd predict: four new scans the model has never seen"
"$ctd" synth --out "$demo/new" --normal 2 --abnormal 2 --seed 99 >/dev/null
"$ctd" predict --model "$demo/run" "$demo"/new/CT-0/*.nii.gz "$demo"/new/CT-23/*.nii.gz
echo "== done: the run is in $demo/run (curves.png, history.csv, run.json, best.safetensors)"
