"""Prune, then quantize the kept weights (Deep Compression's order; what sparse-quantized kernels run).

The quantizer's scales are fitted on the pruned tensor: its zeros sit on every grid, so they add no
error at any scale and the fit is the fit of the kept weights alone. Storage: the kept weights' codes,
the quantizer's scales and the pruner's positions (fillers of a relative index hold a code).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pvq.methods.grids import FP16
from pvq.methods.layout import from_reduction_matrix
from pvq.methods.pruner import Pruner
from pvq.methods.quantizer import Quantizer
from pvq.methods.stats import Stats
from pvq.methods.weights import Weights


@dataclass(frozen=True)
class PruneThenQuantize:
    pruner: Pruner
    quantizer: Quantizer

    family = "joint"

    def __post_init__(self) -> None:
        if not isinstance(self.pruner, Pruner) or not isinstance(self.quantizer, Quantizer):
            raise ValueError(f"PruneThenQuantize needs a Pruner and a Quantizer, got {self.pruner!r}, {self.quantizer!r}")
        if self.pruner.values != FP16:
            raise ValueError("PruneThenQuantize: the quantizer stores the kept weights, so the pruner's value "
                             f"format ({self.pruner.values.name}) would mean nothing; leave it at the default")

    @property
    def spec(self) -> str:
        from pvq.methods.spec import format_spec

        return format_spec(self)

    def storage_bits(self, shape, mask=None) -> float:
        kept = self.pruner.pattern.kept_count(shape)
        return (kept * self.quantizer.bits + self.quantizer.scale_bits(shape)
                + self.pruner.position_bits(shape, mask, self.quantizer.bits))

    def bits_per_weight(self, shape) -> float:
        return self.storage_bits(shape) / self.pruner.pattern.numel(shape)

    def apply(self, w) -> tuple[np.ndarray, Stats]:
        weights = Weights.of(w)
        keep = self.pruner.keep(weights)
        pruned = from_reduction_matrix(np.where(keep, weights.matrix, 0.0), weights.shape)
        w_hat, quantized = self.quantizer.apply(pruned)
        matrix = Weights(w_hat).matrix
        residual = weights.matrix - matrix
        stats = Stats(weights.numel, self.storage_bits(weights.shape, keep),
                      float(np.einsum("ij,ij->", residual, residual)), weights.energy,
                      int(np.count_nonzero(matrix == 0)), int(np.count_nonzero(keep)), quantized.scales)
        return w_hat, stats
