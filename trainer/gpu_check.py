"""The checks that need a GPU, as one script (run it where PyTorch sees one):

    PYTHONPATH=trainer python trainer/gpu_check.py --out RESULTS_DIR [--size 128 128 64]

1. The twin trains from a ctd export under torchrun (one process per GPU, NCCL, bf16 autocast
   with --precision auto) for 2 epochs, and writes a run folder ctd imports.
2. Training-step times at batch 2 (bf16, f32) and batch 32 (bf16), medians of 20 steps after 5
   warm-up steps: the figures of issue 15's table, measured on this card.
3. The GPU's float32 logits (TF32 off) against the CPU's for the same checkpoint and inputs.

Writes RESULTS_DIR/gpu_check.json and the run folder; exits 1 if a check fails. Needs numpy and
safetensors besides torch (PYTHONPATH may point at an unpacked safetensors wheel).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from torch.nn import functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctd_trainer.model import KerasAdam, SeedNet  # noqa: E402
from ctd_trainer.export_writer import write_export  # noqa: E402


def synthetic_volume(rng, abnormal, size):
    """A dark lung ellipsoid in soft tissue, noise, and for abnormal scans a hazy blob: values in [0, 1]."""
    nx, ny, nz = size
    x, y, z = np.meshgrid(np.linspace(-1, 1, nx), np.linspace(-1, 1, ny), np.linspace(-1, 1, nz), indexing="ij")
    values = np.where((x / 0.8) ** 2 + (y / 0.7) ** 2 + (z / 0.9) ** 2 < 1, 0.11, 0.72)
    if abnormal:
        centre, radius = rng.uniform(-0.3, 0.3, 3), rng.uniform(0.2, 0.32)
        values = np.where((x - centre[0]) ** 2 + (y - centre[1]) ** 2 + (z - centre[2]) ** 2 < radius ** 2, np.maximum(values, 0.35), values)
    return np.clip(values + 0.04 * (rng.random(values.shape) - 0.5), 0, 1).astype(np.float32)


def step_times(size, batch, precision, device, steps=20, warmup=5):
    model = SeedNet(*size).to(device)
    model.train()
    optimizer = KerasAdam(model.parameters())
    inputs = torch.rand((batch, 1) + tuple(size), device=device)
    labels = (torch.arange(batch, device=device) % 2).float()
    times = []
    for index in range(warmup + steps):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            logits = model(inputs)
        loss = F.binary_cross_entropy_with_logits(logits.float(), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if index >= warmup:
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--size", type=int, nargs=3, default=[128, 128, 64])
    parser.add_argument("--scans", type=int, default=24)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--skip-timing", action="store_true")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    device = torch.device(args.device if args.device != "cuda" or torch.cuda.is_available() else "cpu")
    results = dict(torch=torch.__version__, device=torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu",
                   gpus=torch.cuda.device_count(), size=args.size, failures=[])
    if device.type == "cuda":
        results["bf16_supported"] = torch.cuda.is_bf16_supported()
    print(json.dumps(results), flush=True)

    # 1. torchrun from an export.
    work = tempfile.mkdtemp(prefix="ctd-gpu-check-")
    rng = np.random.default_rng(5)
    volumes = [(synthetic_volume(rng, i % 2 == 1, args.size), i % 2) for i in range(args.scans)]
    export = os.path.join(work, "export")
    write_export(export, volumes, args.size)
    run_folder = os.path.join(args.out, "run")
    processes = max(1, torch.cuda.device_count()) if device.type == "cuda" else 1
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes), "-m", "ctd_trainer",
               "--export", export, "--out", run_folder, "--epochs", "2", "--device", device.type, "--workers", "2"]
    start = time.time()
    training = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    results["torchrun"] = dict(returncode=training.returncode, seconds=round(time.time() - start, 1), processes=processes,
                               output=training.stdout[-3000:], errors=training.stderr[-3000:])
    if training.returncode != 0 or not os.path.exists(os.path.join(run_folder, "best.safetensors")):
        results["failures"].append("torchrun training failed")
    else:
        with open(os.path.join(run_folder, "run.json")) as f:
            report = json.load(f)
        results["torchrun"]["precision"] = report["software"]["precision_reason"]
        results["torchrun"]["ms_per_step"] = [r["ms_per_step"] for r in [report["best"], report["last"]] if r]

    # 2. Step times.
    if not args.skip_timing:
        timing = {}
        for batch, precision in [(2, "bf16"), (2, "f32"), (32, "bf16")]:
            if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
                continue
            torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
            timing[f"batch {batch} {precision}"] = round(step_times(args.size, batch, precision, device), 2)
            print(json.dumps(timing), flush=True)
        results["step_ms"] = timing

    # 3. GPU float32 logits against the CPU's.
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    model = SeedNet(*args.size)
    model.reset_parameters(torch.Generator().manual_seed(3))
    model.eval()
    inputs = torch.from_numpy(np.stack([v for v, _ in volumes[:4]])[:, None])
    with torch.no_grad():
        cpu = model(inputs)
        other = model.to(device)(inputs.to(device)).cpu()
    results["logits_cpu"], results["logits_device"] = cpu.tolist(), other.tolist()
    results["logit_difference"] = (cpu - other).abs().max().item()
    if results["logit_difference"] > 1e-3:
        results["failures"].append(f"float32 logits differ by {results['logit_difference']:.2e} between {device} and the CPU")

    with open(os.path.join(args.out, "gpu_check.json"), "w") as f:
        json.dump(results, f, indent=2)
    print(json.dumps({k: v for k, v in results.items() if k not in ("torchrun",)}, indent=2))
    print("failures:", results["failures"] or "none")
    return 1 if results["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
