"""Shared by the trainer's tests: where the built ctd binaries are, temporary folders."""
import os
import shutil
import subprocess
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def binary(name):
    """The built executable (CTD_BIN_DIR, else .build/debug, else .build/release)."""
    folders = [os.environ.get("CTD_BIN_DIR", "")] + [os.path.join(ROOT, ".build", kind) for kind in ("debug", "release")]
    for folder in folders:
        path = os.path.join(folder, name)
        if folder and os.access(path, os.X_OK):
            return path
    raise unittest.SkipTest(f"{name} is not built (swift build), or set CTD_BIN_DIR")


def run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


class TemporaryFolderCase(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="ctd-trainer-test-")

    def tearDown(self):
        shutil.rmtree(self.folder, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.folder, name)
