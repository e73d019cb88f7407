"""A quantizer as a value: a grid, which weights share a scale, how the scale is chosen and stored.

w_hat = s Q(w / s) per scaling unit, Q the grid's rounding (nearest, ties to even, saturating). With a
``tensor_scale`` format (NVFP4) every unit's scale is s_t times a value of ``scale_format``, s_t =
max|w| / (grid top x scale-format top) rounded to ``tensor_scale``: the unit scales then span the
scale format's range. Storage: every weight's code (grid bits), every unit's scale (its format's
bits) and the tensor scale; natural zeros are stored as codes like any other value. A per-tensor INT
quantizer's error and zeros come from the sorted tensor (``pvq.quantize.squared_errors``,
``SortedWeights.zero_count``), as the zoo sweep's do: one evaluation of that method in pvq.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pvq.methods.granularity import PerChannel, PerGroup, PerTensor
from pvq.methods.grids import E8M0, FP16, Float, Int
from pvq.methods.layout import from_reduction_matrix, matrix_shape
from pvq.methods.scales import MSE, ScaleRule, SharedExponent
from pvq.methods.stats import Stats
from pvq.methods.weights import Weights
from pvq.quantize import squared_errors

GRIDS = (Int, Float)
GRANULARITIES = (PerTensor, PerChannel, PerGroup)
SCALE_FORMATS = (Float, E8M0)


@dataclass(frozen=True)
class Quantizer:
    """``grid`` (``Int(bits)`` or ``Float(exp, man)``), ``granularity``, scale ``rule``, the
    ``scale_format`` each unit's scale is stored in, and an optional per-tensor ``tensor_scale``."""

    grid: Int | Float
    granularity: PerTensor | PerChannel | PerGroup = PerTensor()
    rule: ScaleRule = MSE()
    scale_format: Float | E8M0 = FP16
    tensor_scale: Float | None = None

    family = "quant"

    def __post_init__(self) -> None:
        for name, value, kinds in (("grid", self.grid, GRIDS), ("granularity", self.granularity, GRANULARITIES),
                                   ("rule", self.rule, (ScaleRule,)), ("scale_format", self.scale_format, SCALE_FORMATS)):
            if not isinstance(value, kinds):
                raise ValueError(f"Quantizer: {name} must be one of {[k.__name__ for k in kinds]}, got {value!r}")
        if self.grid.bits > 16:
            raise ValueError(f"Quantizer: a weight grid of {self.grid.bits} bits is not a compression; use at most 16")
        if self.tensor_scale is not None and not isinstance(self.tensor_scale, Float):
            raise ValueError(f"Quantizer: tensor_scale must be a Float format or None, got {self.tensor_scale!r}")
        if isinstance(self.rule, SharedExponent) and (
                not isinstance(self.grid, Float) or not isinstance(self.scale_format, E8M0) or self.tensor_scale):
            raise ValueError("Quantizer: the OCP MX shared-exponent rule needs a Float grid, an E8M0 scale format "
                             "and no tensor scale")

    @property
    def bits(self) -> int:
        return self.grid.bits

    @property
    def spec(self) -> str:
        from pvq.methods.spec import format_spec

        return format_spec(self)

    def scale_bits(self, shape) -> int:
        """Bits of every scale a tensor of ``shape`` stores (unit scales and the tensor scale)."""
        tensor = 0 if self.tensor_scale is None else self.tensor_scale.bits
        return self.granularity.unit_count(shape) * self.scale_format.bits + tensor

    def storage_bits(self, shape) -> int:
        rows, k = matrix_shape(shape)
        return rows * k * self.grid.bits + self.scale_bits(shape)

    def bits_per_weight(self, shape) -> float:
        rows, k = matrix_shape(shape)
        return self.storage_bits(shape) / (rows * k)

    def apply(self, w) -> tuple[np.ndarray, Stats]:
        """(w_hat in ``w``'s shape, float64; its Stats)."""
        weights = Weights.of(w)
        units = weights.units(self.granularity)
        base = 1.0
        if self.tensor_scale is not None:
            amax = float(units.amax.max()) if units.count else 0.0
            target = amax / (self.grid.top * self.scale_format.top) if amax > 0 else 1.0
            base = float(np.maximum(self.tensor_scale.quantize(target), self.tensor_scale.smallest))
        scales = self.rule.fit(units, self.grid, self.scale_format, base)
        quantized = self.grid.quantize(units.values / scales[:, None]) * scales[:, None]
        rows, k = weights.matrix.shape
        matrix = self.granularity.merge(quantized, rows, k)
        if units.whole is not None and isinstance(self.grid, Int):  # per-tensor INT: the zoo sweep's numbers
            error = float(squared_errors(units.whole, scales[:1], [self.grid.bits])[0])
            zeros = units.whole.zero_count(float(scales[0]))
        else:
            residual = units.values - quantized
            error, zeros = float(np.einsum("ij,ij->", residual, residual)), int(np.count_nonzero(matrix == 0))
        stats = Stats(weights.numel, self.storage_bits(weights.shape), error, weights.energy, zeros, weights.numel,
                      scales)
        return from_reduction_matrix(matrix, weights.shape), stats
