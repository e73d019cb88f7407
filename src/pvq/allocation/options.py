"""Every way the allocation may store one weight tensor of n values, with its error and its size.

Choices (B = baseline bits, FP16 by default; k = round(c n) weights pruned, the smallest in magnitude):
- ``fp16``: every weight rounded to float16; storage B n.
- ``quant`` at b bits: the MSE-optimal per-tensor symmetric quantizer (``pvq.quantize.fit_scales``);
  storage b n + the scale.
- ``prune`` at sparsity c: the n - k largest weights kept in float16; storage B (n - k) + the mask.
- ``prune_quant`` at (c, b) (Deep Compression's order): prune, then quantize the survivors with their
  own MSE-optimal scale; storage b (n - k) + the scale + the mask.
Errors are squared errors sum (w - w_hat)^2 in float64 over the whole tensor (pruned weights count
w^2). The mask is a bitmap (1 bit per weight), a relative index (Deep Compression: each stored entry
carries its distance to the previous one in ``index_bits`` bits; a longer gap costs filler entries),
or free (the paper's idealised ratio).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pvq.prune import magnitude_mask
from pvq.quantize import fit_scales
from pvq.sorted_weights import SortedWeights

CHOICES = ("fp16", "quant", "prune", "prune_quant")
MASK_ENCODINGS = ("bitmap", "relative_index", "none")
COLUMNS = ["tensor", "numel", "energy", "choice", "bits", "sparsity", "squared_error", "storage_bits"]


@dataclass(frozen=True)
class Storage:
    """How many bits a stored tensor costs: value bits, one scale per quantized tensor, the mask. No
    defaults here: they live in workflow/schemas/ (``from_config`` reads the validated config)."""

    baseline_bits: int
    scale_bits: int
    mask_encoding: str
    index_bits: int

    @classmethod
    def from_config(cls, config: dict) -> Storage:
        """From the validated config (schema defaults filled in): baseline_bits and the allocation section."""
        section = config["allocation"]
        return cls(config["baseline_bits"], section["scale_bits"], section["mask_encoding"], section["index_bits"])

    def __post_init__(self) -> None:
        if self.mask_encoding not in MASK_ENCODINGS:
            raise ValueError(f"mask_encoding must be one of {MASK_ENCODINGS}, got {self.mask_encoding!r}")
        if self.index_bits < 1:
            raise ValueError(f"index_bits must be >= 1, got {self.index_bits}")

    def mask_bits(self, mask: np.ndarray | None, numel: int, value_bits: int) -> int:
        """Bits the positions of the kept weights cost (``mask``: the keep mask, needed for relative_index)."""
        if self.mask_encoding == "none":
            return 0
        if self.mask_encoding == "bitmap":
            return int(numel)
        kept = np.flatnonzero(np.asarray(mask).ravel())
        return self.index_bits * kept.size + filler_entries(kept, self.index_bits) * (value_bits + self.index_bits)


def filler_entries(kept: np.ndarray, index_bits: int) -> int:
    """Filler entries a relative index needs: a kept weight at distance D > 2^index_bits from the
    previous stored entry (the first one from position -1) needs ceil(D / 2^index_bits) - 1 fillers."""
    if kept.size == 0:
        return 0
    distance = np.diff(np.asarray(kept, dtype=np.int64), prepend=-1)
    span = 2**index_bits
    return int(np.sum(-(-distance // span) - 1))


def tensor_options(w, bits: Iterable[int], sparsities: Iterable[float], storage: Storage,
                   candidates: int = 100) -> list[dict]:
    """One row per choice for tensor ``w`` (any shape): choice, bits, sparsity, squared_error, storage_bits."""
    w, bits = np.asarray(w), list(bits)
    weights = SortedWeights(w)
    n, base = weights.size, storage.baseline_bits
    values = weights.values
    rounding = np.zeros(n + 1)  # prefix sums of the float16 rounding error, in sorted order
    np.cumsum((values - values.astype(np.float16).astype(np.float64)) ** 2, out=rounding[1:])
    rows = [{"choice": "fp16", "bits": base, "sparsity": 0.0, "squared_error": float(rounding[-1]),
             "storage_bits": base * n}]
    for b, fit in zip(bits, fit_scales(weights, bits, candidates)):
        rows.append({"choice": "quant", "bits": int(b), "sparsity": 0.0, "squared_error": fit.squared_error,
                     "storage_bits": b * n + storage.scale_bits})
    for c in sparsities:
        k = int(round(c * n))
        start = weights.window_start(k)
        pruned_error = float(weights.p2[start + k] - weights.p2[start])
        kept_rounding = float(rounding[-1] - (rounding[start + k] - rounding[start]))
        mask = magnitude_mask(w, c) if storage.mask_encoding == "relative_index" else None
        rows.append({"choice": "prune", "bits": base, "sparsity": float(c),
                     "squared_error": pruned_error + kept_rounding,
                     "storage_bits": base * (n - k) + storage.mask_bits(mask, n, base)})
        survivors = SortedWeights(np.concatenate((values[:start], values[start + k:])))
        for b, fit in zip(bits, fit_scales(survivors, bits, candidates)):
            rows.append({"choice": "prune_quant", "bits": int(b), "sparsity": float(c),
                         "squared_error": pruned_error + fit.squared_error,
                         "storage_bits": b * (n - k) + storage.scale_bits + storage.mask_bits(mask, n, b)})
    return rows


def model_options(tensors: dict[str, np.ndarray], bits: Iterable[int], sparsities: Iterable[float],
                  storage: Storage, candidates: int = 100, workers: int = 1,
                  progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Every tensor's options (COLUMNS), tensors in the given order; independent per tensor, so
    ``workers`` threads do not change the numbers."""
    bits, sparsities = list(bits), list(sparsities)
    return options_table(tensors, lambda w: tensor_options(w, bits, sparsities, storage, candidates), COLUMNS,
                         workers, progress, "options")


def options_table(tensors: Mapping[str, np.ndarray], rows_of: Callable[[np.ndarray], list[dict]],
                  columns: list[str], workers: int, progress: Callable[[str], None] | None,
                  what: str) -> pd.DataFrame:
    """``rows_of(w)`` for every tensor (in ``workers`` threads), each row with the tensor's name, size
    and energy, in the given tensor order; ``what`` names a row in the progress lines."""
    frames = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for i, ((name, w), rows) in enumerate(zip(tensors.items(), pool.map(rows_of, tensors.values())), 1):
            w64 = np.asarray(w, dtype=np.float64)
            frame = pd.DataFrame(rows)
            frame.insert(0, "energy", float(np.sum(w64 * w64)))
            frame.insert(0, "numel", int(w64.size))
            frame.insert(0, "tensor", name)
            frames.append(frame)
            if progress is not None:
                progress(f"options {i}/{len(tensors)}: {name} ({w64.size} weights, {len(rows)} {what})")
    return pd.concat(frames, ignore_index=True)[columns]
