"""The recipe's pieces, each against ctd's definition (Sources/Training) on a small case worked
out by hand, or an exact property."""
import math
import unittest

import torch

from ctd_trainer import recipe
from ctd_trainer.model import KerasBatchNorm


class RecipeTests(unittest.TestCase):
    def test_metrics(self):
        logits, labels = [-2.0, -1.0, 0.5, 1.5, 3.0, 0.2], [0, 0, 1, 1, 1, 0]
        metrics = recipe.classification_metrics(logits, labels)
        self.assertAlmostEqual(metrics["accuracy"], 5 / 6)
        self.assertEqual(metrics["auc"], 1.0)
        self.assertEqual(metrics["best_accuracy"], 1.0)
        self.assertAlmostEqual(metrics["best_threshold"], recipe.sigmoid(0.35))
        expected = sum(max(z, 0) - z * y + math.log1p(math.exp(-abs(z))) for z, y in zip(logits, labels)) / 6
        self.assertAlmostEqual(metrics["loss"], expected)
        self.assertIsNone(recipe.auc([1.0, 2.0], [1, 1]))
        self.assertEqual(recipe.auc([1.0, 1.0, 2.0], [0, 1, 1]), 0.75, "ties count half")

    def test_platt_scaling_moves_an_offset_decision_and_never_inverts(self):
        # The classes meet at logit 3, not 0: every negative is called abnormal at 0.5.
        logits = [1.0, 1.5, 2.0, 2.5, 3.5, 4.0, 4.5, 5.0]
        labels = [0, 0, 0, 0, 1, 1, 1, 1]
        slope, intercept = recipe.fit_platt(logits, labels)
        self.assertGreater(slope, 0)
        self.assertAlmostEqual(-intercept / slope, 3.0, places=3)
        report = recipe.calibration_report(logits, labels, epoch=4)
        self.assertEqual(report["method"], "platt")
        self.assertEqual(report["before"]["accuracy"], 0.5)
        self.assertEqual(report["after"]["accuracy"], 1.0)
        self.assertLess(report["after"]["ece"], report["before"]["ece"])
        reversed_slope, reversed_intercept = recipe.fit_platt(logits, [1 - y for y in labels])
        self.assertEqual(reversed_slope, 0.0)
        self.assertAlmostEqual(reversed_intercept, math.log(5 / 5))

    def test_calibration_does_no_harm_to_confident_well_placed_logits(self):
        logits = [-12.0, -11.0, -10.0, 10.0, 11.0, 12.0]
        report = recipe.calibration_report(logits, [0, 0, 0, 1, 1, 1], epoch=1)
        self.assertEqual((report["method"], report["slope"], report["intercept"]), ("identity", 1.0, 0.0))

    def test_early_stopping(self):
        stopping = recipe.EarlyStopping(patience=2)
        self.assertEqual(stopping.record(1, 0.7, 0.6), (True, False))
        self.assertEqual(stopping.record(2, 0.8, 0.6), (False, False))
        self.assertEqual(stopping.record(3, 0.6, 0.5), (True, True))
        self.assertEqual(stopping.best_epoch, 3)

    def test_recalibration_scan_counts_follow_ctd(self):
        self.assertEqual(recipe.recalibration_scans(144, 2), 28)
        self.assertEqual(recipe.recalibration_scans(10, 2), 10)
        self.assertEqual(recipe.recalibration_scans(5000, 2), 256)
        self.assertEqual(recipe.recalibration_scans(144, 2, setting=0), 0)
        self.assertEqual(recipe.recalibration_scans(144, 4, setting=30), 28)

    def test_the_recalibration_sample_mixes_the_classes_and_stays_put(self):
        indices = list(range(144))  # as an export lists them: 72 normal, then 72 abnormal
        labels = [0] * 72 + [1] * 72
        sample = recipe.recalibration_sample(indices, labels, 2, seed=1)
        self.assertEqual(len(set(sample)), 28)
        self.assertEqual(sum(1 for i in sample if i >= 72), 14, "each class in its share")
        self.assertEqual(sample, recipe.recalibration_sample(indices, labels, 2, seed=1))
        uneven = recipe.recalibration_sample(list(range(35)), [0] * 17 + [1] * 18, 2, seed=1)
        self.assertEqual((len(uneven), sum(1 for i in uneven if i < 17)), (16, 8), "as ctd draws them")

    def test_rotation_turns_each_xy_plane_about_its_centre(self):
        batch = torch.rand(2, 1, 9, 9, 4)
        self.assertTrue(torch.allclose(recipe.rotate_planes(batch, [0.0, 0.0]), batch, atol=1e-6))
        quarter = recipe.rotate_planes(batch, [90.0, -90.0])
        turns = [k for k in (1, -1) if torch.allclose(quarter[0], torch.rot90(batch[0], k, dims=(1, 2)), atol=1e-5)]
        self.assertEqual(len(turns), 1, "90 degrees is a quarter turn of every (x, y) plane")
        self.assertTrue(torch.allclose(quarter[1], torch.rot90(batch[1], -turns[0], dims=(1, 2)), atol=1e-5), "-90 turns the other way")
        # Non-square planes: a 180° turn maps (x, y) to (nx-1-x, ny-1-y), z untouched.
        wide = torch.rand(1, 1, 6, 10, 3)
        self.assertTrue(torch.allclose(recipe.rotate_planes(wide, [180.0]), torch.flip(wide, dims=(2, 3)), atol=1e-5))
        self.assertLessEqual(recipe.rotate_planes(batch * 3, [10.0, 20.0]).max().item(), 1.0, "clipped to [0, 1]")

    def test_precise_batchnorm_averages_batch_means_and_biased_variances(self):
        bn = KerasBatchNorm(3)
        bn.train()
        batches = [torch.randn(2, 3, 4, 4, 4) * s + s for s in (1.0, 2.0)]
        bn.begin_accumulation()
        for batch in batches:
            bn(batch)
        bn.finish_accumulation()
        means = torch.stack([b.mean((0, 2, 3, 4)) for b in batches]).mean(0)
        variances = torch.stack([b.var((0, 2, 3, 4), unbiased=False) for b in batches]).mean(0)
        self.assertTrue(torch.allclose(bn.running_mean, means, atol=1e-6))
        self.assertTrue(torch.allclose(bn.running_var, variances, atol=1e-6))
        # Outside an accumulation: Keras's momentum 0.99, or replaced by a fresh model's first batch.
        bn.replace_next = True
        bn(batches[0])
        self.assertTrue(torch.allclose(bn.running_mean, batches[0].mean((0, 2, 3, 4)), atol=1e-6))
        before = bn.running_var.clone()
        bn(batches[1])
        expected = before * 0.99 + batches[1].var((0, 2, 3, 4), unbiased=False) * 0.01
        self.assertTrue(torch.allclose(bn.running_var, expected, atol=1e-6))


if __name__ == "__main__":
    unittest.main()
