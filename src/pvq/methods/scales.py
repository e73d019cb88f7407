"""How a scaling unit's scale is chosen, and where the scale is stored (its format).

Rules, each a small value with ``fit(units, grid, scale_format, base) -> scales`` (one per unit, each
``base`` times a value of ``scale_format``; ``base`` is a second-level per-tensor scale, 1 without):
- ``Max()``: max|v| onto the grid's largest level, rounded to the format (nearest, ties to even).
- ``MSE()``: the scale of the format minimising the unit's squared error. Formats of at most 8 bits
  (E8M0, E4M3) are searched exhaustively between two proven bounds: exact (for E8M0, the
  MSE-optimal power of two). Wider formats (FP16, FP32, FP64): a per-tensor INT grid takes
  ``pvq.quantize.fit_scales`` (the zoo stage's search), any other case a scan over the bracket
  (``pvq.methods.search.scan``, capped at ``SCAN_UPPER`` max|v| / top), then the better of the
  format's two values around the result.
- ``SharedExponent()``: OCP Microscaling v1.0: X = 2^(floor(log2 max|v|) - emax_elem), emax_elem the
  exponent of the element format's largest normal value, in E8M0 (clamped to 2^-127 .. 2^127);
  elements then round to nearest and saturate at the largest normal value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pvq.methods import search
from pvq.methods.grids import E8M0, Float, Int
from pvq.quantize import fit_scales


def enumerable(scale_format) -> bool:
    """Whether the MSE search tries every value of ``scale_format`` (at most 8 bits) rather than
    rounding a continuous optimum."""
    return scale_format.bits <= 8


def max_scales(units, grid, scale_format, base: float) -> np.ndarray:
    """max|v| / top rounded to the format (an all-zero unit gets ``base``)."""
    target = np.where(units.amax > 0, units.amax / (grid.top * base), 1.0)
    return base * np.maximum(scale_format.quantize(target), scale_format.smallest)


@dataclass(frozen=True)
class Max:
    """The largest magnitude onto the grid's largest level (no clipping before format rounding)."""

    def fit(self, units, grid, scale_format, base: float = 1.0) -> np.ndarray:
        return max_scales(units, grid, scale_format, base)


# The scan of wide formats: points over the bracket, local minima refined, Lloyd steps each, and the
# cap on the bracket (a multiple of max|v| / top). tests/test_methods_scales.py measures the result
# against a dense scan.
SCAN_CANDIDATES = 32
SCAN_SEEDS = 2
LLOYD_STEPS = 3
SCAN_UPPER = 1.25


@dataclass(frozen=True)
class MSE:
    """The format's scale of least squared error per unit (see the module docstring)."""

    def fit(self, units, grid, scale_format, base: float = 1.0) -> np.ndarray:
        reference = max_scales(units, grid, scale_format, base)
        error = search.errors(units.values, reference[:, None], grid)[:, 0]
        if units.length == 0:
            return reference
        low = search.clipping_floor(units, grid, error)
        high = search.zeroing_ceiling(units, grid, error)
        if enumerable(scale_format):
            levels = base * scale_format.positive_levels()
            return search.exhaustive(units, grid, levels, low, high, reference, error)[0]
        if units.whole is not None and isinstance(grid, Int):
            found = np.array([fit_scales(units.whole, [grid.bits])[0].scale])
            error = np.full(1, np.inf)  # never worse than its grid, whose last point is the Max rule
        else:
            cap = SCAN_UPPER * np.where(units.amax > 0, units.amax, grid.top) / grid.top
            found = search.scan(units, grid, low, np.minimum(high, cap), SCAN_CANDIDATES, SCAN_SEEDS,
                                LLOYD_STEPS)[0]
        around = base * np.stack((scale_format.floor(found / base), scale_format.ceil(found / base)), axis=1)
        tried = search.errors(units.values, around, grid)
        pick = np.argmin(tried, axis=1)
        rows = np.arange(units.count)
        return np.where(tried[rows, pick] <= error, around[rows, pick], reference)


@dataclass(frozen=True)
class SharedExponent:
    """OCP MX v1.0 shared scale X = 2^(floor(log2 max|v|) - emax_elem), in E8M0."""

    def fit(self, units, grid, scale_format, base: float = 1.0) -> np.ndarray:
        if not isinstance(grid, Float) or not isinstance(scale_format, E8M0) or base != 1.0:
            raise ValueError("SharedExponent: the OCP MX rule needs a Float element grid, an E8M0 scale and "
                             "no tensor scale")
        _, exponent = np.frexp(units.amax)  # max|v| = f 2^exponent, f in [0.5, 1): floor(log2) = exponent - 1
        shared = np.clip(exponent - 1 - grid.emax, scale_format.emin, scale_format.emax)
        return np.where(units.amax > 0, np.ldexp(1.0, shared), 1.0)
