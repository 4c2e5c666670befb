"""A ctd export (manifest.json and .npy shards [n, 1, X, Y, Z]) as a PyTorch dataset."""
import hashlib
import json
import os

import numpy as np
import torch

FORMAT = "ctd-export"
FORMAT_VERSION = 1


class ExportError(Exception):
    pass


class TrainingSetExport:
    def __init__(self, folder, verify=True):
        self.folder = folder
        path = os.path.join(folder, "manifest.json")
        try:
            with open(path) as f:
                self.manifest = json.load(f)
        except (OSError, ValueError) as error:
            raise ExportError(f"{path}: cannot read the export's manifest ({error})") from None
        if self.manifest.get("format") != FORMAT or self.manifest.get("format_version", 0) > FORMAT_VERSION:
            raise ExportError(f"{path}: not a ctd export of format {FORMAT_VERSION}")
        p = self.manifest["preprocessing"]
        self.input_size = (p["width"], p["height"], p["depth"])
        self.scans = self.manifest["scans"]
        self.shards = {s["file"]: s for s in self.manifest["shards"]}
        if verify:
            self.verify()
        self._arrays = {}

    def verify(self):
        """Every shard is there with the size and SHA-256 the manifest gives."""
        for shard in self.shards.values():
            path = os.path.join(self.folder, shard["file"])
            digest = hashlib.sha256()
            try:
                with open(path, "rb") as f:
                    for block in iter(lambda: f.read(1 << 22), b""):
                        digest.update(block)
            except OSError as error:
                raise ExportError(f"{path}: cannot read ({error.strerror})") from None
            if digest.hexdigest() != shard["sha256"]:
                raise ExportError(f"{path}: its SHA-256 is not the manifest's: export again")

    def array(self, shard):
        if shard not in self._arrays:
            array = np.load(os.path.join(self.folder, shard), mmap_mode="r")
            if array.dtype != np.float32 or array.shape[1:] != (1,) + self.input_size:
                raise ExportError(f"{shard}: shape {array.shape} {array.dtype} is not [n, 1, {self.input_size}] float32")
            self._arrays[shard] = array
        return self._arrays[shard]

    def tensor(self, index):
        scan = self.scans[index]
        return torch.from_numpy(np.array(self.array(scan["shard"])[scan["row"]], dtype=np.float32))

    def indices(self, split):
        return [i for i, scan in enumerate(self.scans) if scan["split"] == split]

    def preprocessing_json(self):
        """As ctd writes a checkpoint's `preprocessing`."""
        return json.dumps(self.manifest["preprocessing"], sort_keys=True, separators=(",", ":"))


class ScanDataset(torch.utils.data.Dataset):
    def __init__(self, export, indices):
        self.export, self.indices = export, list(indices)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, position):
        index = self.indices[position]
        return self.export.tensor(index), float(self.export.scans[index]["label"]), index
