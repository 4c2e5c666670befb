#!/usr/bin/env python3
"""Times the seed's preprocessing (nibabel + scipy) on one scan, stage by stage.

Usage: reference_preprocess.py FILE [--runs N] [--size W H D] [--save OUT.npy]
Prints one JSON object: the median seconds of read, window, rotate, resize and total, and the
peak RSS of this process. `ctd bench preprocess --python PY` runs it in the same benchmark run.
The stages are the seed's functions verbatim (see scripts/make_fixtures.py).
"""
import argparse
import json
import resource
import statistics
import time

import nibabel as nib
import numpy as np
from scipy import ndimage  # noqa: F401 (the reference's own import)

from seed_reference import normalize, rotate, zoom


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size", type=int, nargs=3, default=[128, 128, 64])
    parser.add_argument("--save")
    args = parser.parse_args()
    w, h, d = args.size
    stages = {"read": [], "window": [], "rotate": [], "resize": [], "total": []}
    for _ in range(args.runs):
        t0 = time.perf_counter()
        volume = nib.load(args.file).get_fdata()
        t1 = time.perf_counter()
        volume = normalize(volume)
        t2 = time.perf_counter()
        volume = rotate(volume)
        t3 = time.perf_counter()
        volume = zoom(volume, w, h, d)
        t4 = time.perf_counter()
        for name, value in zip(stages, [t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0]):
            stages[name].append(value)
    if args.save:
        np.save(args.save, volume)
    result = {name: statistics.median(values) for name, values in stages.items()}
    result["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result["runs"] = args.runs
    print(json.dumps(result))


if __name__ == "__main__":
    main()
