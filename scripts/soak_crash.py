#!/usr/bin/env python3
"""Crash soak: run `ctd run` at a tiny input size, feed it labelled, unlabelled and corrupt scans,
SIGKILL it and restart it, ROUNDS times; then check that nothing was lost or counted twice.

The first five rounds aim their kill at a named moment, later rounds at a random one of these or
at a random time (which can land in a restart's recovery): ingest and checkpoint and report writes
(the kill follows within a millisecond of the write's temporary file appearing, seen through
inotify), training (a moment inside an epoch) and a run's end (run.json says it ended, the
catalog does not know yet). Each kill prints what it hit: the writes it
left unfinished and the jobs the catalog had running. At the end:

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
import json
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


# The moments a round can aim its SIGKILL at; the write moments fire when the daemon creates the
# temporary file of that write (AtomicFile's `<name>.<pid>.partial`), i.e. while it is being written.
MOMENTS = ["ingest", "training", "checkpoint write", "report write", "run end"]
EPOCHS = 3
WRITES = {
    "ingest": lambda path: "/cache/" in path and path.endswith(".partial"),
    "checkpoint write": lambda path: "/models/" in path and ".safetensors." in path and path.endswith(".partial"),
    "report write": lambda path: "/outbox/" in path and path.endswith(".partial"),
}
MOMENT_TIMEOUT = 180
# How a kill's findings show that it landed in the moment it aimed at.
HIT = {
    "ingest": lambda hit: "cache tensor write" in hit or "ingest job" in hit,
    "training": lambda hit: "train job" in hit,
    "checkpoint write": lambda hit: "checkpoint write" in hit,
    "report write": lambda hit: "report write" in hit,
    "run end": lambda hit: "past its last epoch" in hit and "says running" not in hit,
    "random": lambda hit: True,
}


def nifti(rng, abnormal):
    return soaklib.nifti(rng, abnormal, SIZE)


RUN_PAST_LAST_EPOCH = """SELECT run.id, run.folder FROM run JOIN epoch ON epoch.run_id = run.id
    WHERE run.state = 'running' GROUP BY run.id HAVING max(epoch.epoch) >= %d""" % EPOCHS


def run_json_status(folder):
    try:
        with open(os.path.join(folder, "run.json")) as f:
            return json.load(f)["status"]
    except (OSError, ValueError, KeyError):
        return None


def what_was_hit(state, catalog):
    """What the daemon was in the middle of when it died: the writes it left unfinished (their
    temporary files) and the jobs the catalog still has running."""
    found = []
    for folder, what in (("cache", "cache tensor write"), ("models", "checkpoint write"), ("outbox", "report write")):
        for directory, _, names in os.walk(os.path.join(state, folder)):
            for name in names:
                if name.endswith(".partial"):
                    size = os.path.getsize(os.path.join(directory, name))
                    label = what if folder != "models" or ".safetensors." in name else "run file write"
                    found.append("%s (%s, %.1f MB written)" % (label, name.split(".")[0], size / 1e6))
    for kind, count in catalog("SELECT kind, count(*) FROM job WHERE state = 'running' GROUP BY kind"):
        found.append("%d %s job%s running" % (count, kind, "s" if count > 1 else ""))
    for run, folder in catalog(RUN_PAST_LAST_EPOCH):
        status = run_json_status(folder)
        found.append("run %s past its last epoch, its end not yet in the catalog (%s)" %
                     (run, "run.json says %s" % status if status else "no run.json"))
    return "; ".join(found) or "idle (nothing running, no write under way)"


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
                "--training-epochs", str(EPOCHS), "--retrain-min-new-labels", "6", "--retrain-min-per-class", "3", "--retrain-interval", "0",
                "--watch-settle", "200ms", "--ingest-max-attempts", "1000",
                "--watch-incomplete-grace", "2s"]  # "corrupt" scans are truncated: rejected 2 s after their last change
    log = open(os.path.join(root, "ctd.log"), "ab")

    def start():
        return subprocess.Popen([ctd, "run", "--state-dir", state] + settings, stdout=log, stderr=log)

    dropped = {}  # inbox path -> kind
    counter = 0
    started = time.time()
    catalog_path = os.path.join(state, "ctd.sqlite")

    def stage(kind):
        """Writes a scan of this kind to the staging folder; returns (staged path, inbox path)."""
        nonlocal counter
        counter += 1
        data = nifti(rng, kind == "abnormal" or (kind == "request" and rng.random() < 0.5))
        if kind == "corrupt":
            data = data[: rng.randint(10, len(data) // 2)]
        folder = {"normal": "CT-0", "abnormal": "CT-23"}.get(kind, "ward" if kind == "request" else "CT-0")
        relative = "%s/soak-%04d.nii.gz" % (folder, counter)
        path = os.path.join(staging, "f%d" % counter)
        with open(path, "wb") as f:
            f.write(data)
        dropped[relative] = kind
        return path, relative

    def drop(staged):
        """Renames staged scans into the inbox at once, so the daemon sees them together."""
        for path, relative in staged:
            target = os.path.join(state, "inbox", relative)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.rename(path, target)

    def catalog(query):
        try:
            db = sqlite3.connect("file:%s?mode=ro" % catalog_path, uri=True, timeout=5)
            try:
                return db.execute(query).fetchall()
            finally:
                db.close()
        except sqlite3.Error:
            return []

    def training_running():
        return catalog("SELECT count(*) FROM job WHERE kind = 'train' AND state = 'running'") == [(1,)]

    socket_path = os.path.join(state, "ctd.sock")
    daemon = start()
    soaklib.wait_listening(socket_path)
    watch = soaklib.CreationWatch([os.path.join(state, f) for f in ("cache", "models", "outbox")])
    kills = []  # (aim, what the kill hit, seconds waited)
    for round_index in range(args.rounds):
        aim = MOMENTS[round_index] if round_index < len(MOMENTS) else rng.choice(MOMENTS + ["random"])
        kinds = [rng.choice(["normal", "abnormal", "request", "request", "corrupt"]) for _ in range(rng.randint(2, 6))]
        # The first round brings enough labelled scans for a training run; rounds aimed at training
        # bring enough new labels for a retraining (if one is not under way already).
        if round_index == 0 or aim in ("training", "checkpoint write", "run end"):
            kinds += ["normal", "abnormal"] * (6 if round_index == 0 else 3)
        if aim == "report write":
            kinds.append("request")
        staged = [stage(kind) for kind in kinds]
        watch.drain()
        drop(staged)
        aimed_at = time.time()
        if aim == "random":
            time.sleep(rng.uniform(0.05, 3.0))
            came = True
        elif aim == "training":
            # The catalog shows a killed run as running until the restarted daemon recovers it.
            soaklib.wait_listening(socket_path)
            came = False
            while time.time() - aimed_at < MOMENT_TIMEOUT and not came:
                came = training_running()
                time.sleep(0.05)
            time.sleep(rng.uniform(0.1, 1.5))  # somewhere inside an epoch
        elif aim == "run end":
            # After run.json says the run ended, before the catalog records its end and the
            # promotion decision.
            came = False
            while time.time() - aimed_at < MOMENT_TIMEOUT and not came:
                came = any(run_json_status(folder) not in (None, "running") for _, folder in catalog(RUN_PAST_LAST_EPOCH))
                time.sleep(0.001)
        else:
            came = watch.wait(WRITES[aim], MOMENT_TIMEOUT) is not None
        waited = time.time() - aimed_at
        up = soaklib.accepts(socket_path)
        daemon.send_signal(signal.SIGKILL)
        daemon.wait()
        hit = what_was_hit(state, catalog) + ("" if up else "; still starting up (control socket not listening yet)")
        kills.append((aim, came, hit))
        print("  kill %d: aimed at %s%s, after %.1f s; hit: %s" %
              (len(kills), aim, "" if came else " (it never came: killed at the timeout)", waited, hit), flush=True)
        daemon = start()  # no waiting for it: a random kill may land in its start-up

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
    soaklib.wait_listening(socket_path)
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
    for run_id, error in db.execute("SELECT id, error FROM run WHERE state = 'failed'"):
        check(False, "run %s failed: %s" % (run_id, error))
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
    print("crash soak: %d rounds, %d SIGKILLs, %.0f s" % (args.rounds, len(kills), time.time() - started))
    for aim in MOMENTS + ["random"]:
        aimed = [(came, hit) for a, came, hit in kills if a == aim]
        if not aimed:
            continue
        landed = sum(1 for came, hit in aimed if came and HIT[aim](hit))
        print("  aimed at %s: %d kill%s, %d landed in it%s" % (aim, len(aimed), "s" if len(aimed) > 1 else "", landed,
              " (each left its .partial mid-write for the restart to remove)" if landed and aim in ("checkpoint write", "report write") else ""))
        check(all(came for came, _ in aimed), "aimed at %s, but it never came within %d s" % (aim, MOMENT_TIMEOUT))
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
