"""Quantization vs magnitude pruning on one model's weight tensors, per tensor and bit width.

For b bits: the MSE-optimal per-tensor symmetric quantizer (``pvq.quantize.fit_scales``), its natural
sparsity (the share of weights that quantize to exactly zero), and magnitude pruning at the sparsity
with the same idealised size, 1 - b/B (B = baseline bits, 16 for FP16), and at the sparsity that also
pays for its mask (one bit per weight: B (1 - c) + 1 = b). SNR_dB = 10 log10(sum w^2 / sum (w - w_hat)^2).

The errors are those of ``int<b>/per-tensor/mse/scale-fp64`` and ``prune/u<c>/values-fp64`` as
``pvq.methods`` values (the same functions of the sorted tensor, tests/test_zoo_methods.py); the sweep
calls those functions for all bit widths at once instead of applying each method value, which builds
every w_hat (about 9x slower on Lite0, benchmarks/bench_zoo_methods.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from pvq.metrics import kurtosis, snr_db
from pvq.prune import sparsity_for_bits
from pvq.quantize import fit_scales
from pvq.sorted_weights import SortedWeights
from pvq.zoo.artifacts import ZOO_SWEEP

COLUMNS = list(ZOO_SWEEP.columns)


def masked_sparsity(bits: int, baseline_bits: int) -> float:
    """Sparsity c at which pruning with a 1-bit-per-weight mask stores b bits per weight: B (1 - c) + 1 = b."""
    return min(1.0, 1.0 - (bits - 1) / baseline_bits)


@np.errstate(invalid="ignore")
def sweep_tensor(w, bits: Iterable[int], baseline_bits: int, candidates: int) -> list[dict]:
    """One row per bit width for the tensor ``w`` (any shape): the columns of COLUMNS after ``numel``."""
    weights = SortedWeights(w)
    constant = weights.size == 0 or weights.values[0] == weights.values[-1]
    kurt = np.nan if constant else kurtosis(weights.values)  # undefined without spread
    fits = fit_scales(weights, bits, candidates)
    sparsities = [(sparsity_for_bits(fit.bits, baseline_bits), masked_sparsity(fit.bits, baseline_bits))
                  for fit in fits]
    pruned = weights.pruning_errors([round(c * weights.size) for pair in sparsities for c in pair]).reshape(-1, 2)
    rows = []
    for fit, (sparsity, sparsity_masked), errors in zip(fits, sparsities, pruned):
        rows.append({  # an all-zero tensor gives 0/0 SNRs: recorded as NaN, not dropped
            "kurtosis": kurt, "bits": fit.bits, "sparsity": sparsity, "quant_scale": fit.scale,
            "quant_snr_db": float(snr_db(weights.energy, fit.squared_error)),
            "natural_sparsity": weights.zero_count(fit.scale) / weights.size,
            "prune_snr_db": float(snr_db(weights.energy, errors[0])),
            "prune_sparsity_masked": sparsity_masked,
            "prune_snr_db_masked": float(snr_db(weights.energy, errors[1])),
        })
    return rows


def sweep_model(model: str, tensors: dict[str, np.ndarray], bits: Iterable[int], baseline_bits: int,
                candidates: int, progress: Callable[[str], None] | None = None,
                workers: int = 1) -> pd.DataFrame:
    """The sweep of every tensor of ``model`` (key -> array), rows ordered as the tensors, then bits.

    ``workers`` threads sweep tensors side by side, handed out largest and smallest alternately: the
    large ones' sorting and searching release the GIL, the small ones are mostly Python that holds
    it, so the two overlap, and no thread is left with a big tensor at the end. Every tensor is
    independent, so the numbers do not depend on it.
    """
    bits = list(bits)
    by_size = sorted(tensors, key=lambda name: -np.size(tensors[name]))
    order = [by_size[i // 2] if i % 2 == 0 else by_size[-1 - i // 2] for i in range(len(by_size))]
    rows, start = [], time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        swept = {name: pool.submit(sweep_tensor, tensors[name], bits, baseline_bits, candidates) for name in order}
        for i, (name, w) in enumerate(tensors.items(), 1):
            shape = "x".join(str(d) for d in np.shape(w))
            rows += [{"model": model, "tensor": name, "shape": shape, "numel": int(np.size(w)), **row}
                     for row in swept[name].result()]
            if progress is not None:
                progress(f"{model}: {i}/{len(tensors)} tensors ({name}, {np.size(w)} weights), "
                         f"{time.perf_counter() - start:.1f} s")
    return pd.DataFrame(rows, columns=COLUMNS)
