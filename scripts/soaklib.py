"""Helpers shared by the soak scripts: small NIfTI scans, finding (or building) ctd, and reading
the daemon's state. Standard library only."""
import gzip
import os
import struct
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def nifti(rng, abnormal, size=48, compress=True, tag=b""):
    """A small int16 scan: a body with a dark lung and, when abnormal, a hazy blob. `tag` goes
    into the header's description, so scans with the same voxels still differ in content."""
    n = size
    cx, cy, cz, r = [n * (0.35 + 0.3 * rng.random()) for _ in range(3)] + [n * (0.1 + 0.06 * rng.random())]
    voxels = bytearray()
    for z in range(n):
        for y in range(n):
            row = []
            for x in range(n):
                dx, dy, dz = (x - n / 2) / (n * 0.4), (y - n / 2) / (n * 0.35), (z - n / 2) / (n * 0.45)
                hu = -850 if dx * dx + dy * dy + dz * dz < 1 else 40
                if abnormal and (x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2 < r * r:
                    hu = max(hu, -500)
                row.append(hu + rng.randint(-30, 30))
            voxels += struct.pack("<%dh" % n, *row)
    return nifti_bytes(n, bytes(voxels), compress, tag)


def nifti_bytes(n, voxels, compress=True, tag=b""):
    header = bytearray(348)
    struct.pack_into("<i", header, 0, 348)
    struct.pack_into("<8h", header, 40, 3, n, n, n, 1, 1, 1, 1)
    struct.pack_into("<hh", header, 70, 4, 16)  # int16
    struct.pack_into("<8f", header, 76, 1, 1, 1, 1, 1, 1, 1, 1)
    struct.pack_into("<f", header, 108, 352.0)
    struct.pack_into("<f", header, 112, 1.0)
    header[148:148 + min(len(tag), 80)] = tag[:80]
    header[344:348] = b"n+1\0"
    data = bytes(header) + b"\0" * 4 + voxels
    return gzip.compress(data, compresslevel=1) if compress else data


def voxels_of(scan):
    """The voxel bytes of a scan made by `nifti` (to re-tag it cheaply)."""
    data = gzip.decompress(scan) if scan[:2] == b"\x1f\x8b" else scan
    return data[352:]


def binaries(explicit_ctd=None):
    """(ctd, ctctl): the given ctd, else a release build, else a debug one, else build release."""
    if explicit_ctd:
        return explicit_ctd, os.path.join(os.path.dirname(explicit_ctd), "ctctl")
    for config in ("release", "debug"):
        folder = os.path.join(REPO, ".build", config)
        if os.path.exists(folder + "/ctd") and os.path.exists(folder + "/ctctl"):
            return folder + "/ctd", folder + "/ctctl"
    print("building ctd and ctctl (release)…", file=sys.stderr)
    subprocess.run([REPO + "/scripts/install-deps.sh"], check=True)
    subprocess.run(["swift", "build", "-c", "release", "--product", "ctd"], cwd=REPO, check=True)
    subprocess.run(["swift", "build", "-c", "release", "--product", "ctctl"], cwd=REPO, check=True)
    folder = os.path.join(REPO, ".build", "release")
    return folder + "/ctd", folder + "/ctctl"


def peak_rss_mb(pid):
    """The process's peak resident set (VmHWM), in MB."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def files_left(folder):
    return [os.path.join(d, f) for d, _, fs in os.walk(folder) for f in fs]


def median(values):
    values = sorted(values)
    return values[len(values) // 2] if values else float("nan")


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] if values else float("nan")


class Checks:
    """Failed checks, collected; `finish` prints them (or the success line) and sets the exit code."""

    def __init__(self):
        self.failures = []

    def __call__(self, condition, text):
        if not condition:
            self.failures.append(text)

    def account(self, db, dropped):
        """Every dropped file recorded once, moved, and archived (rejected when corrupt); the
        catalog intact. Returns the catalog's (inbox_path, outcome, moved) rows."""
        self(db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "catalog integrity_check failed")
        rows = db.execute("SELECT inbox_path, outcome, moved FROM file").fetchall()
        recorded = {}
        for inbox_path, outcome, moved in rows:
            recorded[inbox_path] = recorded.get(inbox_path, 0) + 1
            self(moved == 1, "%s not moved" % inbox_path)
        outcomes = {path: outcome for path, outcome, _ in rows}
        missed = [p for p in dropped if p not in recorded]
        twice = [p for p, n in recorded.items() if n > 1]
        self(not missed, "%d files missed, e.g. %s" % (len(missed), missed[:3]))
        self(not twice, "%d files recorded twice, e.g. %s" % (len(twice), twice[:3]))
        for relative, kind in dropped.items():
            expected = "rejected" if kind == "corrupt" else "archived"
            self(relative not in outcomes or outcomes[relative] == expected, "%s (%s) ended %s" % (relative, kind, outcomes.get(relative)))
        self.missed, self.twice = missed, twice
        return rows

    def finish(self, success, kept=None):
        if self.failures:
            print("FAILED:")
            for failure in self.failures[:20]:
                print("  " + failure)
            if kept:
                print("state kept in", kept)
            sys.exit(1)
        print("  every check passed: " + success)


def outcome_counts(rows):
    return "%d files (%d archived, %d rejected)" % (len(rows), sum(1 for r in rows if r[1] == "archived"),
                                                    sum(1 for r in rows if r[1] == "rejected"))


def accepts(path):
    """Whether a daemon accepts connections on the control socket `path` (it is then fully started)."""
    import socket
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.connect(path)
        return True
    except OSError:
        return False
    finally:
        client.close()


def wait_listening(path, seconds=60):
    """Waits until a daemon accepts connections on its control socket."""
    import time
    deadline = time.time() + seconds
    while time.time() < deadline:
        if accepts(path):
            return True
        time.sleep(0.1)
    return False


class CreationWatch:
    """inotify (through ctypes) on a few folders and the folders created inside them: `wait`
    returns the first new file whose name passes a test, so a caller can act within a
    millisecond of a write starting, e.g. while a `.partial` file is still being written."""

    IN_CREATE, IN_ISDIR, IN_Q_OVERFLOW = 0x100, 0x40000000, 0x4000

    def __init__(self, folders):
        import ctypes
        self.libc = ctypes.CDLL("libc.so.6", use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        self.folders = {}
        for folder in folders:
            self.add(folder)

    def add(self, folder):
        wd = self.libc.inotify_add_watch(self.fd, folder.encode(), self.IN_CREATE)
        if wd >= 0:
            self.folders[wd] = folder
            for entry in os.scandir(folder):
                if entry.is_dir(follow_symlinks=False):
                    self.add(entry.path)

    def drain(self):
        self._events(0)

    def wait(self, accept, seconds):
        """The path of the first created file for which `accept(path)` holds, or None after `seconds`."""
        import time
        deadline = time.time() + seconds
        while True:
            left = deadline - time.time()
            if left <= 0:
                return None
            for path in self._events(left):
                if accept(path):
                    return path

    def _events(self, timeout):
        import select
        import struct
        if not select.select([self.fd], [], [], timeout)[0]:
            return []
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return []
        paths, offset = [], 0
        while offset + 16 <= len(data):
            wd, mask, _, length = struct.unpack_from("iIII", data, offset)
            name = data[offset + 16: offset + 16 + length].split(b"\0", 1)[0].decode(errors="replace")
            offset += 16 + length
            if wd in self.folders and name:
                path = os.path.join(self.folders[wd], name)
                if mask & self.IN_ISDIR:
                    self.add(path)
                else:
                    paths.append(path)
        return paths
