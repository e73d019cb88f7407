"""Batch-norm statistics re-estimated after compression (the paper does so after training, for both methods).

``reestimate_batchnorm_``: running means and variances are reset and recomputed as the plain average
over the given batches of each batch's mean and unbiased variance (PyTorch's cumulative mode,
momentum=None), with the weights as they are (quantized or pruned). Right when the batches come
from the data the model was trained on (ImageNet in the paper, the digits here).

``reestimate_batchnorm_relative_``: for a pretrained model fine-tuned on a few photos that are not
its training data, whose own statistics would replace ImageNet's (and ruin the uncompressed model:
measured on Lite0, top-1 agreement with itself falls to about 30 %). Each layer keeps the reference
(uncompressed) model's running statistics, moved by the shift that compression causes on the same
batches: mean_ref + (m_student - m_ref), var_ref * v_student / v_ref, with m, v the average batch
mean and variance of the layer's input. For the uncompressed model itself it changes nothing.

Only the BN layers run in training mode while statistics are gathered; everything else stays in
eval mode (no dropout or stochastic depth), and nothing but the BN buffers changes.
"""

from __future__ import annotations

import torch
from torch import nn

# Channels whose reference variance is below this are dead (constant input): their variance is kept.
DEAD_VARIANCE = 1e-12


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


@torch.no_grad()
def batch_input_moments(model: nn.Module, batches, device: torch.device | str = "cpu") -> list[tuple]:
    """Per BN layer (module order): the average over ``batches`` of its input's per-channel batch mean
    and unbiased batch variance (computed in the input's dtype, summed in float64), every BN
    normalising with batch statistics as in training.
    Running statistics are left exactly as they were."""
    layers = batchnorm_layers(model)
    sums = [[0.0, 0.0] for _ in layers]

    def hook(index):
        def record(_module, inputs, _output):
            x = inputs[0]
            dims = [d for d in range(x.dim()) if d != 1]  # all but the channels
            var, mean = torch.var_mean(x, dim=dims, correction=1)
            sums[index][0] = sums[index][0] + mean.double()
            sums[index][1] = sums[index][1] + var.double()
        return record

    state = [(bn.track_running_stats, bn.training) for bn in layers]
    handles = [bn.register_forward_hook(hook(i)) for i, bn in enumerate(layers)]
    model.eval()
    count = 0
    try:
        for bn in layers:
            bn.track_running_stats = False  # batch statistics normalise; no buffer is read or written
            bn.train()
        for x, _ in batches:
            model(x.to(device))
            count += 1
    finally:
        for handle in handles:
            handle.remove()
        for bn, (tracking, training) in zip(layers, state):
            bn.track_running_stats = tracking
            bn.train(training)
        model.eval()
    if count == 0:
        raise ValueError("batch_input_moments: no batches")
    return [(m / count, v / count) for m, v in sums]


@torch.no_grad()
def reestimate_batchnorm_relative_(model: nn.Module, reference: nn.Module, batches,
                                   device: torch.device | str = "cpu", anchor: list[tuple] | None = None) -> None:
    """Set ``model``'s BN statistics to ``reference``'s moved by the compression's shift on ``batches``
    (a list of (x, y)); ``anchor``: the reference's batch_input_moments on the same batches, if known."""
    ours, theirs = batchnorm_layers(model), batchnorm_layers(reference)
    if len(ours) != len(theirs):
        raise ValueError(f"model has {len(ours)} BN layers, reference {len(theirs)}: not the same architecture")
    moved = batch_input_moments(model, batches, device)
    if anchor is None:
        anchor = batch_input_moments(reference, batches, device)
    for bn, ref, (mean, var), (ref_mean, ref_var) in zip(ours, theirs, moved, anchor):
        live = ref_var > DEAD_VARIANCE
        ratio = torch.where(live, var / ref_var.clamp_min(DEAD_VARIANCE), torch.ones_like(var))
        bn.running_mean.copy_(ref.running_mean.double() + (mean - ref_mean))
        bn.running_var.copy_(ref.running_var.double() * ratio)
