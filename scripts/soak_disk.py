#!/usr/bin/env python3
"""Full-disk soak (root: mounts a small tmpfs as the daemon's state folder). The disk fills up
twice: once to the daemon's reserve (limits.min_free_bytes) while it works, once completely (as
if another program had filled it) with scans and requests arriving. Checks the daemon says so
clearly (log and `ctctl status`), keeps running, damages nothing, and finishes every file by itself
once space returns: each accounted for once, the catalog intact, no temporary file left.

Usage: sudo scripts/soak_disk.py [--size-mb 160] [--ctd PATH] [--keep DIR]
Prints the phases and counts at the end; exits 1 if a check fails.
"""
import argparse
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
RESERVE = 8 << 20


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=160)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ctd", default=None)
    parser.add_argument("--keep", default=None)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("soak_disk: needs root to mount a tmpfs (run with sudo)")
    ctd, ctctl = soaklib.binaries(args.ctd)
    rng = random.Random(args.seed)
    root = args.keep or tempfile.mkdtemp(prefix="ctd-disk-")
    state = os.path.join(root, "state")
    os.makedirs(state, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm" % args.size_mb, "ctd-soak", state], check=True)
    try:
        run(args, ctd, ctctl, rng, root, state)
    finally:
        subprocess.run(["umount", "-l", state])
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


def run(args, ctd, ctctl, rng, root, state):
    inbox, staging = os.path.join(state, "inbox"), os.path.join(state, "staging")
    socket = os.path.join(root, "ctd.sock")  # off the full disk, so ctctl can always connect
    os.makedirs(staging, exist_ok=True)
    settings = ["--model-width", str(SIZE), "--model-height", str(SIZE), "--model-depth", str(SIZE), "--model-precision", "f32",
                "--training-epochs", "2", "--retrain-min-new-labels", "8", "--retrain-min-per-class", "4", "--retrain-interval", "0",
                "--watch-settle", "200ms", "--limits-min-free-bytes", str(RESERVE), "--control-socket", socket,
                "--watch-incomplete-grace", "2s"]  # "corrupt" scans are truncated: rejected 2 s after their last change
    log_path = os.path.join(root, "ctd.log")
    log = open(log_path, "ab")
    daemon = subprocess.Popen([ctd, "run", "--state-dir", state] + settings, stdout=log, stderr=log)
    dropped = {}
    counter = [0]

    def stage(kind):
        counter[0] += 1
        data = soaklib.nifti(rng, kind == "abnormal" or (kind == "request" and rng.random() < 0.5), SIZE)
        if kind == "corrupt":
            data = data[:200]
        relative = "%s/disk-%04d.nii.gz" % ({"normal": "CT-0", "abnormal": "CT-23"}.get(kind, "ward"), counter[0])
        path = os.path.join(staging, "f%d" % counter[0])
        with open(path, "wb") as f:
            f.write(data)
        return path, relative, kind

    def drop(staged):
        for path, relative, kind in staged:
            target = os.path.join(inbox, relative)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.rename(path, target)
            dropped[relative] = kind

    def free():
        info = os.statvfs(state)
        return info.f_bavail * info.f_frsize

    def fill(leave):
        """Fills the tmpfs up to `leave` free bytes (0: completely) with filler files."""
        index = 0
        while free() > leave:
            index += 1
            try:
                with open(os.path.join(state, "filler-%d" % index), "wb") as f:
                    f.write(b"\0" * max(4096, min(8 << 20, free() - leave)))
            except OSError:
                break

    def unfill():
        for name in os.listdir(state):
            if name.startswith("filler-"):
                os.remove(os.path.join(state, name))

    def status():
        t0 = time.time()
        result = subprocess.run([ctctl, "status", "--json", "--socket", socket], capture_output=True, text=True)
        try:
            return json.loads(result.stdout.strip().splitlines()[-1]), time.time() - t0
        except (ValueError, IndexError):
            return {}, time.time() - t0

    def wait(condition, seconds):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if condition():
                return True
            time.sleep(0.3)
        return False

    def reports():
        outbox = os.path.join(state, "outbox")
        return [f for f in os.listdir(outbox) if f.endswith(".json")] if os.path.isdir(outbox) else []

    check = soaklib.Checks()

    wait(lambda: os.path.exists(socket), 30)
    # A model first (requests are answered), from twelve labelled scans.
    drop([stage("normal" if i % 2 == 0 else "abnormal") for i in range(12)])
    check(wait(lambda: status()[0].get("active_model") is not None, 300), "no first model")
    phases = []

    # Phase 1: the disk fills to just above the reserve while scans arrive: work stops at the reserve.
    batch = [stage(rng.choice(["normal", "abnormal", "request", "corrupt"])) for _ in range(30)]
    fill(RESERVE + (2 << 20))
    drop(batch)
    check(wait(lambda: bool(status()[0].get("problems")), 60), "phase 1: status never reported the full disk")
    problems = status()[0].get("problems") or []
    left = len(soaklib.files_left(inbox))
    check(daemon.poll() is None, "phase 1: the daemon died")
    phases.append("reserve reached: %.1f MB free, %d of %d files waiting in the inbox, status says %r"
                  % (free() / 1048576, left, len(batch), problems[0] if problems else None))

    # Phase 2: completely full (another program filled it), more files and requests arrive.
    batch2 = [stage(rng.choice(["normal", "abnormal", "request"])) for _ in range(10)]
    fill(0)
    drop(batch2)
    time.sleep(8)
    check(daemon.poll() is None, "phase 2: the daemon died")
    check(bool(status()[0].get("problems")), "phase 2: status does not report the full disk")
    phases.append("completely full: %d bytes free, daemon %s, %d files in the inbox"
                  % (free(), "running" if daemon.poll() is None else "DEAD", len(soaklib.files_left(inbox))))

    # Space returns: everything is finished without a restart.
    unfill()
    requests = sum(1 for k in dropped.values() if k == "request")
    done = wait(lambda: not soaklib.files_left(inbox) and len(reports()) >= requests, 300)
    check(done, "after space returned: %d files left in the inbox, %d of %d reports"
          % (len(soaklib.files_left(inbox)), len(reports()), requests))
    check(not status()[0].get("problems"), "status still reports a problem after space returned")
    phases.append("space back: inbox empty %s, %d reports for %d requests" % (not soaklib.files_left(inbox), len(reports()), requests))

    # Phase 3: a training run whose checkpoint (16 MB with the optimizer state) no longer fits.
    def runs():
        result = subprocess.run([ctctl, "runs", "--json", "--socket", socket], capture_output=True, text=True)
        try:
            return json.loads(result.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return []
    wait(lambda: not (status()[0].get("training")), 300)
    runs_before = len(runs())
    fill(RESERVE + (6 << 20))
    def retrain():
        return "started" in subprocess.run([ctctl, "retrain", "--socket", socket], capture_output=True, text=True).stdout
    check(wait(retrain, 120), "phase 3: the daemon would not start a training run")
    hit = wait(lambda: "waits for disk space" in open(log_path, errors="replace").read(), 300)
    check(hit, "phase 3: training never ran out of space")
    check(daemon.poll() is None, "phase 3: the daemon died")
    unfill()
    finished = wait(lambda: len(runs()) > runs_before and all(r.get("state") not in ("running", "failed") for r in runs())
                    and not status()[0].get("training"), 600)
    check(finished, "phase 3: the training run did not finish after space returned: %s"
          % [(r.get("id"), r.get("state")) for r in runs()])
    phases.append("training out of space: %s, then %d run(s) ended: %s"
                  % ("a checkpoint write was refused, the run waited and then continued" if hit else "NOT HIT", len(runs()),
                     ", ".join(sorted(set(str(r.get("state")) for r in runs())))))
    daemon.send_signal(signal.SIGTERM)
    exit_status = daemon.wait(timeout=120)
    check(exit_status == 0, "the daemon exited with %s after SIGTERM" % exit_status)

    db = sqlite3.connect(os.path.join(state, "ctd.sqlite"))
    rows = check.account(db, dropped)
    parked = db.execute("SELECT kind, subject, error FROM job WHERE state = 'parked'").fetchall()
    check(not parked, "parked jobs: %s" % parked[:3])
    running = db.execute("SELECT count(*) FROM job WHERE state = 'running'").fetchone()[0]
    check(running == 0, "%d jobs still running" % running)
    partial = [f for f in soaklib.files_left(state) if f.endswith(".partial")]
    check(not partial, "temporary files left: %s" % partial[:5])
    text = open(log_path, errors="replace").read()
    full_lines = [line for line in text.splitlines() if "min_free_bytes" in line]
    check(full_lines, "the log never said the disk was full")
    check("disk space is back" in text, "the log never said space was back")

    print("full-disk soak on a %d MB tmpfs (reserve %d MB):" % (args.size_mb, RESERVE >> 20))
    for phase in phases:
        print("  " + phase)
    print("  log said: %s" % (full_lines[0].split("> ", 1)[-1][:200] if full_lines else "nothing"))
    print("  catalog: %s, %d reports, %d parked jobs" % (soaklib.outcome_counts(rows), len(reports()), len(parked)))
    check.finish("nothing lost, nothing damaged, recovered without a restart")


if __name__ == "__main__":
    main()
