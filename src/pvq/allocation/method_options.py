"""The allocation's options as compression methods (``pvq.methods``): every configured method on every
tensor, with its squared error and its exact storage.

An option's error is sum (w - w_hat)^2 in float64 of ``method.apply(w)``; its size is the bits the
stored tensor needs as ``pvq.methods`` counts them (values, every scale at its own bit width, masks or
N:M metadata, a tensor scale), which is ``method.bits_per_weight(shape) * numel`` for every method
whose storage follows from the shape, and the tensor's own count for a relative index. The knapsack
counts whole bits: a fractional count (the entropy bound of a mask) is rounded up. Nothing here asks
which method it holds: a new spec in the config is a new option.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from pvq.allocation.options import options_table
from pvq.methods import Weights

COLUMNS = ["tensor", "numel", "energy", "spec", "family", "bits_per_weight", "squared_error", "storage_bits"]


def whole_bits(bits: float) -> int:
    """The integer number of bits a storage count needs: the count itself when it is whole (up to
    float rounding of a sum of integers), else its ceiling."""
    nearest = round(bits)
    return int(nearest) if abs(bits - nearest) <= 1e-6 * max(1.0, abs(bits)) else int(math.ceil(bits))


def method_tensor_options(w, methods: Mapping[str, object]) -> list[dict]:
    """One row per method for tensor ``w`` (any shape): spec, family, bits_per_weight, squared_error,
    storage_bits."""
    weights = Weights(w)
    rows = []
    for spec, method in methods.items():
        _, stats = method.apply(weights)
        storage = whole_bits(stats.storage_bits)
        rows.append({"spec": spec, "family": method.family, "bits_per_weight": storage / weights.numel,
                     "squared_error": stats.squared_error, "storage_bits": storage})
    return rows


def method_model_options(tensors: Mapping[str, np.ndarray], methods: Mapping[str, object], workers: int = 1,
                         progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Every tensor's options (COLUMNS), tensors and methods in the given order; tensors are
    independent, so ``workers`` threads do not change the numbers."""
    if not methods:
        raise ValueError("no methods to allocate: give at least one method spec")
    return options_table(tensors, lambda w: method_tensor_options(w, methods), COLUMNS, workers, progress, "methods")
