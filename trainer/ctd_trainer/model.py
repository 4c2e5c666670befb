"""The seed's network with ctd's parameter names and layouts (docs/LAYOUT.md):

    input [N, 1, X, Y, Z]
    4 x { Conv3d(k=3, valid) + ReLU -> MaxPool3d(2) -> BatchNorm }   filters 64, 64, 128, 256
    mean over X, Y, Z -> Linear(256, 512) + ReLU -> Dropout(0.3) -> Linear(512, 1)

BatchNorm follows Keras (and ctd), not torch.nn.BatchNorm3d: epsilon 1e-3; the running
statistics move by momentum 0.99 towards the batch mean and the *biased* batch variance; the
first training batch of a fresh model replaces them outright; and "precise BatchNorm" can
re-estimate them as the plain average over many batches.
"""
import math

import torch
from torch import nn
from torch.nn import functional as F

FILTERS = (64, 64, 128, 256)
HIDDEN = 512
DROPOUT = 0.3
BN_MOMENTUM = 0.99
BN_EPSILON = 1e-3
MINIMUM_AXIS = 46


def at_least_float32(x):
    return x.float() if x.dtype in (torch.bfloat16, torch.float16) else x


class KerasBatchNorm(nn.Module):
    """BatchNorm over channel dim 1 with Keras's statistics (see the module docstring)."""

    def __init__(self, channels):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))
        self.replace_next = False
        self.accumulation = None  # [batches, sum of means, sum of variances] while re-estimating

    def forward(self, x):
        x = at_least_float32(x)  # statistics in float32 also under bf16 autocast
        shape = (1, -1) + (1,) * (x.dim() - 2)
        if self.training:
            dims = [0] + list(range(2, x.dim()))
            mean = x.mean(dims)
            var = x.var(dims, unbiased=False)
            with torch.no_grad():
                if self.accumulation is not None:
                    self.accumulation[0] += 1
                    self.accumulation[1] += mean.double()
                    self.accumulation[2] += var.double()
                else:
                    momentum = 0.0 if self.replace_next else BN_MOMENTUM
                    self.replace_next = False
                    self.running_mean.mul_(momentum).add_(mean.detach() * (1 - momentum))
                    self.running_var.mul_(momentum).add_(var.detach() * (1 - momentum))
        else:
            mean, var = self.running_mean, self.running_var
        return (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + BN_EPSILON) * self.weight.view(shape) + self.bias.view(shape)

    def begin_accumulation(self):
        zeros = torch.zeros_like(self.running_mean, dtype=torch.float64)
        self.accumulation = [0, zeros.clone(), zeros.clone()]

    def finish_accumulation(self, all_reduce=None):
        batches, means, variances = self.accumulation
        self.accumulation = None
        totals = torch.cat([torch.tensor([float(batches)], dtype=torch.float64, device=means.device), means, variances])
        if all_reduce is not None:
            all_reduce(totals)
        count = totals[0].item()
        if count == 0:
            return
        channels = means.numel()
        with torch.no_grad():
            self.running_mean.copy_((totals[1:1 + channels] / count).to(self.running_mean.dtype))
            self.running_var.copy_((totals[1 + channels:] / count).to(self.running_var.dtype))


class SeedNet(nn.Module):
    def __init__(self, width=128, height=128, depth=64):
        super().__init__()
        if min(width, height, depth) < MINIMUM_AXIS:
            raise ValueError(f"input size {width}x{height}x{depth} is too small: every axis needs at least {MINIMUM_AXIS} voxels")
        self.input_size = (width, height, depth)
        channels = 1
        for index, filters in enumerate(FILTERS, start=1):
            setattr(self, f"conv{index}", nn.Conv3d(channels, filters, kernel_size=3))
            setattr(self, f"bn{index}", KerasBatchNorm(filters))
            channels = filters
        self.fc1 = nn.Linear(FILTERS[-1], HIDDEN)
        self.fc2 = nn.Linear(HIDDEN, 1)
        self.dropout = DROPOUT  # 0 makes a training step a deterministic function of weights and batch
        self.reset_parameters()

    def reset_parameters(self, generator=None):
        """Keras's initial values: Glorot-uniform kernels, zero biases, BatchNorm 1/0/0/1."""
        for name, tensor in self.state_dict().items():
            if name.endswith(".weight") and (name.startswith("conv") or name.startswith("fc")):
                receptive = math.prod(tensor.shape[2:]) if tensor.dim() > 2 else 1
                limit = math.sqrt(6.0 / ((tensor.shape[0] + tensor.shape[1]) * receptive))
                with torch.no_grad():
                    tensor.uniform_(-limit, limit, generator=generator)
        self.start_running_statistics()

    def batch_norms(self):
        return [getattr(self, f"bn{index}") for index in range(1, len(FILTERS) + 1)]

    def start_running_statistics(self):
        """The next training batch's statistics replace the running ones (see ctd's Network)."""
        for bn in self.batch_norms():
            bn.replace_next = True

    def forward(self, x):
        for index in range(1, len(FILTERS) + 1):
            x = F.max_pool3d(F.relu(getattr(self, f"conv{index}")(x)), 2)
            x = getattr(self, f"bn{index}")(x)
        features = at_least_float32(x).mean(dim=(2, 3, 4))
        hidden = F.dropout(F.relu(self.fc1(features)), self.dropout, self.training)
        return at_least_float32(self.fc2(hidden).squeeze(1))


class KerasAdam(torch.optim.Optimizer):
    """Adam as Keras (and ctd) computes it, with the seed's staircase exponential decay:
    m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2); w -= a m / (sqrt(v) + eps), where
    a = lr * decay^floor(t / steps) * sqrt(1 - b2^(t+1)) / (1 - b1^(t+1)). (torch.optim.Adam puts
    epsilon elsewhere, which changes the first steps on tiny gradients.)"""

    def __init__(self, params, lr=1e-4, decay_steps=100_000, decay_rate=0.96, betas=(0.9, 0.999), eps=1e-7):
        super().__init__(params, dict(lr=lr, decay_steps=decay_steps, decay_rate=decay_rate, betas=betas, eps=eps))
        self.step_count = 0

    def learning_rate(self, step=None):
        group = self.param_groups[0]
        step = self.step_count if step is None else step
        return group["lr"] * group["decay_rate"] ** math.floor(step / group["decay_steps"])

    @torch.no_grad()
    def step(self, closure=None):
        t = self.step_count
        for group in self.param_groups:
            b1, b2 = group["betas"]
            alpha = self.learning_rate(t) * math.sqrt(1 - b2 ** (t + 1)) / (1 - b1 ** (t + 1))
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["m"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["v"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                m, v, g = state["m"], state["v"], p.grad
                m.add_((g - m) * (1 - b1))
                v.add_((g * g - v) * (1 - b2))
                p.sub_(alpha * m / (v.sqrt() + group["eps"]))
        self.step_count += 1
