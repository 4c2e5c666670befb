#!/usr/bin/env python3
"""Writes the hand-made hostile inputs under Tests/FuzzTargetsTests/Inputs/<target>/: the attacks a
fuzzer takes long to find (absurd sizes, bombs, deep nesting). Crashes that scripts/fuzz.sh finds
land beside them as crash-<sha1> files. Run again after changing this script; stdlib only."""
import gzip
import json
import os
import struct

root = os.path.join(os.path.dirname(__file__), "..", "Tests", "FuzzTargetsTests", "Inputs")


def write(target, name, data):
    folder = os.path.join(root, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def nifti1(dims=(3, 4, 4, 4, 1, 1, 1, 1), datatype=4, bitpix=16, vox_offset=352.0, pixdim=(1, 1, 1, 1, 0, 0, 0, 0), magic=b"n+1\0"):
    h = bytearray(348)
    struct.pack_into("<i", h, 0, 348)
    struct.pack_into("<8h", h, 40, *dims)
    struct.pack_into("<hh", h, 70, datatype, bitpix)
    struct.pack_into("<8f", h, 76, *pixdim)
    struct.pack_into("<f", h, 108, vox_offset)
    struct.pack_into("<ff", h, 112, 1.0, 0.0)
    h[344:348] = magic
    return bytes(h) + b"\0" * 4


# NIfTI: each must be rejected with a one-line reason, without allocating what the header claims.
write("nifti", "huge-dims.nii", nifti1(dims=(3, 32767, 32767, 32767, 1, 1, 1, 1)) + b"\0" * 64)
write("nifti", "negative-dim.nii", nifti1(dims=(3, 4, -4, 4, 1, 1, 1, 1)) + b"\0" * 128)
write("nifti", "unknown-datatype.nii", nifti1(datatype=1234, bitpix=16) + b"\0" * 128)
write("nifti", "vox-offset-far.nii", nifti1(vox_offset=1e12) + b"\0" * 128)
write("nifti", "truncated-data.nii", nifti1() + b"\0" * 10)
write("nifti", "bad-magic.nii", nifti1(magic=b"xyz\0") + b"\0" * 128)
# A gzip bomb: the header claims 2^27 voxels and the stream inflates 1000:1 towards that.
write("nifti", "gzip-bomb.nii.gz", gzip.compress(nifti1(dims=(3, 512, 512, 512, 1, 1, 1, 1)) + b"\0" * (4 << 20), 9, mtime=0))
write("nifti", "truncated.nii.gz", gzip.compress(nifti1() + b"\1" * 128, mtime=0)[:-20])
write("nifti", "header-only.nii.gz", gzip.compress(nifti1()[:200], mtime=0))
write("nifti", "empty.nii", b"")


def safetensors(header, data=b""):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


write("checkpoint", "header-length-huge.safetensors", struct.pack("<Q", 1 << 63) + b"{}")
write("checkpoint", "header-not-object.safetensors", safetensors([1, 2, 3]))
write("checkpoint", "shape-overflow.safetensors", safetensors({"a": {"dtype": "F32", "shape": [1 << 40, 1 << 40], "data_offsets": [0, 4]}}, b"\0" * 4))
write("checkpoint", "offsets-outside.safetensors", safetensors({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 1 << 50]}}, b"\0" * 8))
write("checkpoint", "overlapping.safetensors", safetensors({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                                            "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\0" * 12))
write("checkpoint", "negative-shape.safetensors", safetensors({"a": {"dtype": "F32", "shape": [-1, -1], "data_offsets": [0, 4]}}, b"\0" * 4))
write("checkpoint", "input-size-absurd.safetensors", safetensors({"__metadata__": {"input_size": "[99999999999, 1, 1]"},
                                                                  "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4))
write("checkpoint", "deep-nesting.safetensors", struct.pack("<Q", 60000) + b"[" * 60000)

# Control socket bytes: each line is answered with an error, and nothing longer than 64 KiB is buffered.
write("control", "deep-nesting.jsonl", b"[" * 60000 + b"\n")
write("control", "deep-object.jsonl", b'{"a":' * 12000 + b"\n")
write("control", "not-utf8.jsonl", b'{"v":1,"id":"\xff\xfe","command":"status"}\n')
write("control", "version-huge.jsonl", b'{"v":1e400,"id":"x","command":"status"}\n')
write("control", "limit-huge.jsonl", b'{"v":1,"id":"x","command":"scans","limit":99999999999999999999999}\n')
write("control", "no-newline-70k.jsonl", b"x" * 70000)
write("control", "many-empty-lines.jsonl", b"\n" * 5000)


def header_alone(header, data_size):
    """The safetensors target's input: the data section's size, then the JSON header."""
    return struct.pack("<Q", data_size) + json.dumps(header).encode()


# Safetensors headers on their own: rejected from the JSON alone, nothing allocated for the data.
write("safetensors", "data-size-huge.header", header_alone({"a": {"dtype": "F32", "shape": [1 << 30, 1 << 30], "data_offsets": [0, 1 << 62]}}, (1 << 64) - 1))
write("safetensors", "offsets-reversed.header", header_alone({"a": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}}, 8))
write("safetensors", "metadata-not-strings.header", header_alone({"__metadata__": {"input_size": [128, 128, 64]}}, 0))
write("safetensors", "input-size-text.header", header_alone({"__metadata__": {"input_size": "[a, b, c]"}}, 0))
write("safetensors", "newer-format.header", header_alone({"__metadata__": {"format_version": "99", "input_size": "[128, 128, 64]"}}, 0))
write("safetensors", "shape-fraction.header", header_alone({"a": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 6]}}, 6))
write("safetensors", "bf16-mismatch.header", header_alone({"a": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 12]}}, 12))
write("safetensors", "deep-nesting.header", struct.pack("<Q", 0) + b'{"a":' * 12000)

# Configuration files: each is refused with one line per problem, naming the key or the line.
write("config", "misspelled-key.yaml", b"retrain:\n  min_new_label: 5\n")
write("config", "unknown-section.yaml", b"modle:\n  width: 64\n")
write("config", "tab-indent.yaml", b"model:\n\twidth: 64\n")
write("config", "not-a-mapping.yaml", b"- a\n- b\n")
write("config", "bad-values.yaml", b"model:\n  width: -3\n  precision: fp8\nwatch:\n  settle: soon\n")
write("config", "deep-nesting.yaml", b"[" * 20000)
alias_bomb = b"a: &a [x, x, x, x, x, x, x, x, x]\n" + b"".join(
    b"%s: &%s [*%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s, *%s]\n" % ((bytes([c]),) * 2 + (bytes([c - 1]),) * 9) for c in range(ord("b"), ord("k")))
write("config", "alias-bomb.yaml", alias_bomb)
# The bomb as a mapping key: composing it hashes every node of the expansion (the fuzzer found this).
write("config", "alias-key-bomb.yaml", alias_bomb + b"? *j\n: 1\n")
write("config", "not-utf8.yaml", b"state_dir: /var/\xff\xfe/ctd\n")
