"""Magnitude pruning and the compression ratio it is compared at."""

from __future__ import annotations

import numpy as np


def sparsity_for_bits(bits: int, baseline_bits: int = 16) -> float:
    """Sparsity with the same idealised size as b-bit quantization of a ``baseline_bits`` model.

    The paper's FP16 baseline: INT8 ~ 50% sparsity, INT4 ~ 75%, INT2 ~ 87.5% (mask not counted).
    """
    return 1.0 - bits / baseline_bits


def magnitude_mask(w, sparsity: float) -> np.ndarray:
    """Boolean mask keeping the n - round(sparsity * n) largest-magnitude entries (ties by index)."""
    w = np.asarray(w)
    n_pruned = int(round(sparsity * w.size))
    mask = np.ones(w.size, dtype=bool)
    if n_pruned:
        order = np.argsort(np.abs(w).ravel(), kind="stable")
        mask[order[:n_pruned]] = False
    return mask.reshape(w.shape)
