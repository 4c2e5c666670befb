#!/usr/bin/env bash
# The main job, from a fresh clone: install what is missing, build release, and run the daemon on
# the default configuration with a local state folder, fed with synthetic scans it generates:
# labelled scans are ingested and cached, a model is trained in the background, and requests
# dropped at the same time are answered in the outbox as soon as the model exists.
#
# CTD_DEMO_DIR (default demo), CTD_DEMO_SIZE (model input, default 64), CTD_DEMO_EPOCHS (default
# 20) and CTD_DEMO_SCANS (labelled scans per class, default 30) change it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release --product ctd
swift build -c release --product ctctl
ctd=.build/release/ctd
ctctl=.build/release/ctctl
demo=${CTD_DEMO_DIR:-demo}
size=${CTD_DEMO_SIZE:-64}
epochs=${CTD_DEMO_EPOCHS:-20}
scans=${CTD_DEMO_SCANS:-30}
state="$demo/state"

echo "== ctd synth: $scans normal and $scans abnormal synthetic chest CTs to teach with, 4 to ask about"
[ -d "$demo/data-$scans/CT-23" ] || "$ctd" synth --out "$demo/data-$scans" --normal "$scans" --abnormal "$scans" --seed 1
[ -d "$demo/requests/CT-23" ] || "$ctd" synth --out "$demo/requests" --normal 2 --abnormal 2 --seed 99 >/dev/null

echo "== ctd run: config/ctd.yaml, state in $state, model ${size}×${size}×${size}, up to $epochs epochs"
rm -rf "$state"
log="$demo/ctd.log"
"$ctd" run --config config/ctd.yaml --state-dir "$state" \
    --model-width "$size" --model-height "$size" --model-depth "$size" \
    --training-epochs "$epochs" --retrain-min-new-labels $((2 * scans)) >"$log" 2>&1 &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null || true; wait $daemon 2>/dev/null || true' EXIT
tail -n +1 -f "$log" --pid=$daemon | sed -u 's/^<[0-9]>//' &
until [ -d "$state/inbox/CT-23" ]; do sleep 0.2; done

echo "== dropping the labelled scans into $state/inbox/CT-0 and CT-23, and 4 requests into $state/inbox/ward-7"
mkdir -p "$state/inbox/ward-7"
cp "$demo"/requests/CT-*/*.nii.gz "$state/inbox/ward-7/"
cp "$demo/data-$scans"/CT-0/*.nii.gz "$state/inbox/CT-0/"
cp "$demo/data-$scans"/CT-23/*.nii.gz "$state/inbox/CT-23/"

# The requests wait for the first model, then are answered. Every 15 s: what is being waited
# for (ingest, training epoch and step); a training run that fails stops the demo with its reason.
waited=0
until [ "$(ls "$state"/outbox/*.json 2>/dev/null | wc -l)" -ge 4 ]; do
    kill -0 $daemon 2>/dev/null || { echo "ctd stopped unexpectedly; see $log" >&2; exit 1; }
    sleep 1
    waited=$((waited + 1))
    status=$("$ctctl" status --socket "$state/ctd.sock" --json 2>/dev/null) || continue
    verdict=$(python3 -c '
import json, sys
s = json.loads(sys.argv[1]); reports = int(sys.argv[2])
failed = [p for p in s.get("problems") or [] if p.startswith("training run ") and "(not retried" in p]
if failed: print("FAILED " + failed[0]); sys.exit()
q = s.get("queues", {}); ingest = q.get("ingest", {}).get("queued", 0) + q.get("ingest", {}).get("running", 0)
cached = sum(n for k, n in s.get("scans", {}).items() if k.endswith("/cached") and not k.startswith("none"))
t = s.get("training")
if t: what = "training %s: epoch %d/%d, step %d/%d" % (t["run_id"], t["epoch"], t["epochs"], t["step"], t["steps"])
elif s.get("active_model"): what = "model %s ready" % s["active_model"]["id"]
else: what = "no training run yet"
print("waiting: %d labelled scans cached, %d to ingest; %s; %d of 4 reports" % (cached, ingest, what, reports))
' "$status" "$(ls "$state"/outbox/*.json 2>/dev/null | wc -l)")
    case "$verdict" in
        FAILED*) echo "demo stopped: ${verdict#FAILED } (the full log: $log)" >&2; exit 1 ;;
    esac
    [ $((waited % 15)) -eq 0 ] && echo "== $verdict"
done
sleep 0.5
echo
echo "== the outbox: one JSON report and one PNG montage per request (the file names tell the truth)"
for report in "$state"/outbox/*.json; do
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["file"] + ":", r["decision"], "— " + r["sentences"][1])' "$report"
done
echo "== done: reports and pictures in $state/outbox, the model in $state/models, originals in $state/archive"
