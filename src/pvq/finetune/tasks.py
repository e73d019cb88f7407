"""A task bundles a model's data and metric for the training loop; the default tier's is the digits.

Every task provides: ``metric`` (its name), ``steps_per_epoch(batch_size)``,
``train_batches(epoch, seed, batch_size)`` (shuffled, augmented; a pure function of its arguments),
``bn_batches(batch_size)`` (training data without augmentation, for BN re-estimation),
``held_out(split)`` ("val" picks the learning rate, "test" is reported), ``representation_inputs()``
(held-out images whose activations App. H/I follow) and ``representation_layers``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from pvq.models.digits import REPRESENTATION_LAYERS, digits_split


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
    """sklearn's digits, fixed 60/20/20 split (pvq.models.digits.digits_split), ±``shift`` px translations."""

    metric = "acc"
    representation_layers = REPRESENTATION_LAYERS

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

    def bn_batches(self, batch_size: int):
        n = len(self.train)
        return [(self.train.x[i:i + batch_size], self.train.y[i:i + batch_size])
                for i in range(0, n - 1, batch_size) if min(i + batch_size, n) - i > 1]

    def held_out(self, split: str):
        return {"val": self.val, "test": self.test}[split]

    def representation_inputs(self) -> torch.Tensor:
        return self.val.x
