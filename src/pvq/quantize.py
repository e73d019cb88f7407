"""Symmetric uniform (integer) quantization: w_hat = s * clip(round(w / s), -2^(b-1), 2^(b-1) - 1)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar


def grid_limits(bits: int) -> tuple[int, int]:
    """Integer range of a signed b-bit grid: (-2^(b-1), 2^(b-1) - 1)."""
    if bits < 1:
        raise ValueError(f"bits must be >= 1, got {bits}")
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def quantize_symmetric(w, scale: float, bits: int) -> np.ndarray:
    """Round to nearest (ties to even, as torch) on the scaled grid, clipping to the b-bit range."""
    lo, hi = grid_limits(bits)
    return scale * np.clip(np.round(np.asarray(w) / scale), lo, hi)


def mse_optimal_scale(w, bits: int, candidates: int = 100) -> float:
    """Scale s minimising sum (w - quantize_symmetric(w, s, bits))^2.

    Straightforward reference: a grid of clipping ranges over (0, max|w|], then a golden-section
    refinement between the best candidate's neighbours.
    """
    w = np.asarray(w, dtype=np.float64).ravel()
    _, hi = grid_limits(bits)
    top = np.abs(w).max()
    if top == 0:
        return 1.0
    scales = top * np.arange(1, candidates + 1) / candidates / max(hi, 1)
    errors = [np.sum((w - quantize_symmetric(w, s, bits)) ** 2) for s in scales]
    best = int(np.argmin(errors))
    lo_s = scales[max(best - 1, 0)] if best > 0 else scales[0] / 2
    hi_s = scales[min(best + 1, candidates - 1)]
    found = minimize_scalar(lambda s: np.sum((w - quantize_symmetric(w, s, bits)) ** 2),
                            bounds=(lo_s, hi_s), method="bounded")
    return float(found.x) if found.fun < errors[best] else float(scales[best])
