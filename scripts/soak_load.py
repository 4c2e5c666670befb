#!/usr/bin/env python3
"""Load soak: the daemon at a small input size gets a first model, then 2,000 scans dropped at
once (labelled ones, prediction requests and some corrupt files), then a steady stream. Measures
ingestion throughput, per-file latency in the stream, the daemon's peak RSS, how `ctctl status`
answers while it works, and checks that no file was missed or counted twice (as root, the
daemon's inotify queue is shrunk to 256 events so the burst overflows it and the rescan must
catch up).

Usage: scripts/soak_load.py [--burst 2000] [--stream 300] [--rate 10] [--ctd PATH] [--keep DIR]
Prints the figures at the end; exits 1 if a check fails. Builds ctd (release) if none is built.
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
import threading
import time

import soaklib

SIZE = 48
QUEUE_LIMIT = "/proc/sys/fs/inotify/max_queued_events"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--burst", type=int, default=2000)
    parser.add_argument("--stream", type=int, default=300)
    parser.add_argument("--rate", type=float, default=10, help="stream files per second")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ctd", default=None)
    parser.add_argument("--keep", default=None, help="use this folder and keep it")
    args = parser.parse_args()
    ctd, ctctl = soaklib.binaries(args.ctd)
    rng = random.Random(args.seed)
    root = args.keep or tempfile.mkdtemp(prefix="ctd-load-")
    state, staging = os.path.join(root, "state"), os.path.join(root, "staging")
    inbox = os.path.join(state, "inbox")
    socket = os.path.join(state, "ctd.sock")
    os.makedirs(staging, exist_ok=True)
    # Training at most once an hour: the figures are about ingest and predictions, not training beside them.
    settings = ["--model-width", str(SIZE), "--model-height", str(SIZE), "--model-depth", str(SIZE), "--model-precision", "f32",
                "--training-epochs", "2", "--retrain-min-new-labels", "8", "--retrain-min-per-class", "4", "--retrain-interval", "1h",
                "--watch-settle", "200ms", "--control-socket", socket,
                "--watch-incomplete-grace", "2s"]  # "corrupt" scans are truncated: rejected 2 s after their last change
    log = open(os.path.join(root, "ctd.log"), "ab")

    # Eight distinct voxel sets per class; every file gets its own header tag, so all differ in content.
    templates = {label: [soaklib.voxels_of(soaklib.nifti(rng, label == "abnormal", SIZE, compress=False)) for _ in range(8)]
                 for label in ("normal", "abnormal")}
    counter = [0]

    def make(kind):
        counter[0] += 1
        label = "abnormal" if kind == "abnormal" or (kind == "request" and rng.random() < 0.5) else "normal"
        data = soaklib.nifti_bytes(SIZE, rng.choice(templates[label]), compress=rng.random() < 0.5, tag=b"load %d" % counter[0])
        if kind == "corrupt":
            data = data[: rng.randint(10, len(data) // 2)]
        folder = {"normal": "CT-0", "abnormal": "CT-23"}.get(kind, "ward" if kind == "request" else "CT-0")
        relative = "%s/load-%05d.nii%s" % (folder, counter[0], ".gz" if data[:2] == b"\x1f\x8b" else "")
        path = os.path.join(staging, "f%d" % counter[0])
        with open(path, "wb") as f:
            f.write(data)
        return path, relative

    dropped = {}

    def drop(path, relative, kind):
        target = os.path.join(inbox, relative)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.rename(path, target)
        dropped[relative] = kind

    shrink = os.geteuid() == 0 and os.path.exists(QUEUE_LIMIT)
    original_limit = open(QUEUE_LIMIT).read() if shrink else None
    if shrink:
        open(QUEUE_LIMIT, "w").write("256\n")
    daemon = subprocess.Popen([ctd, "run", "--state-dir", state] + settings, stdout=log, stderr=log)
    try:
        deadline = time.time() + 30
        while not os.path.exists(socket) and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # the watcher sets up its queue right after the socket
    finally:
        if shrink:
            open(QUEUE_LIMIT, "w").write(original_limit)

    def catalog_count():
        try:
            db = sqlite3.connect("file:%s?mode=ro" % os.path.join(state, "ctd.sqlite"), uri=True, timeout=5)
            try:
                return db.execute("SELECT count(*) FROM file").fetchone()[0]
            finally:
                db.close()
        except sqlite3.Error:
            return 0

    def reports():
        outbox = os.path.join(state, "outbox")
        return [f for f in os.listdir(outbox) if f.endswith(".json")] if os.path.isdir(outbox) else []

    def wait(condition, seconds, what):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if condition():
                return True
            time.sleep(0.2)
        print("timed out waiting for " + what, file=sys.stderr)
        return False

    # A first model, so that requests in the burst are answered.
    started = time.time()
    for index in range(12):
        drop(*make("normal" if index % 2 == 0 else "abnormal"), "normal" if index % 2 == 0 else "abnormal")
    def has_model():
        result = subprocess.run([ctctl, "status", "--json", "--socket", socket], capture_output=True, text=True)
        try:
            return result.returncode == 0 and json.loads(result.stdout.strip().splitlines()[-1]).get("active_model") is not None
        except (ValueError, IndexError):
            return False

    model_ready = wait(has_model, 300, "the first model")
    model_seconds = time.time() - started

    # The burst: staged first, then renamed into the inbox as fast as Python can.
    kinds = [rng.choices(["normal", "abnormal", "request", "corrupt"], weights=[40, 40, 18, 2])[0] for _ in range(args.burst)]
    staged = [(make(kind), kind) for kind in kinds]
    before = catalog_count()
    status_times, rss_samples, stop_polling = [], [], threading.Event()

    def poll():
        while not stop_polling.is_set():
            t0 = time.time()
            result = subprocess.run([ctctl, "status", "--json", "--socket", socket], capture_output=True, text=True)
            if result.returncode == 0:
                status_times.append(time.time() - t0)
            rss_samples.append(soaklib.peak_rss_mb(daemon.pid) or 0)
            stop_polling.wait(0.5)

    poller = threading.Thread(target=poll)
    poller.start()
    burst_start = time.time()
    for (path, relative), kind in staged:
        drop(path, relative, kind)
    drop_seconds = time.time() - burst_start
    burst_done = wait(lambda: catalog_count() - before >= args.burst, 1800, "the burst to be ingested")
    burst_seconds = time.time() - burst_start
    requests_in_burst = sum(1 for k in kinds if k == "request")
    wait(lambda: len(reports()) >= sum(1 for k in dropped.values() if k == "request"), 600, "the burst's reports")
    reports_seconds = time.time() - burst_start

    # The stream: one file every 1/rate s; latency is from the rename to the file leaving the inbox.
    latencies = []
    pending = {}
    stream_start = time.time()
    for index in range(args.stream):
        kind = rng.choices(["normal", "abnormal", "request"], weights=[40, 40, 20])[0]
        path, relative = make(kind)
        drop(path, relative, kind)
        pending[relative] = time.time()
        next_drop = stream_start + (index + 1) / args.rate
        while time.time() < next_drop:
            for rel, t in list(pending.items()):
                if not os.path.exists(os.path.join(inbox, rel)):
                    latencies.append(time.time() - t)
                    del pending[rel]
            time.sleep(0.01)
    wait(lambda: not soaklib.files_left(inbox), 600, "the stream to be ingested")
    for rel, t in pending.items():
        latencies.append(time.time() - t)
    stream_seconds = time.time() - stream_start
    requests = sum(1 for k in dropped.values() if k == "request")
    wait(lambda: len(reports()) >= requests, 600, "every report")
    stop_polling.set()
    poller.join()
    peak = soaklib.peak_rss_mb(daemon.pid)
    daemon.send_signal(signal.SIGTERM)
    status = daemon.wait(timeout=120)

    check = soaklib.Checks()
    check(model_ready, "no first model within 300 s")
    check(burst_done, "the burst was not ingested within 1800 s")
    check(status == 0, "the daemon exited with %s after SIGTERM" % status)
    rows = check.account(sqlite3.connect(os.path.join(state, "ctd.sqlite")), dropped)
    missed, twice = check.missed, check.twice
    check(not soaklib.files_left(inbox), "files left in the inbox")
    check(len(reports()) == requests, "%d reports for %d requests" % (len(reports()), requests))
    overflows = open(os.path.join(root, "ctd.log"), errors="replace").read().count("inotify queue overflowed")

    print("load soak: %d-voxel scans (%d³), model %s in %.0f s" % (SIZE ** 3, SIZE, "ready" if model_ready else "MISSING", model_seconds))
    print("  burst: %d files renamed into the inbox in %.1f s; all recorded in %.1f s = %.0f files/s; %d reports answered by %.1f s"
          % (args.burst, drop_seconds, burst_seconds, args.burst / burst_seconds, requests_in_burst, reports_seconds))
    print("  inotify: queue %s, %d overflow rescans, %d missed, %d counted twice"
          % ("shrunk to 256 events" if shrink else "left as is (not root)", overflows, len(missed), len(twice)))
    print("  stream: %d files at %.0f/s over %.0f s; inbox-to-handled latency median %.2f s, p95 %.2f s, max %.2f s"
          % (args.stream, args.rate, stream_seconds, soaklib.median(latencies), soaklib.percentile(latencies, 0.95), max(latencies or [0])))
    print("  ctctl status while loaded: %d calls, median %.0f ms, p95 %.0f ms, max %.0f ms"
          % (len(status_times), 1000 * soaklib.median(status_times), 1000 * soaklib.percentile(status_times, 0.95), 1000 * max(status_times or [0])))
    print("  daemon peak RSS %.0f MB" % (peak or 0))
    print("  catalog: %s, %d reports" % (soaklib.outcome_counts(rows), len(reports())))
    check.finish("nothing missed, nothing counted twice", kept=root)
    if not args.keep:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
