"""The seed's `model.fit` as ctd runs it, under torchrun with DistributedDataParallel:

    torchrun --nproc_per_node 8 -m ctd_trainer --export EXPORT --out RUN

Shuffled, augmented batches (per process); after each epoch precise BatchNorm (averaged over all
processes), validation on ctd's validation split (shared out and gathered), Platt calibration;
the best checkpoint by val_loss; early stop on val_acc. Process 0 writes ctd's run folder.
"""
import argparse
import csv
import datetime
import json
import os
import platform
import random
import secrets
import sys
import time

import torch
import torch.distributed as dist
from torch.nn import functional as F

from . import __version__
from .checkpoint import load_into, save_checkpoint
from .data import ExportError, ScanDataset, TrainingSetExport
from .model import SeedNet, KerasAdam
from . import recipe

HISTORY_COLUMNS = ["epoch", "loss", "acc", "val_loss", "val_acc", "val_auc", "learning_rate", "seconds", "ms_per_step", "compute_seconds",
                   "augmentation_seconds", "validation_seconds", "val_best_acc", "val_best_threshold", "val_loss_calibrated",
                   "val_acc_calibrated", "val_ece", "val_ece_calibrated", "recalibration_seconds"]


def parse(argv):
    p = argparse.ArgumentParser(prog="ctd_trainer", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--export", required=True, help="a folder written by `ctctl export` or `ctd export`")
    p.add_argument("--out", required=True, help="the run folder to write (best.safetensors, last.safetensors, history.csv, run.json)")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--patience", type=int, default=15, help="stop when val_acc has not improved for this many epochs")
    p.add_argument("--batch-size", type=int, default=2, help="scans per process and step (the seed's 2)")
    p.add_argument("--learning-rate", type=float, default=1e-4)
    p.add_argument("--decay-steps", type=float, default=100_000)
    p.add_argument("--decay-rate", type=float, default=0.96)
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--precision", choices=["auto", "f32", "bf16"], default="auto", help="auto: bf16 autocast on a GPU that has it, else f32")
    p.add_argument("--batchnorm-recalibration", type=int, default=None,
                   help="training scans for precise BatchNorm before each validation (default a fifth, 16 to 256; 0 off)")
    p.add_argument("--device", default="auto", help="auto (cuda when present), cpu, or cuda")
    p.add_argument("--init", help="start from this ctd checkpoint instead of fresh weights")
    p.add_argument("--workers", type=int, default=2, help="data loader processes per training process")
    p.add_argument("--no-verify", action="store_true", help="skip checking each shard's SHA-256")
    args = p.parse_args(argv)
    if args.epochs < 1 or args.patience < 1 or not 1 <= args.batch_size <= 1024:
        p.error("epochs and patience must be at least 1, batch size 1 to 1024")
    return args


class Distributed:
    """The process group when run under torchrun, else a group of one."""

    def __init__(self, device):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device == "cuda":
            torch.cuda.set_device(self.local_rank)
            self.device = torch.device("cuda", self.local_rank)
        else:
            self.device = torch.device("cpu")
        if self.world > 1:
            dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo")

    @property
    def main(self):
        return self.rank == 0

    def all_reduce(self, tensor):
        if self.world > 1:
            moved = tensor.to(self.device)
            dist.all_reduce(moved)
            tensor.copy_(moved.to(tensor.device))

    def gather(self, items):
        if self.world == 1:
            return list(items)
        gathered = [None] * self.world
        dist.all_gather_object(gathered, list(items))
        return [item for part in gathered for item in part]

    def broadcast(self, value):
        if self.world == 1:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def close(self):
        if self.world > 1:
            # Every rank arrives before any tears the group down: without it a rank still in
            # gloo's last exchange could abort ("terminate called without an active exception").
            try:
                dist.barrier()
            finally:
                dist.destroy_process_group()


def resolve_precision(setting, device):
    if setting == "f32":
        return "f32", "f32 as asked"
    native = device.type == "cuda" and torch.cuda.is_bf16_supported()
    if setting == "bf16":
        if device.type != "cuda":
            return "bf16", "bf16 autocast as asked (on the CPU: slow, for tests)"
        return "bf16", "bf16 autocast as asked"
    return ("bf16", "auto: bf16 autocast, native on this GPU") if native else ("f32", f"auto: f32 ({device.type} has no native bf16 here)")


def write_atomic(path, text):
    temporary = f"{path}.{os.getpid()}.partial"
    with open(temporary, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def run(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    group = Distributed(args.device)
    try:
        return train(args, group)
    except ExportError as error:
        print(f"ctd_trainer: {error}", file=sys.stderr)
        return 1
    finally:
        group.close()


def train(args, group):
    torch.manual_seed(args.seed + group.rank)
    random.seed(args.seed + group.rank)
    export = TrainingSetExport(args.export, verify=not args.no_verify and group.main)
    group.broadcast(None)  # the others wait for process 0's check
    train_indices, validation_indices = export.indices("train"), export.indices("validation")
    if len(train_indices) < args.batch_size * group.world:
        raise ExportError(f"{args.export}: {len(train_indices)} training scans; need at least one batch ({args.batch_size}) per process ({group.world})")
    if not validation_indices:
        raise ExportError(f"{args.export}: no validation scans")
    precision, precision_reason = resolve_precision(args.precision, group.device)
    autocast = dict(device_type=group.device.type, dtype=torch.bfloat16, enabled=precision == "bf16")

    model = SeedNet(*export.input_size).to(group.device)
    optimizer = KerasAdam(model.parameters(), lr=args.learning_rate, decay_steps=args.decay_steps, decay_rate=args.decay_rate)
    if args.init:
        load_into(model, args.init)
    else:
        generator = torch.Generator().manual_seed(args.seed)
        cpu_model = SeedNet(*export.input_size)
        cpu_model.reset_parameters(generator)  # the same weights in every process
        model.load_state_dict(cpu_model.state_dict())
        model.start_running_statistics()
    wrapped = torch.nn.parallel.DistributedDataParallel(model, device_ids=[group.local_rank] if group.device.type == "cuda" else None) \
        if group.world > 1 else model

    sampler = torch.utils.data.distributed.DistributedSampler(ScanDataset(export, train_indices), num_replicas=group.world, rank=group.rank,
                                                              shuffle=True, seed=args.seed, drop_last=True)
    loader = torch.utils.data.DataLoader(ScanDataset(export, train_indices), batch_size=args.batch_size, sampler=sampler, drop_last=True,
                                         num_workers=args.workers, pin_memory=group.device.type == "cuda", persistent_workers=args.workers > 0)
    recalibration = recipe.recalibration_sample(train_indices, [export.scans[i]["label"] for i in train_indices], args.batch_size,
                                                args.seed, args.batchnorm_recalibration)
    labels_of = {i: float(export.scans[i]["label"]) for i in range(len(export.scans))}

    run_id = "torch-" + datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)
    run_id = group.broadcast(run_id)
    started = now()
    stopping = recipe.EarlyStopping(args.patience)
    history, best_calibration = [], None
    if group.main:
        os.makedirs(args.out, exist_ok=True)
        if os.path.exists(os.path.join(args.out, "run.json")):
            raise ExportError(f"{args.out} already holds a run; choose a new --out folder")
        print(f"Run {run_id}: {len(train_indices)} training and {len(validation_indices)} validation scans at "
              f"{'x'.join(map(str, export.input_size))}; {group.world} process(es) on {group.device.type}; precision {precision_reason}", flush=True)
    status = "finished"
    training_start = time.time()
    for epoch in range(1, args.epochs + 1):
        epoch_start = time.time()
        sampler.set_epoch(epoch)
        angles_generator = random.Random(args.seed * 1_000_003 + epoch * 101 + group.rank)
        wrapped.train()
        loss_sum, correct, seen, compute, augmentation = 0.0, 0, 0, 0.0, 0.0
        for inputs, labels, _ in loader:
            step_start = time.time()
            inputs, labels = inputs.to(group.device, non_blocking=True), labels.to(group.device, dtype=torch.float32)
            inputs = recipe.rotate_planes(inputs, [angles_generator.choice(recipe.ANGLES) for _ in range(len(labels))])
            augmented = time.time()
            with torch.autocast(**autocast):
                logits = wrapped(inputs)
            loss = F.binary_cross_entropy_with_logits(logits.float(), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(labels)
            correct += ((logits.detach() > 0) == (labels > 0.5)).sum().item()
            seen += len(labels)
            augmentation += augmented - step_start
            compute += time.time() - augmented
        totals = torch.tensor([loss_sum, correct, seen], dtype=torch.float64)
        group.all_reduce(totals)
        validation_start = time.time()
        recalibrate(model, export, recalibration, args.batch_size, group, autocast)
        recalibration_seconds = time.time() - validation_start
        logits = validation_logits(model, export, validation_indices, args.batch_size, group, autocast)
        validation_seconds = time.time() - validation_start
        if not group.main:
            stop = group.broadcast(None)
            if stop:
                break
            continue
        labels = [labels_of[i] for i, _ in logits]
        values = [z for _, z in logits]
        metrics = recipe.classification_metrics(values, labels)
        calibration = recipe.calibration_report(values, labels, epoch)
        record = dict(epoch=epoch, loss=totals[0].item() / max(totals[2].item(), 1), acc=totals[1].item() / max(totals[2].item(), 1),
                      val_loss=metrics["loss"], val_acc=metrics["accuracy"], val_auc=metrics["auc"],
                      learning_rate=optimizer.learning_rate(max(0, optimizer.step_count - 1)), seconds=time.time() - epoch_start,
                      ms_per_step=(compute + augmentation) / max(len(loader), 1) * 1000, compute_seconds=compute,
                      augmentation_seconds=augmentation, validation_seconds=validation_seconds,
                      val_best_acc=metrics["best_accuracy"], val_best_threshold=metrics["best_threshold"],
                      val_loss_calibrated=calibration["after"]["loss"], val_acc_calibrated=calibration["after"]["accuracy"],
                      val_ece=calibration["before"]["ece"], val_ece_calibrated=calibration["after"]["ece"],
                      recalibration_seconds=recalibration_seconds)
        history.append(record)
        save_best, stop = stopping.record(epoch, record["val_loss"], record["val_acc"])
        metadata = dict(run_id=run_id, epoch=epoch, precision=precision, precision_reason=precision_reason,
                        device=device_name(group), val_loss=record["val_loss"], val_acc=record["val_acc"], created=now(),
                        preprocessing=export.preprocessing_json(), trainer=software(group)["trainer"])
        if record["val_auc"] is not None:
            metadata["val_auc"] = record["val_auc"]
        if save_best:
            best_calibration = calibration
            save_checkpoint(os.path.join(args.out, "best.safetensors"), model,
                            dict(metadata, calibration=json.dumps(calibration, sort_keys=True, separators=(",", ":"))))
        save_checkpoint(os.path.join(args.out, "last.safetensors"), model, metadata, optimizer)
        print(f"Epoch {epoch}/{args.epochs}: {record['seconds']:.0f} s, loss {record['loss']:.4f}, acc {record['acc']:.4f}, "
              f"val_loss {record['val_loss']:.4f}, val_acc {record['val_acc']:.4f}, val_auc {fmt(record['val_auc'])}, "
              f"calibrated val_acc {record['val_acc_calibrated']:.4f} ECE {record['val_ece_calibrated']:.4f}"
              + (" (best so far)" if save_best else ""), flush=True)
        write_history(args.out, history)
        if stop:
            status = "stopped early"
        write_report(args, export, run_id, status if stop or epoch == args.epochs else "running", history, stopping, best_calibration,
                     group, started, precision, precision_reason, time.time() - training_start, train_indices, validation_indices)
        group.broadcast(stop)
        if stop:
            print(f"Early stop: val_acc has not improved for {args.patience} epochs (best val_loss at epoch {stopping.best_epoch})")
            break
    if group.main:
        print(f"Run {run_id} {status} after {len(history)} epochs; best epoch {stopping.best_epoch} -> {args.out}")
    return 0


@torch.no_grad()
def recalibrate(model, export, indices, batch_size, group, autocast):
    """Precise BatchNorm over the first training scans, unaugmented, split among the processes."""
    if not indices:
        return
    batches = [indices[i:i + batch_size] for i in range(0, len(indices), batch_size)][group.rank::group.world]
    model.train()
    for bn in model.batch_norms():
        bn.begin_accumulation()
    for batch in batches:
        inputs = torch.stack([export.tensor(i) for i in batch]).to(group.device)
        with torch.autocast(**autocast):
            model(inputs)
    for bn in model.batch_norms():
        bn.finish_accumulation(group.all_reduce if group.world > 1 else None)


@torch.no_grad()
def validation_logits(model, export, indices, batch_size, group, autocast):
    """(index, logit) for every validation scan, each process taking a share; all on process 0."""
    model.eval()
    mine = indices[group.rank::group.world]
    results = []
    for start in range(0, len(mine), batch_size):
        batch = mine[start:start + batch_size]
        inputs = torch.stack([export.tensor(i) for i in batch]).to(group.device)
        with torch.autocast(**autocast):
            logits = model(inputs)
        results += zip(batch, logits.float().cpu().tolist())
    gathered = group.gather(results)
    return sorted(gathered)


def fmt(value):
    return "-" if value is None else f"{value:.4f}"


def device_name(group):
    if group.device.type == "cuda":
        return f"{torch.cuda.get_device_name(group.device)} x {group.world}"
    return f"cpu ({platform.processor() or platform.machine()}) x {group.world}"


def software(group):
    return dict(trainer=f"ctd_trainer {__version__} (PyTorch {torch.__version__}, {group.world} process(es))", pytorch=torch.__version__,
                python=platform.python_version())


def write_history(folder, history):
    lines = [",".join(HISTORY_COLUMNS)]
    for record in history:
        lines.append(",".join("" if record[c] is None else str(record[c]) for c in HISTORY_COLUMNS))
    write_atomic(os.path.join(folder, "history.csv"), "\n".join(lines) + "\n")


def write_report(args, export, run_id, status, history, stopping, calibration, group, started, precision, reason, seconds,
                 train_indices, validation_indices):
    scans = export.scans
    def count(indices, label):
        return sum(1 for i in indices if scans[i]["label"] == label)
    best = next((r for r in history if r["epoch"] == stopping.best_epoch), None)
    p = export.manifest["preprocessing"]
    report = dict(
        run_id=run_id, status=status, origin="ctd_trainer",
        config=dict(width=p["width"], height=p["height"], depth=p["depth"], precision=args.precision, epochs=args.epochs,
                    patience=args.patience, batch_size=args.batch_size, learning_rate=args.learning_rate, decay_steps=args.decay_steps,
                    decay_rate=args.decay_rate, validation_fraction=export.manifest["validation_fraction"],
                    augmentation_angles=list(recipe.ANGLES), seed=args.seed, batchnorm_recalibration=args.batchnorm_recalibration),
        data=dict(train_normal=count(train_indices, 0), train_abnormal=count(train_indices, 1),
                  validation_normal=count(validation_indices, 0), validation_abnormal=count(validation_indices, 1)),
        split=[dict(file=s["name"], hash=s["hash"], label=s["label"], side=s["split"]) for s in scans],
        skipped=[], epochs_completed=len(history), best_epoch=stopping.best_epoch, best=best, last=history[-1] if history else None,
        timings=dict(preprocess_seconds=0.0, training_seconds=seconds,
                     mean_epoch_seconds=sum(r["seconds"] for r in history) / max(len(history), 1)),
        calibration=calibration,
        software=dict(software(group), precision=precision, precision_reason=reason, device=device_name(group), export=os.path.abspath(args.export)),
        started_at=started, updated_at=now())
    write_atomic(os.path.join(args.out, "run.json"), json.dumps(report, indent=2, sort_keys=True) + "\n")
