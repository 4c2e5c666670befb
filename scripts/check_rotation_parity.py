#!/usr/bin/env python3
"""Parity check: Swift rotatePlanes (Sources/Preprocess/PlaneRotation.swift) vs
scipy.ndimage.rotate(v, angle, reshape=False) on float32 volumes.

Usage: check_rotation_parity.py HARNESS [--bench]

HARNESS is an executable built from PlaneRotation.swift plus a small main.swift:
    swiftc -O Sources/Preprocess/PlaneRotation.swift main.swift -o HARNESS
called as `HARNESS IN.raw OUT.raw nx ny nz degrees [repeats]`. It reads and writes raw float32 in
x-fastest order (numpy order='F') and prints `median_ms <t>`; `HARNESS trig d1 d2 ...` prints the
bit patterns of cosdg/sindg for each angle. Exits non-zero if any case is off by more than 1e-5.
"""
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import ndimage, special

TOLERANCE = 1e-5


def run_swift(harness, v, degrees, repeats=1):
    """Rotates v (nx, ny, nz) with the Swift harness; returns (result, median ms)."""
    with tempfile.TemporaryDirectory() as d:
        src, dst = Path(d, "in.raw"), Path(d, "out.raw")
        src.write_bytes(v.reshape(-1, order="F").astype(np.float32).tobytes())
        out = subprocess.run([harness, src, dst, *map(str, v.shape), repr(float(degrees)), str(repeats)],
                             check=True, capture_output=True, text=True).stdout
        ms = float(out.split()[1])
        return np.frombuffer(dst.read_bytes(), np.float32).reshape(v.shape, order="F"), ms


def smooth(shape, rng):
    """Sum of a few random low-frequency cosines, scaled into [0, 1]."""
    grids = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    f = sum(np.cos(sum(rng.uniform(0, 0.3) * g for g in grids) + rng.uniform(0, 6)) for _ in range(4))
    return ((f - f.min()) / (np.ptp(f) + 1e-12)).astype(np.float32)


def main():
    harness, bench = sys.argv[1], "--bench" in sys.argv
    rng = np.random.default_rng(0)
    worst = 0.0

    angles = [-725.5, -270, -90, -45, -20, -10, -5, -0.3, 0, 5, 10, 20, 33.3, 45, 90, 180, 270, 450]
    bits = subprocess.run([harness, "trig", *map(repr, map(float, angles))], check=True,
                          capture_output=True, text=True).stdout.split()
    ref = [int(np.float64(f(a)).view(np.uint64)) for a in angles for f in (special.cosdg, special.sindg)]
    print(f"cosdg/sindg bit-identical: {list(map(int, bits)) == ref}")
    worst = max(worst, 0.0 if list(map(int, bits)) == ref else 1.0)

    # 90° on a square plane is an exact permutation: out[i, j, k] = v[j, nx-1-i, k].
    v = rng.random((9, 9, 2), dtype=np.float32)
    got, _ = run_swift(harness, v, 90)
    err = np.abs(got - v.transpose(1, 0, 2)[::-1, :, :]).max()
    print(f"90 deg square vs permutation: max|err| = {err:.2e}")
    worst = max(worst, err)

    shapes = [(128, 128, 64), (7, 10, 3), (10, 7, 3), (9, 9, 4), (8, 11, 2), (12, 8, 3), (5, 1, 2), (1, 6, 2)]
    for shape in shapes:
        for kind in ("random", "smooth"):
            v = rng.random(shape, dtype=np.float32) if kind == "random" else smooth(shape, rng)
            for deg in (-20, -10, -5, 5, 10, 20, 90, -90, 180, 270, 45, 13.7):
                if shape == shapes[0] and deg not in (-20, -10, -5, 5, 10, 20, 90):
                    continue
                want = ndimage.rotate(v, deg, reshape=False)
                got, _ = run_swift(harness, v, deg)
                err = float(np.abs(got.astype(np.float64) - want).max())
                worst = max(worst, err)
                print(f"{str(shape):14} {kind:6} {deg:7}: max|err| = {err:.2e}, "
                      f"zero-pattern equal: {np.array_equal(got == 0, want == 0)}")

    if bench:
        v = rng.random((128, 128, 64), dtype=np.float32)
        _, swift_ms = run_swift(harness, v, 10, repeats=5)
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            ndimage.rotate(v, 10, reshape=False)
            times.append((time.perf_counter() - t0) * 1e3)
        print(f"128x128x64 @10deg median of 5: swift {swift_ms:.1f} ms, scipy {sorted(times)[2]:.1f} ms")

    print(f"worst max|err| = {worst:.2e}")
    sys.exit(0 if worst <= TOLERANCE else 1)


if __name__ == "__main__":
    main()
