"""The task metric of a model: top-1 accuracy in %, in eval mode, without gradients."""

from __future__ import annotations

import torch
from torch import nn


def device() -> torch.device:
    """CUDA when available, the CPU otherwise: the same code runs on both."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def batches_of(split, batch_size: int = 512):
    """(x, y) batches of a pvq.models.digits.Split, or ``split`` itself when it is already iterable batches."""
    if hasattr(split, "x") and hasattr(split, "y"):
        return [(split.x[i:i + batch_size], split.y[i:i + batch_size]) for i in range(0, len(split.y), batch_size)]
    return split


@torch.no_grad()
def evaluate(model: nn.Module, data, batch_size: int = 512) -> float:
    """Top-1 accuracy (%) of ``model`` on ``data`` (a Split or an iterable of (x, y) batches)."""
    model.eval()
    where = next(model.parameters()).device
    correct = total = 0
    for x, y in batches_of(data, batch_size):
        logits = model(x.to(where))
        correct += int((logits.argmax(1).cpu() == y).sum())
        total += len(y)
    return 100.0 * correct / total
