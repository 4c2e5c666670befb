"""The seed's recipe as ctd runs it, in plain Python: metrics, Platt calibration (with ctd's "do
no harm" rule), early stopping, the augmentation, and precise BatchNorm's scan count. Each
mirrors a Swift type in Sources/Training; tests/test_recipe.py checks them against ctd's."""
import math
import random

import torch
from torch.nn import functional as F

ANGLES = (-20.0, -10.0, -5.0, 5.0, 10.0, 20.0)


def sigmoid(z):
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


def bce(logits, labels):
    """Mean binary cross-entropy on logits, computed stably (ctd's BinaryCrossEntropy)."""
    return sum(max(z, 0) - z * y + math.log1p(math.exp(-abs(z))) for z, y in zip(logits, labels)) / len(logits)


def auc(scores, labels):
    positives = sum(1 for y in labels if y > 0.5)
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return None
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    rank_sum, start = 0.0, 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and scores[order[end + 1]] == scores[order[start]]:
            end += 1
        average = (start + end) / 2 + 1
        rank_sum += sum(average for p in range(start, end + 1) if labels[order[p]] > 0.5)
        start = end + 1
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def best_threshold(scores, labels):
    """(threshold on the score, accuracy): the threshold that gets the most labels right."""
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    correct = sum(1 for y in labels if y > 0.5)
    best = (scores[order[0]] - 1, correct)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and scores[order[end + 1]] == scores[order[start]]:
            end += 1
        for p in range(start, end + 1):
            correct += -1 if labels[order[p]] > 0.5 else 1
        following = scores[order[end + 1]] if end + 1 < len(order) else scores[order[end]] + 1
        if correct > best[1]:
            best = ((scores[order[end]] + following) / 2, correct)
        start = end + 1
    return best[0], best[1] / len(scores)


def classification_metrics(logits, labels):
    threshold, best_accuracy = best_threshold(logits, labels)
    return dict(loss=bce(logits, labels), accuracy=sum(1 for z, y in zip(logits, labels) if (z > 0) == (y > 0.5)) / len(logits),
                auc=auc(logits, labels), best_accuracy=best_accuracy, best_threshold=sigmoid(threshold))


def probability_quality(probabilities, labels, bins=10):
    n = max(len(probabilities), 1)
    loss = -sum(math.log(min(max(p, 1e-7), 1 - 1e-7)) if y > 0.5 else math.log(1 - min(max(p, 1e-7), 1 - 1e-7))
                for p, y in zip(probabilities, labels)) / n
    accuracy = sum(1 for p, y in zip(probabilities, labels) if (p >= 0.5) == (y > 0.5)) / n
    count, confidence, positive = [0] * bins, [0.0] * bins, [0.0] * bins
    for p, y in zip(probabilities, labels):
        b = min(int(p * bins), bins - 1)
        count[b] += 1
        confidence[b] += p
        positive[b] += 1 if y > 0.5 else 0
    ece = sum(abs(confidence[b] - positive[b]) for b in range(bins) if count[b]) / n if probabilities else 0
    brier = sum((p - y) ** 2 for p, y in zip(probabilities, labels)) / n
    return dict(loss=loss, accuracy=accuracy, ece=ece, brier=brier)


def _platt_loss(slope, intercept, x, targets):
    total = 0.0
    for xi, ti in zip(x, targets):
        z = slope * xi + intercept
        total += max(z, 0) - ti * z + math.log1p(math.exp(-abs(z)))
    return total / len(x)


def fit_platt(logits, labels):
    """(slope, intercept) by Newton's method with Platt's smoothed targets, slope kept >= 0."""
    positives = sum(1 for y in labels if y > 0.5)
    negatives = len(labels) - positives
    targets = [(positives + 1) / (positives + 2) if y > 0.5 else 1 / (negatives + 2) for y in labels]
    x = [float(z) for z in logits]
    base = (0.0, math.log((positives + 1) / (negatives + 1)))
    slope, intercept = base
    current = _platt_loss(slope, intercept, x, targets)
    for _ in range(100):
        ga = gb = hab = 0.0
        haa = hbb = 1e-12
        for xi, ti in zip(x, targets):
            p = sigmoid(slope * xi + intercept)
            w = max(p * (1 - p), 1e-12)
            ga += (p - ti) * xi
            gb += p - ti
            haa += w * xi * xi
            hab += w * xi
            hbb += w
        determinant = haa * hbb - hab * hab
        if determinant <= 0:
            break
        da = (hbb * ga - hab * gb) / determinant
        db = (haa * gb - hab * ga) / determinant
        step, improved = 1.0, False
        while step > 1e-10:
            trial = (slope - step * da, intercept - step * db)
            loss = _platt_loss(trial[0], trial[1], x, targets)
            if loss < current:
                (slope, intercept), current, improved = trial, loss, True
                break
            step /= 2
        if not improved or abs(da) + abs(db) < 1e-9:
            break
    return (slope, intercept) if slope >= 0 else base


def calibration_report(logits, labels, epoch):
    """ctd's CalibrationReport.choose: Platt scaling unless it raises the cross-entropy."""
    def report(slope, intercept, method):
        return dict(method=method, slope=slope, intercept=intercept, epoch=epoch, scans=len(logits),
                    before=probability_quality([sigmoid(z) for z in logits], labels),
                    after=probability_quality([sigmoid(slope * z + intercept) for z in logits], labels))
    platt = report(*fit_platt(logits, labels), "platt")
    return platt if platt["after"]["loss"] <= platt["before"]["loss"] else report(1.0, 0.0, "identity")


class EarlyStopping:
    """Best checkpoint by val_loss; stop when val_acc has not improved for `patience` epochs."""

    def __init__(self, patience):
        self.patience = patience
        self.best_loss, self.best_epoch = math.inf, None
        self.best_accuracy, self.without_improvement = -math.inf, 0

    def record(self, epoch, loss, accuracy):
        save_best = loss < self.best_loss
        if save_best:
            self.best_loss, self.best_epoch = loss, epoch
        if accuracy > self.best_accuracy:
            self.best_accuracy, self.without_improvement = accuracy, 0
        else:
            self.without_improvement += 1
        return save_best, self.without_improvement >= self.patience


def recalibration_scans(training_count, batch_size, setting=None):
    """How many training scans precise BatchNorm averages over (ctd's TrainingConfig)."""
    wanted = setting if setting is not None else min(256, max(16, training_count // 5))
    return min(wanted, training_count) // batch_size * batch_size


def recalibration_sample(train_indices, labels, batch_size, seed, setting=None):
    """The training scans precise BatchNorm averages over: a seeded sample, the same every epoch,
    each class in its share of the training set (ctd's TrainingConfig.recalibrationSample). Not
    the first ones: an export lists CT-0/ before CT-23/, and statistics of one class alone shift
    every logit."""
    count = recalibration_scans(len(train_indices), batch_size, setting)
    if count == 0:
        return []
    generator = random.Random(seed ^ 0xB47C4A115EED0001)
    classes = sorted(set(labels))
    groups = [[i for i, label in zip(train_indices, labels) if label == c] for c in classes]
    for group in groups:
        generator.shuffle(group)
    exact = [len(g) * count / len(train_indices) for g in groups]
    quota = [int(e) for e in exact]
    for index in sorted(range(len(groups)), key=lambda k: -(exact[k] - quota[k]))[:count - sum(quota)]:
        quota[index] += 1
    sample = [i for group, q in zip(groups, quota) for i in group[:q]]
    generator.shuffle(sample)
    return sample


def rotate_planes(batch, degrees):
    """Rotates every (x, y) plane of each sample of [N, 1, X, Y, Z] by its angle (degrees) about
    the plane's centre, zero fill, then clips to [0, 1]: the seed's augmentation, bilinear here
    (on the device) where scipy's is a cubic spline."""
    n, _, nx, ny, nz = batch.shape
    planes = batch[:, 0].permute(0, 3, 1, 2)  # [N, Z, X, Y]: Z as channels of 2-D images X x Y
    radians = torch.as_tensor(degrees, dtype=torch.float32, device=batch.device) * (math.pi / 180)
    cos, sin = torch.cos(radians).view(n, 1, 1), torch.sin(radians).view(n, 1, 1)
    px = torch.arange(nx, dtype=torch.float32, device=batch.device).view(1, nx, 1) - (nx - 1) / 2
    py = torch.arange(ny, dtype=torch.float32, device=batch.device).view(1, 1, ny) - (ny - 1) / 2
    # Where each output voxel comes from: the inverse rotation of its offset from the centre.
    source_x = cos * px + sin * py + (nx - 1) / 2
    source_y = -sin * px + cos * py + (ny - 1) / 2
    grid = torch.stack([2 * source_y / max(ny - 1, 1) - 1, 2 * source_x / max(nx - 1, 1) - 1], dim=-1)  # (W=y, H=x)
    rotated = F.grid_sample(planes, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
    return rotated.permute(0, 2, 3, 1).unsqueeze(1).clamp(0, 1)
