"""Writes an export in ctd's format from volumes already preprocessed (values in [0, 1], [X, Y, Z]),
for checks on machines without ctd (trainer/gpu_check.py). ctd's own exports come from
`ctctl export` / `ctd export`."""
import hashlib
import json
import os

import numpy as np


def write_export(folder, volumes, size, shard_size=32, validation_every=4):
    """volumes: [(array [X, Y, Z] float32, label)]. Every `validation_every`-th scan is validation."""
    os.makedirs(folder, exist_ok=True)
    shards, scans = [], []
    for start in range(0, len(volumes), shard_size):
        part = volumes[start:start + shard_size]
        array = np.stack([v for v, _ in part])[:, None].astype("<f4")
        name = f"shard-{start // shard_size:05d}.npy"
        path = os.path.join(folder, name)
        np.save(path, array)
        with open(path, "rb") as f:
            data = f.read()
        shards.append(dict(file=name, count=len(part), bytes=len(data), sha256=hashlib.sha256(data).hexdigest()))
        for row, (volume, label) in enumerate(part):
            index = start + row
            scans.append(dict(hash=hashlib.sha256(volume.tobytes()).hexdigest(), label=int(label),
                              split="validation" if index % validation_every == 0 else "train",
                              name=f"synthetic-{index}", shard=name, row=row))
    manifest = dict(format="ctd-export", format_version=1, writer="ctd_trainer export_writer", source="synthetic",
                    updated_at="", validation_fraction=1 / validation_every, shard_size=shard_size,
                    preprocessing=dict(width=size[0], height=size[1], depth=size[2], windowLower=-1000, windowUpper=400,
                                       rotationDegrees=90, algorithm=1),
                    shards=shards, scans=scans)
    with open(os.path.join(folder, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
