"""QAT with LSQ (Esser et al. 2020): weights fake-quantized per tensor with a learned scale.

Forward: w_q = s * round(clamp(w / s, -Qn, Qp)), Qn = 2^(b-1), Qp = 2^(b-1) - 1 (the grid of
pvq.quantize; the same as clamping after rounding). Backward (Esser et al. eq. 3-5): straight-through for round, so dw_q/dw = 1 for -Qn < w/s < Qp
and 0 outside; dw_q/ds = round(w/s) - w/s inside, -Qn below, Qp above, times the gradient scale
g = 1/sqrt(N Qp).
Batch norm is not folded; activations stay in floating point (App. G: weights only).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import parametrize

from pvq.quantize import grid_limits, mse_optimal_scale


class _LSQFunction(torch.autograd.Function):
    """Forward and LSQ backward in one pass (fewer kernels than composing STE ops)."""

    @staticmethod
    def forward(ctx, w, scale, lo, hi, grad_factor):
        v = w / scale
        q = torch.clamp(v, lo, hi).round_()
        ctx.save_for_backward(v, q)
        ctx.limits, ctx.grad_factor = (lo, hi), grad_factor
        return q * scale

    @staticmethod
    def backward(ctx, grad):
        v, q = ctx.saved_tensors
        lo, hi = ctx.limits
        inside = (v > lo) & (v < hi)
        grad_w = grad * inside
        grad_scale = (grad * torch.where(inside, q - v, q)).sum() * ctx.grad_factor
        return grad_w, grad_scale.reshape(()), None, None, None


def lsq_quantize(w: torch.Tensor, scale: torch.Tensor, bits: int, grad_factor: float = 1.0) -> torch.Tensor:
    """LSQ fake quantization of ``w`` (any shape) with a scalar learnable ``scale``."""
    lo, hi = grid_limits(bits)
    return _LSQFunction.apply(w, scale, lo, hi, grad_factor)


def lsq_grad_factor(numel: int, bits: int) -> float:
    """LSQ's gradient scale g = 1 / sqrt(N * Qp) for a tensor of N weights."""
    return 1.0 / math.sqrt(numel * grid_limits(bits)[1])


class LSQWeight(nn.Module):
    """A parametrization: module.weight reads as the LSQ-quantized original weight."""

    def __init__(self, weight: torch.Tensor, bits: int):
        super().__init__()
        self.bits = bits
        self.grad_factor = lsq_grad_factor(weight.numel(), bits)
        init = mse_optimal_scale(weight.detach().cpu().double().numpy(), bits)
        self.scale = nn.Parameter(torch.tensor(init, dtype=weight.dtype, device=weight.device))

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return lsq_quantize(weight, self.scale, self.bits, self.grad_factor)


class QuantStrategy:
    """QAT: every compressible weight gets an LSQWeight; scales learn with their own Adam."""

    method = "quant"

    def __init__(self, bits: int, scale_lr: float = 1e-5):
        self.bits = bits
        self.scale_lr = scale_lr
        self.layers: dict[str, nn.Module] = {}

    def attach_(self, model: nn.Module, layers: dict[str, nn.Module], total_steps: int) -> None:
        self.layers = layers
        for module in layers.values():
            parametrize.register_parametrization(module, "weight", LSQWeight(module.weight, self.bits))

    def scales(self) -> list[nn.Parameter]:
        return [m.parametrizations.weight[0].scale for m in self.layers.values()]

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [torch.optim.Adam(self.scales(), lr=self.scale_lr)]

    def begin_step(self, step: int) -> None:
        pass

    def before_update(self) -> None:
        pass

    def after_update(self) -> None:
        pass

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    def summary(self) -> dict:
        with torch.no_grad():
            weights = [m.weight for m in self.layers.values()]
            zeros = sum(int((w == 0).sum()) for w in weights)
            total = sum(w.numel() for w in weights)
        return {"sparsity": zeros / total, "scales": {n: float(m.parametrizations.weight[0].scale.detach())
                                                       for n, m in self.layers.items()}}
