"""Batch-norm statistics re-estimated after training (the paper does so for both methods).

Running means and variances are reset and recomputed as the plain average over the given batches of
each batch's mean and unbiased variance (PyTorch's cumulative mode, momentum=None), with the weights
as they are (quantized or pruned). Nothing else in the model changes.
"""

from __future__ import annotations

import torch
from torch import nn


def batchnorm_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@torch.no_grad()
def reestimate_batchnorm_(model: nn.Module, batches, device: torch.device | str = "cpu") -> int:
    """Recompute every BN layer's running statistics on ``batches`` of (x, y); return the batch count."""
    layers = batchnorm_layers(model)
    momenta = [bn.momentum for bn in layers]
    model.eval()
    for bn in layers:
        bn.reset_running_stats()
        bn.momentum = None
        bn.train()
    count = 0
    try:
        for x, _ in batches:
            model(x.to(device))
            count += 1
    finally:
        for bn, momentum in zip(layers, momenta):
            bn.momentum = momentum
        model.eval()
    return count
