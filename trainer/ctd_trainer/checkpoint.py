"""ctd checkpoints: safetensors with ctd's tensor names and layouts and its metadata
(docs/LAYOUT.md). What this writes, ctd's `Checkpoint.read` accepts, and the reverse."""
import json
import os
import tempfile

import torch
from safetensors import safe_open
from safetensors.torch import save as save_bytes

FORMAT = "ctd-checkpoint"
FORMAT_VERSION = 1
M_PREFIX, V_PREFIX = "optimizer.m.", "optimizer.v."


def parameter_names(model):
    """Every tensor of the checkpoint: parameters and BatchNorm running statistics."""
    return list(model.state_dict().keys())


def save_checkpoint(path, model, metadata, optimizer=None):
    """Writes atomically (temporary file, fsync, rename), as ctd does."""
    tensors = {name: tensor.detach().float().cpu().contiguous() for name, tensor in model.state_dict().items()}
    meta = {key: str(value) for key, value in metadata.items()}
    width, height, depth = model.input_size
    meta.update(format=FORMAT, format_version=str(FORMAT_VERSION), input_size=f"[{width}, {height}, {depth}]")
    if optimizer is not None:
        names = {id(p): name for name, p in model.named_parameters()}
        for p, state in optimizer.state.items():
            if "m" in state:
                tensors[M_PREFIX + names[id(p)]] = state["m"].detach().float().cpu().contiguous()
                tensors[V_PREFIX + names[id(p)]] = state["v"].detach().float().cpu().contiguous()
        meta["optimizer_step"] = str(optimizer.step_count)
    data = save_bytes(tensors, metadata=meta)
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".partial")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def load_checkpoint(path):
    """(tensors by name, metadata, optimizer moments or None): ctd's or this package's file."""
    tensors, moments = {}, {"m": {}, "v": {}}
    with safe_open(path, framework="pt") as f:
        metadata = f.metadata() or {}
        for name in f.keys():
            if name.startswith(M_PREFIX):
                moments["m"][name[len(M_PREFIX):]] = f.get_tensor(name)
            elif name.startswith(V_PREFIX):
                moments["v"][name[len(V_PREFIX):]] = f.get_tensor(name)
            else:
                tensors[name] = f.get_tensor(name)
    if metadata.get("format", FORMAT) != FORMAT:
        raise ValueError(f"{path}: not a ctd checkpoint (format {metadata.get('format')})")
    if "input_size" not in metadata:
        raise ValueError(f"{path}: metadata has no input_size")
    optimizer = None
    if "optimizer_step" in metadata:
        optimizer = dict(step=int(metadata["optimizer_step"]), **moments)
    return tensors, metadata, optimizer


def input_size(metadata):
    return tuple(json.loads(metadata["input_size"]))


def load_into(model, path, optimizer=None):
    """Loads a checkpoint's tensors (and, given an optimizer, its Adam state) into the model."""
    tensors, metadata, moments = load_checkpoint(path)
    if input_size(metadata) != tuple(model.input_size):
        raise ValueError(f"{path}: input size {input_size(metadata)} is not the model's {tuple(model.input_size)}")
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise ValueError(f"{path}: missing {missing}, unexpected {unexpected}")
    for name, tensor in tensors.items():
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise ValueError(f"{path}: {name} has shape {tuple(tensor.shape)}, expected {tuple(expected[name].shape)}")
    model.load_state_dict(tensors)
    if optimizer is not None and moments is not None:
        for name, p in model.named_parameters():
            optimizer.state[p] = {"m": moments["m"][name].to(p.device).clone(), "v": moments["v"][name].to(p.device).clone()}
        optimizer.step_count = moments["step"]
    return metadata
