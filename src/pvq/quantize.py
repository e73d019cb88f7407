"""Symmetric uniform (integer) quantization: w_hat = s * clip(round(w / s), -2^(b-1), 2^(b-1) - 1)."""

from __future__ import annotations

import numpy as np


def grid_limits(bits: int) -> tuple[int, int]:
    """Integer range of a signed b-bit grid: (-2^(b-1), 2^(b-1) - 1)."""
    if bits < 1:
        raise ValueError(f"bits must be >= 1, got {bits}")
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def quantize_symmetric(w, scale: float, bits: int) -> np.ndarray:
    """Round to nearest (ties to even, as torch) on the scaled grid, clipping to the b-bit range."""
    lo, hi = grid_limits(bits)
    return scale * np.clip(np.round(np.asarray(w) / scale), lo, hi)
