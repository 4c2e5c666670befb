"""Small int16 NIfTI-1 scans for the end-to-end test, like Tests/CTDTestSupport/SmallScans: a
dark lung ellipsoid in soft tissue with noise; abnormal ones add a hazy blob inside the lung."""
import gzip
import struct

import numpy as np


def volume(index, abnormal, size=48):
    rng = np.random.default_rng(index * 2 + int(abnormal))
    n = float(size)
    x, y, z = np.meshgrid(*(np.arange(size, dtype=np.float64),) * 3, indexing="ij")
    inside = ((x - n / 2) / (n * 0.4)) ** 2 + ((y - n / 2) / (n * 0.35)) ** 2 + ((z - n / 2) / (n * 0.45)) ** 2 < 1
    values = np.where(inside, 0.11, 0.72)
    if abnormal:
        centre = n * (0.35 + 0.3 * rng.random(3))
        radius = n * (0.1 + 0.06 * rng.random())
        blob = np.sqrt((x - centre[0]) ** 2 + (y - centre[1]) ** 2 + (z - centre[2]) ** 2) < radius
        values = np.where(blob, np.maximum(values, 0.35), values)
    values = np.clip(values + 0.04 * (rng.random(values.shape) - 0.5), 0, 1)
    return np.round(values * 1400 - 1000).astype("<i2")


def nifti_bytes(index, abnormal, size=48):
    """A gzipped single-file NIfTI-1 (n+1), int16, 1 mm voxels, data x fastest."""
    data = volume(index, abnormal, size)
    header = bytearray(348)
    struct.pack_into("<i", header, 0, 348)
    struct.pack_into("<8h", header, 40, 3, size, size, size, 1, 1, 1, 1)
    struct.pack_into("<hh", header, 70, 4, 16)  # datatype int16, bitpix
    struct.pack_into("<8f", header, 76, 1, 1, 1, 1, 1, 1, 1, 1)
    struct.pack_into("<f", header, 108, 352.0)  # vox_offset
    struct.pack_into("<f", header, 112, 1.0)  # scl_slope
    header[344:348] = b"n+1\0"
    return gzip.compress(bytes(header) + b"\0" * 4 + data.tobytes(order="F"), compresslevel=1)
