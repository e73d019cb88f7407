"""A task is what the training loop needs besides the model: data, loss, metric and batch-norm policy.

Every task (digits here, ImageNet in pvq.finetune.imagenet, the offline photo distillation in
pvq.finetune.photo_distillation, and the paper tier's Pascal VOC segmentation, MS COCO detection and
WikiText-103 language modelling in pvq.finetune.voc, .coco and .wikitext) provides:

- ``metric``: the headline metric's name (picks the learning rate, in its direction:
  pvq.finetune.directions), and ``table_metrics``: the metrics Tables 1 and 5 report, headline first;
- ``steps_per_epoch(batch_size)`` and ``train_batches(epoch, seed, batch_size)``: (inputs, targets)
  batches, shuffled and augmented, a pure function of the arguments (a resumed run sees the same data);
  inputs a tensor whose first dimension is the batch, targets a tensor or a dict of them (detection);
- ``loss(outputs, targets)``: the training loss, from whatever the model returns (logits, a dict of
  them, a transformers output, per-level detection outputs);
- optionally ``micro_batch_size``: examples per forward pass, gradients accumulated (pvq.finetune.loop);
- ``evaluate(model, split)``: {metric name: value} on held-out data, ``split`` "val" (picks the
  learning rate) or "test" (reported);
- ``frozen_statistics``: True when the model trains in eval mode (batch-norm statistics frozen, no
  dropout); the statistics are then re-estimated at the start and after every epoch, not only after
  training; ``reestimate_batchnorm_(model, batch_size)``: the re-estimation after training;
- ``representation_inputs()`` and ``representation_layers``: held-out inputs and the layers whose
  activations App. H/I follow;
- ``channels_last``: whether the model runs faster in channels-last memory format (CPU, 2-d convs).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pvq.finetune.batchnorm import reestimate_batchnorm_
from pvq.finetune.evaluate import device, evaluate
from pvq.models.digits import REPRESENTATION_LAYERS, digits_split


def hold_out(n: int, count: int, seed: int, key: str) -> tuple[np.ndarray, np.ndarray]:
    """(held, kept): ``count`` of ``n`` training examples held out (seeded) to choose the learning rate,
    and the rest, each sorted; holding out everything is an error naming the config ``key``."""
    order = np.random.default_rng(seed).permutation(n)
    held, kept = np.sort(order[:count]), np.sort(order[count:])
    if len(kept) == 0:
        raise ValueError(f"config key '{key}': {count} holds out every one of the {n} training examples; "
                         "hold out fewer")
    return held, kept


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """The generator of one epoch's shuffling and augmentation (independent of earlier epochs)."""
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch)


def random_shift(x: torch.Tensor, shift: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each image (B, C, H, W) by up to ``shift`` pixels in each direction, zero fill."""
    if shift == 0:
        return x
    b, _, h, w = x.shape
    padded = F.pad(x, (shift, shift, shift, shift))
    dy = torch.randint(0, 2 * shift + 1, (b,), generator=generator)
    dx = torch.randint(0, 2 * shift + 1, (b,), generator=generator)
    rows = (dy[:, None] + torch.arange(h))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w))[:, None, None, :]
    channels = torch.arange(x.shape[1])[None, :, None, None]
    return padded[torch.arange(b)[:, None, None, None], channels, rows, cols]


class DigitsTask:
    """sklearn's digits, fixed 60/20/20 split (pvq.models.digits.digits_split) of which the first
    ``train_samples`` training images are used, ±``shift`` px translations, cross-entropy, top-1 accuracy."""

    metric = "acc"
    table_metrics = ("acc",)
    representation_layers = REPRESENTATION_LAYERS
    frozen_statistics = False
    channels_last = False

    def __init__(self, seed: int, train_samples: int | None = None, shift: int = 1):
        data = digits_split(seed)
        self.train = data.train.head(train_samples)
        self.val, self.test = data.val, data.test
        self.shift = shift

    def steps_per_epoch(self, batch_size: int) -> int:
        return max(len(self.train) // batch_size, 1)  # full batches only: BN never sees a batch of 1

    def train_batches(self, epoch: int, seed: int, batch_size: int):
        generator = epoch_generator(seed, epoch)
        order = torch.randperm(len(self.train), generator=generator)
        size = min(batch_size, len(self.train))
        for i in range(self.steps_per_epoch(batch_size)):
            index = order[i * size:(i + 1) * size]
            yield random_shift(self.train.x[index], self.shift, generator), self.train.y[index]

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(outputs, targets)

    def bn_batches(self, batch_size: int):
        n = len(self.train)
        return [(self.train.x[i:i + batch_size], self.train.y[i:i + batch_size])
                for i in range(0, n - 1, batch_size) if min(i + batch_size, n) - i > 1]

    def reestimate_batchnorm_(self, model: nn.Module, batch_size: int) -> None:
        reestimate_batchnorm_(model, self.bn_batches(batch_size), device())

    def held_out(self, split: str):
        return {"val": self.val, "test": self.test}[split]

    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        return {"acc": evaluate(model, self.held_out(split))}

    def representation_inputs(self) -> torch.Tensor:
        return self.val.x
