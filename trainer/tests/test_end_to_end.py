"""The whole round trip on CPU: a daemon ingests labelled scans, `ctctl export` writes its
training set, the twin trains 2 epochs at 48^3 under `torchrun --nproc_per_node 2` (gloo),
`ctctl import --promote` brings the model in, and a request dropped into the inbox is answered
by it. A model of another input size is refused with the reason."""
import json
import os
import signal
import subprocess
import sys
import time
import unittest

from ctd_trainer.checkpoint import save_checkpoint
from ctd_trainer.model import SeedNet

from small_scans import nifti_bytes
from support import ROOT, TemporaryFolderCase, binary, run

SETTINGS = ["--model-width", "48", "--model-height", "48", "--model-depth", "48", "--model-precision", "f32",
            "--retrain-min-new-labels", "1000", "--watch-settle", "200ms", "--watch-incomplete-grace", "2s"]


def wait(seconds, condition, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


class EndToEndTests(TemporaryFolderCase):
    def setUp(self):
        super().setUp()
        self.ctd, self.ctctl = binary("ctd"), binary("ctctl")
        self.state = self.path("state")
        self.socket = os.path.join(self.state, "ctd.sock")
        self.log = open(self.path("daemon.log"), "w")
        self.daemon = subprocess.Popen([self.ctd, "run", "--state-dir", self.state] + SETTINGS, stdout=self.log, stderr=subprocess.STDOUT)
        wait(30, lambda: os.path.exists(self.socket), "the daemon's socket")

    def tearDown(self):
        self.daemon.send_signal(signal.SIGTERM)
        try:
            self.daemon.wait(60)
        except subprocess.TimeoutExpired:
            self.daemon.kill()
        self.log.close()
        super().tearDown()

    def ctctl_json(self, *arguments):
        result = run([self.ctctl, *arguments, "--socket", self.socket, "--json"])
        return json.loads(result.stdout.strip().splitlines()[-1])

    def drop(self, relative, data):
        target = os.path.join(self.state, "inbox", relative)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        staging = self.path(os.path.basename(relative) + ".staging")
        with open(staging, "wb") as f:
            f.write(data)
        os.rename(staging, target)

    def test_export_train_under_torchrun_import_and_answer(self):
        for index in range(10):
            self.drop(f"CT-0/n{index}.nii.gz", nifti_bytes(index, False))
            self.drop(f"CT-23/a{index}.nii.gz", nifti_bytes(index, True))
        wait(120, lambda: len(self.ctctl_json("scans", "--limit", "100")) == 20, "20 scans ingested")

        export = self.path("export")
        summary = self.ctctl_json("export", "--out", export, "--shard-size", "8")
        self.assertEqual(summary["scans"], 20)
        self.assertGreater(summary["validation"], 0)

        out = self.path("run")
        environment = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "trainer"), OMP_NUM_THREADS="1")
        training = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                                   "-m", "ctd_trainer", "--export", export, "--out", out, "--epochs", "2", "--device", "cpu",
                                   "--workers", "0", "--seed", "3"], capture_output=True, text=True, env=environment, timeout=900)
        self.assertEqual(training.returncode, 0, training.stdout + training.stderr)
        self.assertIn("2 process(es) on cpu", training.stdout)
        with open(os.path.join(out, "history.csv")) as f:
            rows = f.read().strip().splitlines()
        self.assertEqual(rows[0].split(",")[:6], ["epoch", "loss", "acc", "val_loss", "val_acc", "val_auc"])
        self.assertEqual(len(rows), 3)
        with open(os.path.join(out, "run.json")) as f:
            report = json.load(f)
        self.assertEqual((report["status"], report["epochs_completed"]), ("finished", 2))
        self.assertEqual(report["data"]["validation_normal"] + report["data"]["validation_abnormal"], summary["validation"])

        imported = self.ctctl_json("import", out, "--promote")
        self.assertEqual(imported["run"]["origin"], "imported")
        self.assertEqual(imported["run"]["id"], report["run_id"], "the trainer's run id is kept")
        self.assertTrue(imported["promoted"] and imported["run"]["active"], imported)
        self.assertEqual(imported["evaluation"]["scans"], summary["validation"])
        runs = run([self.ctctl, "runs", "--socket", self.socket]).stdout
        self.assertIn("imported", runs)

        self.drop("ward-3/question.nii.gz", nifti_bytes(40, True))
        answer = os.path.join(self.state, "outbox", "ward-3_question.json")
        wait(60, lambda: os.path.exists(answer), "the report")
        with open(answer) as f:
            answered = json.load(f)
        self.assertEqual(answered["model"]["run_id"], report["run_id"])

        other = SeedNet(64, 64, 64)
        save_checkpoint(self.path("other.safetensors"), other, {"run_id": "elsewhere"})
        refused = subprocess.run([self.ctctl, "import", self.path("other.safetensors"), "--socket", self.socket], capture_output=True, text=True)
        self.assertEqual(refused.returncode, 1)
        self.assertIn("trained at 64×64×64, but this daemon's model is 48×48×48", refused.stderr)


if __name__ == "__main__":
    unittest.main()
