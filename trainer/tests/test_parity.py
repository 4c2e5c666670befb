"""The twin against ctd itself: the same checkpoint and inputs give the same logits (float32,
within 1e-4), and one training step from the same weights and batch gives the same loss (within
1e-5) and the same parameters, running statistics and Adam moments after it (within 1e-4 relative)."""
import copy
import json
import os
import unittest

import numpy as np
import safetensors.torch
import torch
from torch.nn import functional as F

from ctd_trainer.checkpoint import load_checkpoint, load_into, save_checkpoint
from ctd_trainer.model import KerasAdam, SeedNet

from support import TemporaryFolderCase, binary, run

SIZE = (48, 48, 48)


def random_model(seed, inputs):
    """Fresh Glorot weights; BatchNorm parameters away from 1/0 and running statistics of the
    inputs' own scale, moved off them, so that a mix-up of weight and bias, mean and variance,
    or biased and unbiased variance shows while the logits stay of ordinary size."""
    torch.manual_seed(seed)
    model = SeedNet(*SIZE)
    model.reset_parameters(torch.Generator().manual_seed(seed))
    with torch.no_grad():
        for bn in model.batch_norms():
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.2, 0.2)
            bn.begin_accumulation()
        for fc in (model.fc1, model.fc2):
            fc.bias.uniform_(-0.1, 0.1)
        model.train()
        model(torch.from_numpy(inputs))
        for bn in model.batch_norms():
            bn.finish_accumulation()
            bn.running_mean.mul_(torch.empty_like(bn.running_mean).uniform_(0.8, 1.2))
            bn.running_var.mul_(torch.empty_like(bn.running_var).uniform_(0.8, 1.2))
            bn.replace_next = False
    return model


def relative_difference(a, b):
    """Per element |a - b| / max(|b|, 1e-3 * max|b|): relative, with a floor for values near zero."""
    a, b = a.double(), b.double()
    floor = max(b.abs().max().item() * 1e-3, 1e-12)
    return ((a - b).abs() / b.abs().clamp(min=floor)).max().item()


class ParityTests(TemporaryFolderCase):
    def setUp(self):
        super().setUp()
        self.ctd = binary("ctd")
        generator = np.random.default_rng(11)
        self.inputs = generator.uniform(0, 1, size=(2, 1) + SIZE).astype(np.float32)
        np.save(self.path("inputs.npy"), self.inputs)
        self.model = random_model(7, self.inputs)
        self.checkpoint = self.path("start.safetensors")
        save_checkpoint(self.checkpoint, self.model, {"run_id": "parity"})

    def test_forward_logits_agree(self):
        answer = run([self.ctd, "model", "logits", "--checkpoint", self.checkpoint, "--inputs", self.path("inputs.npy")])
        ctd_logits = json.loads(answer.stdout)["logits"]
        self.model.eval()
        with torch.no_grad():
            twin_logits = self.model(torch.from_numpy(self.inputs)).tolist()
        self.assertEqual(len(ctd_logits), 2)
        for ours, theirs in zip(twin_logits, ctd_logits):
            self.assertLess(abs(ours - theirs), 1e-4, f"twin {twin_logits} vs ctd {ctd_logits}")
        self.assertGreater(abs(ctd_logits[0] - ctd_logits[1]), 1e-3, "the two inputs must give different logits for this to mean anything")

    def twin_step(self, dtype, labels):
        """The twin's step in `dtype`: (gradients, state after the step, Adam's moments, loss)."""
        model = copy.deepcopy(self.model).to(dtype)
        model.train()
        model.dropout = 0.0
        optimizer = KerasAdam(model.parameters())
        logits = model(torch.from_numpy(self.inputs).to(dtype))
        loss = F.binary_cross_entropy_with_logits(logits, torch.tensor(labels, dtype=dtype))
        optimizer.zero_grad()
        loss.backward()
        gradients = {name: p.grad.double().clone() for name, p in model.named_parameters()}
        optimizer.step()
        moments = {name: (optimizer.state[p]["m"].double(), optimizer.state[p]["v"].double()) for name, p in model.named_parameters()}
        return gradients, {k: v.double() for k, v in model.state_dict().items()}, moments, loss.item()

    def test_one_training_step_agrees(self):
        """Against the twin in float32, and both against the twin in float64 (the truth here).

        Gradients: ctd's error (relative to the tensor's norm) is within 1e-4, or no worse than 3x
        the twin's own float32 error (BatchNorm over a batch of 2 cancels most of the gradient of
        the biases before it, leaving float32 noise); so are Adam's moments after the step. The
        parameters are within 1e-4 of the tensor's scale wherever the gradient stands clear of that noise (100x
        both float32 errors); elsewhere Adam's first step, which moves every weight by about the
        learning rate whatever the gradient's size, may go either way: within 2 x 1e-4."""
        labels = [1.0, 0.0]
        answer = run([self.ctd, "model", "step", "--checkpoint", self.checkpoint, "--inputs", self.path("inputs.npy"),
                      "--labels", "1,0", "--out", self.path("after.safetensors"), "--gradients", self.path("gradients.safetensors")])
        ctd_loss = json.loads(answer.stdout)["loss"]
        ctd_gradients = {k: v.double() for k, v in safetensors.torch.load_file(self.path("gradients.safetensors")).items()}
        after, _, ctd_moments = load_checkpoint(self.path("after.safetensors"))
        self.assertEqual(ctd_moments["step"], 1)
        g32, p32, m32, loss32 = self.twin_step(torch.float32, labels)
        g64, p64, m64, loss64 = self.twin_step(torch.float64, labels)
        self.assertLess(abs(loss32 - ctd_loss), 1e-5, f"loss: twin {loss32} vs ctd {ctd_loss}")
        self.assertLess(abs(loss64 - ctd_loss), 1e-5, f"loss: twin in float64 {loss64} vs ctd {ctd_loss}")

        problems, clear_count, total = [], 0, 0
        for name, truth in g64.items():
            norm = truth.norm().item()
            ctd_error = (ctd_gradients[name] - truth).norm().item() / norm
            twin_error = (g32[name] - truth).norm().item() / norm
            if ctd_error > max(1e-4, 3 * twin_error):
                problems.append(f"gradient {name}: ctd {ctd_error:.1e}, twin float32 {twin_error:.1e} from float64")
            noise = torch.maximum((ctd_gradients[name] - truth).abs(), (g32[name] - truth).abs())
            clear = truth.abs() > 100 * noise
            clear_count += clear.sum().item()
            total += clear.numel()
            scale = p32[name].abs().max().item()
            difference = (after[name].double() - p32[name]).abs()
            if clear.any() and difference[clear].max().item() > 1e-4 * scale:
                problems.append(f"{name}: {difference[clear].max().item():.1e} apart where the gradient is clear (scale {scale:.1e})")
            if difference.max().item() > 2e-4 + 1e-4 * scale:
                problems.append(f"{name}: {difference.max().item():.1e} apart, more than two Adam steps")
            # Adam's moments are the gradient scaled (m) and squared (v): judged as the gradient is.
            for index, moment in enumerate("mv"):
                truth_moment = m64[name][index]
                ctd_moment_error = (ctd_moments[moment][name].double() - truth_moment).norm().item() / truth_moment.norm().item()
                twin_moment_error = (m32[name][index] - truth_moment).norm().item() / truth_moment.norm().item()
                if ctd_moment_error > max(1e-4, 3 * twin_moment_error):
                    problems.append(f"{moment}.{name}: ctd {ctd_moment_error:.1e}, twin float32 {twin_moment_error:.1e} from float64")
        for name in after:
            if "running" in name:
                difference = (after[name].double() - p32[name]).abs().max().item()
                if difference > 1e-4 * p32[name].abs().max().item():
                    problems.append(f"{name}: {difference:.1e} apart")
        self.assertFalse(problems, "\n".join(problems))
        self.assertGreater(clear_count / total, 0.95, "most gradients must stand clear of float32 noise for this test to mean something")
        start, _, _ = load_checkpoint(self.checkpoint)
        for name in g64:
            self.assertFalse(torch.equal(start[name], after[name]), f"{name} did not move")

    def test_a_ctd_checkpoint_with_optimizer_state_loads_into_the_twin(self):
        run([self.ctd, "model", "step", "--checkpoint", self.checkpoint, "--inputs", self.path("inputs.npy"),
             "--labels", "0,1", "--out", self.path("after.safetensors")])
        model = SeedNet(*SIZE)
        optimizer = KerasAdam(model.parameters())
        metadata = load_into(model, self.path("after.safetensors"), optimizer)
        self.assertEqual(optimizer.step_count, 1)
        self.assertEqual(json.loads(metadata["input_size"]), list(SIZE))
        with self.assertRaises(ValueError):
            load_into(SeedNet(48, 48, 64), self.path("after.safetensors"))


if __name__ == "__main__":
    unittest.main()
