#!/usr/bin/env python3
"""Crash soak: run `ctd run` at a tiny input size, feed it labelled, unlabelled and corrupt scans,
SIGKILL it at random moments (during ingest, training, checkpoint and report writes) and restart
it, ROUNDS times; then check that nothing was lost or counted twice:

- every dropped file is in the catalog exactly once, moved out of the inbox, to archive/ or
  rejected/ (corrupt ones rejected with an .error.txt);
- every request has exactly one report in outbox/;
- the catalog passes PRAGMA integrity_check, no job is left running;
- every checkpoint the catalog names loads (`ctd predict --model`), every cache tensor the
  catalog lists exists with its checksum;
- no temporary (.partial) file is left anywhere.

Usage: scripts/soak_crash.py [--rounds N] [--seed S] [--ctd PATH] [--keep DIR]
Prints the rounds and counts at the end; exits 1 if any check fails. Needs only the standard library.
"""
import argparse
import hashlib
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

import soaklib

SIZE = 48


def nifti(rng, abnormal):
    return soaklib.nifti(rng, abnormal, SIZE)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ctd", default=None)
    parser.add_argument("--keep", default=None, help="use this folder and keep it")
    args = parser.parse_args()
    ctd, _ = soaklib.binaries(args.ctd)
    rng = random.Random(args.seed)
    root = args.keep or tempfile.mkdtemp(prefix="ctd-soak-")
    state, staging = os.path.join(root, "state"), os.path.join(root, "staging")
    os.makedirs(staging, exist_ok=True)
    settings = ["--model-width", str(SIZE), "--model-height", str(SIZE), "--model-depth", str(SIZE), "--model-precision", "f32",
                "--training-epochs", "3", "--retrain-min-new-labels", "6", "--retrain-min-per-class", "3", "--retrain-interval", "0",
                "--watch-settle", "200ms", "--ingest-max-attempts", "1000"]
    log = open(os.path.join(root, "ctd.log"), "ab")

    def start():
        return subprocess.Popen([ctd, "run", "--state-dir", state] + settings, stdout=log, stderr=log)

    dropped = {}  # inbox path -> kind
    counter = 0
    kills = 0
    started = time.time()
    daemon = start()
    for round_index in range(args.rounds):
        # The first round brings enough labelled scans for training, so later kills hit it too.
        kinds = ["normal", "abnormal"] * 6 if round_index == 0 else \
            [rng.choice(["normal", "abnormal", "request", "request", "corrupt"]) for _ in range(rng.randint(2, 6))]
        for kind in kinds:
            counter += 1
            data = nifti(rng, kind == "abnormal" or (kind == "request" and rng.random() < 0.5))
            if kind == "corrupt":
                data = data[: rng.randint(10, len(data) // 2)]
            folder = {"normal": "CT-0", "abnormal": "CT-23"}.get(kind, "ward" if kind == "request" else "CT-0")
            relative = "%s/soak-%04d.nii.gz" % (folder, counter)
            path = os.path.join(staging, "f%d" % counter)
            with open(path, "wb") as f:
                f.write(data)
            target = os.path.join(state, "inbox", relative)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.rename(path, target)
            dropped[relative] = kind
        time.sleep(rng.uniform(0.05, 3.0))
        daemon.send_signal(signal.SIGKILL)
        daemon.wait()
        kills += 1
        daemon = start()

    # Let the last incarnation finish everything, then stop it cleanly.
    requests = [p for p, k in dropped.items() if k == "request"]
    def reports():
        outbox = os.path.join(state, "outbox")
        return [f for f in os.listdir(outbox) if f.endswith(".json")] if os.path.isdir(outbox) else []
    deadline = time.time() + 600
    inbox = os.path.join(state, "inbox")
    while time.time() < deadline:
        left = [os.path.join(d, f) for d, _, fs in os.walk(inbox) for f in fs]
        if not left and len(reports()) >= len(requests):
            break
        time.sleep(0.5)
    # A SIGTERM before the daemon has its signal handlers would just kill it: stop it once it is up.
    soaklib.wait_listening(os.path.join(state, "ctd.sock"))
    daemon.send_signal(signal.SIGTERM)
    status = daemon.wait(timeout=120)

    check = soaklib.Checks()
    check(status == 0, "the last daemon exited with %s after SIGTERM" % status)
    db = sqlite3.connect(os.path.join(state, "ctd.sqlite"))
    rows = check.account(db, dropped)
    for inbox_path, outcome, destination in db.execute("SELECT inbox_path, outcome, destination FROM file"):
        check(os.path.exists(destination), "%s: %s is missing" % (inbox_path, destination))
        if outcome == "rejected":
            check(os.path.exists(destination + ".error.txt"), "%s rejected without .error.txt" % inbox_path)
    check(len(rows) == len(dropped), "%d files recorded for %d dropped" % (len(rows), len(dropped)))
    left = soaklib.files_left(inbox)
    check(not left, "left in the inbox: %s" % left[:5])
    check(len(reports()) == len(requests), "%d reports for %d requests" % (len(reports()), len(requests)))
    running = db.execute("SELECT count(*) FROM job WHERE state = 'running'").fetchone()[0]
    check(running == 0, "%d jobs still running" % running)
    parked = db.execute("SELECT kind, subject, error FROM job WHERE state = 'parked'").fetchall()
    for path, checksum in db.execute("SELECT path, checksum FROM cache_entry"):
        ok = os.path.exists(path) and hashlib.sha256(open(path, "rb").read()).hexdigest() == checksum
        check(ok, "cache tensor %s missing or damaged" % path)
    row = db.execute("SELECT destination FROM file WHERE outcome = 'archived' LIMIT 1").fetchone()
    sample = row[0] if row else None
    runs = db.execute("SELECT id, folder, state FROM run").fetchall()
    checkpoints = 0
    for run_id, folder, run_state in runs:
        for name in ("best.safetensors", "last.safetensors"):
            checkpoint = os.path.join(folder, name)
            if os.path.exists(checkpoint) and sample:
                checkpoints += 1
                result = subprocess.run([ctd, "predict", "--model", checkpoint, sample], capture_output=True, text=True)
                check(result.returncode == 0, "%s does not load: %s" % (checkpoint, result.stderr.strip()))
    partial = [os.path.join(d, f) for d, _, fs in os.walk(state) for f in fs if f.endswith(".partial")]
    check(not partial, "temporary files left: %s" % partial[:5])

    kinds = {k: sum(1 for v in dropped.values() if v == k) for k in ("normal", "abnormal", "request", "corrupt")}
    print("crash soak: %d rounds, %d SIGKILLs, %.0f s" % (args.rounds, kills, time.time() - started))
    print("  dropped %d files: %d normal, %d abnormal, %d requests, %d corrupt" %
          (len(dropped), kinds["normal"], kinds["abnormal"], kinds["request"], kinds["corrupt"]))
    print("  catalog: %s, %d reports, %d training runs (%s), %d checkpoints loaded, %d parked jobs" %
          (soaklib.outcome_counts(rows), len(reports()), len(runs), ", ".join(sorted(set(r[2] for r in runs))) or "none",
           checkpoints, len(parked)))
    for job in parked:
        print("  parked:", job)
    check.finish("nothing lost, nothing counted twice, no temporary file left", kept=root)
    if not args.keep:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
