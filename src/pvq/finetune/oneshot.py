"""Compression without fine-tuning: one tensor, or a whole model copy, quantized or pruned once.

Quantization: per-tensor symmetric grid with the MSE-optimal scale (the LSQ initialisation, so a
QAT run starts exactly here). Pruning: magnitude mask at sparsity 1 - b/baseline_bits (where GMP
ends). Used for epoch 0 of the representation curves and for the single-layer study (Fig. 6).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from pvq.prune import magnitude_mask, sparsity_for_bits
from pvq.quantize import mse_optimal_scale, quantize_symmetric

METHODS = ("quant", "prune")


def compress_tensor(w: torch.Tensor, method: str, bits: int, baseline_bits: int = 16) -> torch.Tensor:
    """``w`` quantized to ``bits`` or pruned to the equivalent sparsity, same dtype and device."""
    array = w.detach().cpu().double().numpy()
    if method == "quant":
        out = quantize_symmetric(array, mse_optimal_scale(array, bits), bits)
    elif method == "prune":
        out = array * magnitude_mask(array, sparsity_for_bits(bits, baseline_bits))
    else:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return torch.from_numpy(out).to(dtype=w.dtype, device=w.device)


@torch.no_grad()
def compress_model(model: nn.Module, layer_names, method: str, bits: int, baseline_bits: int = 16) -> nn.Module:
    """A deep copy of ``model`` with the weights of ``layer_names`` compressed once."""
    compressed = copy.deepcopy(model)
    modules = dict(compressed.named_modules())
    for name in layer_names:
        modules[name].weight.copy_(compress_tensor(modules[name].weight, method, bits, baseline_bits))
    return compressed
