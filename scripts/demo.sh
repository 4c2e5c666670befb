#!/usr/bin/env bash
# The main job, from a fresh clone: install what is missing, build release, run ctd on data it
# generates itself. Until the daemon lands (issue 5) this runs the offline pipeline:
# synthetic scans → inspect → preprocess to .npy, and prints where everything went.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product ctd
ctd=.build/release/ctd
demo=${CTD_DEMO_DIR:-demo}
mkdir -p "$demo"
echo "== ctd synth: two normal and two abnormal synthetic chest CTs"
"$ctd" synth --out "$demo/data" --normal 2 --abnormal 2 --seed 1
scan=$(ls "$demo"/data/CT-23/*.nii.gz | head -1)
echo "== ctd inspect $scan"
"$ctd" inspect "$scan"
mkdir -p "$demo/preprocessed"
for file in "$demo"/data/CT-*/*.nii.gz; do
    out="$demo/preprocessed/$(basename "$file" .nii.gz).npy"
    "$ctd" preprocess "$file" -o "$out"
    echo "preprocessed $file -> $out (128×128×64 float32)"
done
echo "== done: open the .npy files with numpy.load; scans are in $demo/data"
