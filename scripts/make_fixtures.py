#!/usr/bin/env python3
"""Writes the small reference fixtures in Tests/Fixtures/ once, with the seed's own stack.

Each case is a NIfTI file written by nibabel (an independent writer, so the Swift reader is
checked against someone else's bytes), plus what the reference makes of it:
  <case>.fdata.npy   nibabel's get_fdata() (float64), the reader's expected values
  <case>.pre-WxHxD.npy   the seed's process_scan (normalize, rotate 90, zoom order 1), float32

Run: scripts/reference_venv.sh prints a python with nibabel + scipy; then
     "$(scripts/reference_venv.sh)" scripts/make_fixtures.py
The test suite only reads the results; it never runs Python.
"""
import gzip
import json
import os
import sys

import nibabel as nib
import numpy as np
from scipy import ndimage

from seed_reference import normalize, resize_volume

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures")


def process_scan(path, size):
    volume = nib.load(path).get_fdata()
    if volume.ndim == 4:
        volume = volume[..., 0]
    return resize_volume(normalize(volume), *size)


def phantom(shape, rng, lo=-1100, hi=600):
    """Smooth structure plus noise, spanning the HU window and beyond it on both sides."""
    x, y, z = np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij")
    body = np.where(x**2 + (1.3 * y) ** 2 < 0.8, 40.0, -1000.0)
    lungs = np.where(((np.abs(x) - 0.4) ** 2 + (1.3 * y) ** 2 < 0.12) & (np.abs(z) < 0.9), -850.0, 0.0)
    v = np.where(lungs < 0, lungs, body) + 300 * np.sin(5 * x + 3 * y + 2 * z) * (x > 0.5)
    v += rng.normal(0, 40, shape)
    return np.clip(v, lo, hi)


def save(img, name, compressed):
    path = os.path.join(OUT, name + (".nii.gz" if compressed else ".nii"))
    nib.save(img, path)
    return path


def case(name, data, dtype, *, compressed=False, endian="<", nifti2=False, slope=None, inter=None,
         extension=None, sizes=((16, 16, 8),)):
    # The header is built by hand and the raw bytes written directly, so that nibabel's automatic
    # rescaling on save cannot change the values and scaling we chose (slope 0, NaN, ...).
    hdr = (nib.Nifti2Header if nifti2 else nib.Nifti1Header)(endianness=endian)
    hdr.set_data_dtype(dtype)
    hdr.set_data_shape(data.shape)
    hdr.set_qform(np.diag([0.7, 0.7, 5.0, 1.0]), code=1)
    hdr.set_sform(np.diag([-0.7, -0.7, 5.0, 1.0]), code=1)
    hdr["scl_slope"], hdr["scl_inter"] = (np.nan, np.nan) if slope is None else (slope, inter)
    if extension is not None:
        hdr.extensions.append(nib.nifti1.Nifti1Extension(6, extension))
    hdr.set_data_offset(hdr.single_vox_offset + sum(e.get_sizeondisk() for e in hdr.extensions))
    raw = np.asarray(data, dtype=np.dtype(dtype).newbyteorder(endian))
    path = os.path.join(OUT, name + (".nii.gz" if compressed else ".nii"))
    # mtime=0 keeps the gzip bytes the same on every run, so regenerating changes nothing.
    with (gzip.GzipFile(path, "wb", mtime=0) if compressed else open(path, "wb")) as f:
        hdr.write_to(f)
        if hdr.extensions:
            hdr.extensions.write_to(f, hdr.endianness)
        f.write(b"\0" * (hdr.get_data_offset() - f.tell()))
        f.write(raw.tobytes(order="F"))
    loaded = nib.load(path)
    fdata = loaded.get_fdata()
    np.save(os.path.join(OUT, name + ".fdata.npy"), np.asfortranarray(fdata.reshape(fdata.shape[:3], order="F")))
    for size in sizes:
        out = process_scan(path, size)
        assert out.shape == tuple(size), (name, out.shape)
        np.save(os.path.join(OUT, f"{name}.pre-{size[0]}x{size[1]}x{size[2]}.npy"), out)
    return path


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261126)
    hu = lambda shape: phantom(shape, rng)
    cases = []
    cases.append(case("int16_le", np.round(hu((24, 24, 8))), "i2", sizes=((16, 16, 8), (32, 32, 12), (24, 24, 8))))
    cases.append(case("int16_be_scaled", np.round((hu((24, 24, 8)) + 1024) / 2.5), ">i2".replace(">", ""),
                      endian=">", compressed=True, slope=2.5, inter=-1024.0))
    cases.append(case("uint8_slope0", rng.integers(0, 256, (21, 21, 6)) , "u1", compressed=True, slope=0.0, inter=5.0))
    cases.append(case("float32_nifti2", hu((24, 24, 8)).astype(np.float32), "f4", nifti2=True, compressed=True))
    cases.append(case("float64_4d", hu((24, 24, 8)).reshape(24, 24, 8, 1), "f8"))
    cases.append(case("int32_nonsquare_even", np.round(hu((24, 20, 8))), "i4", compressed=True, sizes=((16, 16, 8), (12, 14, 6))))
    cases.append(case("uint16_nonsquare_odd", np.round(hu((25, 20, 8)) + 1100), "u2", slope=1.0, inter=-1100.0, sizes=((16, 16, 8), (12, 14, 6))))
    cases.append(case("int8_extension", rng.integers(-128, 128, (16, 16, 6)), "i1", slope=10.0, inter=-500.0,
                      extension=b"ctd fixture: an extension the reader must skip" + b"\0" * 10))
    cases.append(case("int64_be", np.round(hu((16, 16, 6))), "i8", endian=">", compressed=True))
    cases.append(case("uint32_scaled", np.round(hu((16, 16, 6)) + 2000), "u4", slope=0.5, inter=-1000.0))
    cases.append(case("uint64", np.round(hu((16, 16, 6)) + 5000), "u8", compressed=True, slope=1.0, inter=-5000.0))
    cases.append(case("slope_nan", np.round(hu((16, 16, 6))), "i2"))

    # Two gzip members (as `cat a.gz b.gz` makes): the reader must continue into the second.
    raw = gzip.decompress(open(os.path.join(OUT, "int16_be_scaled.nii.gz"), "rb").read())
    half = len(raw) // 2
    with open(os.path.join(OUT, "multimember.nii.gz"), "wb") as f:
        f.write(gzip.compress(raw[:half], mtime=0) + gzip.compress(raw[half:], mtime=0))
    for suffix in [".fdata.npy", ".pre-16x16x8.npy"]:
        src = os.path.join(OUT, "int16_be_scaled" + suffix)
        dst = os.path.join(OUT, "multimember" + suffix)
        open(dst, "wb").write(open(src, "rb").read())

    # The augmentation's rotations (and a few others) on a small non-square float volume in [0, 1].
    grid = rng.random((21, 18, 3)).astype(np.float32)
    np.save(os.path.join(OUT, "rotation_input.npy"), grid)
    for angle in [-20, -10, -5, 5, 10, 20, 45, 90, 137.5]:
        rotated = ndimage.rotate(grid, angle, reshape=False)
        np.save(os.path.join(OUT, f"rotation_{angle}.npy"), rotated)

    facts = {}
    for path in sorted(os.listdir(OUT)):
        if path.endswith((".nii", ".nii.gz")):
            h = nib.load(os.path.join(OUT, path)).header
            facts[path] = {
                "shape": [int(n) for n in h.get_data_shape()],
                "datatype": str(h.get_data_dtype().name),
                "byte_order": "big" if h.endianness == ">" else "little",
                "vox_offset": int(nib.load(os.path.join(OUT, path)).dataobj.offset),
                "pixdim": [float(p) for p in h["pixdim"][1:4]],
            }
    with open(os.path.join(OUT, "facts.json"), "w") as f:
        json.dump({"nibabel": nib.__version__, "scipy": __import__("scipy").__version__,
                   "numpy": np.__version__, "files": facts}, f, indent=1, sort_keys=True)
    print(f"wrote {len(facts)} NIfTI fixtures to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    sys.exit(main())
