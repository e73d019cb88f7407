"""The default tier's model and data: a small residual CNN on sklearn's 8x8 handwritten digits.

The digits ship inside scikit-learn (1,797 labelled images, 10 classes), so nothing is downloaded;
they are read from its data file directly (importing sklearn.datasets costs seconds per job).
``digits_split(seed)`` is the fixed, stratified 60/20/20 train/val/test split every stage uses;
``build_digits_resnet()`` the architecture whose trained state dict the fine-tuning stage writes
to ``results/<run>/finetune/digits_resnet/fp.pt``.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import torch
from torch import nn

NUM_CLASSES = 10
PIXEL_MAX = 16.0  # digits pixels are integers 0..16


@dataclass(frozen=True)
class Split:
    """Images ``x`` (N, 1, 8, 8) float32 in [0, 1] and labels ``y`` (N,) int64."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)

    def head(self, n: int | None) -> Split:
        """The first ``n`` samples (all when ``n`` is None): the smoke tier's subsets."""
        return self if n is None else Split(self.x[:n], self.y[:n])


@dataclass(frozen=True)
class DigitsData:
    train: Split
    val: Split
    test: Split


SHARES = (0.6, 0.2)  # train, val; the rest is test


def load_digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """sklearn's digits as (1797, 64) pixel values 0..16 and (1797,) labels, from its shipped CSV."""
    path = Path(find_spec("sklearn").origin).parent / "datasets" / "data" / "digits.csv.gz"
    with gzip.open(path, "rt") as handle:
        table = np.loadtxt(handle, delimiter=",")
    return table[:, :-1], table[:, -1].astype(np.int64)


def digits_split(seed: int) -> DigitsData:
    """Stratified 60/20/20 split (per class, rounded down for train and val), shuffled with ``seed``."""
    images, labels = load_digits_arrays()
    x = (images.reshape(-1, 1, 8, 8) / PIXEL_MAX).astype(np.float32)
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[], [], []]
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_train, n_val = int(SHARES[0] * len(members)), int(SHARES[1] * len(members))
        for part, chunk in zip(parts, np.split(members, [n_train, n_train + n_val])):
            part.append(chunk)

    def split(chunks):
        index = rng.permutation(np.concatenate(chunks))
        return Split(torch.from_numpy(x[index]), torch.from_numpy(labels[index]))

    return DigitsData(*(split(chunks) for chunks in parts))


class ResidualBlock(nn.Module):
    """conv-BN-ReLU-conv-BN plus a shortcut (1x1 conv + BN when the shape changes), then ReLU."""

    def __init__(self, channels_in: int, channels_out: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(channels_in, channels_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels_out)
        self.conv2 = nn.Conv2d(channels_out, channels_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or channels_in != channels_out:
            self.shortcut = nn.Sequential(nn.Conv2d(channels_in, channels_out, 1, stride, bias=False),
                                          nn.BatchNorm2d(channels_out))

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class DigitsResNet(nn.Module):
    """stem (8x8, w ch) -> block (w) -> block (2w, 4x4) -> block (2w) -> average pool -> linear(10)."""

    def __init__(self, width: int = 16):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        self.block1 = ResidualBlock(width, width)
        self.block2 = ResidualBlock(width, 2 * width, stride=2)
        self.block3 = ResidualBlock(2 * width, 2 * width)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(2 * width, NUM_CLASSES)

    def forward(self, x):
        return self.fc(self.pool(self.block3(self.block2(self.block1(self.stem(x))))))


# Layers whose outputs the representation analysis follows (App. H/I): every stage, then the last
# non-classifier layer (the pooled features).
REPRESENTATION_LAYERS = ("stem", "block1", "block2", "block3", "pool")


def build_digits_resnet(width: int = 16) -> DigitsResNet:
    """The untrained architecture; load ``fp.pt`` into it for the trained FP baseline."""
    return DigitsResNet(width)


def load_digits_resnet(path) -> DigitsResNet:
    """The trained FP baseline from its state dict (``results/<run>/finetune/digits_resnet/fp.pt``),
    in eval mode; the width is read from the weights (16 in the default tier, 8 in the smoke tier)."""
    from pvq.models.weights import load_state_dict

    state = load_state_dict(path)
    model = build_digits_resnet(int(state["stem.0.weight"].shape[0]))
    model.load_state_dict(state)
    return model.eval()
