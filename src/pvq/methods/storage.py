"""How a pruned tensor stores where its kept weights are (values and scales are counted by the
methods themselves). Bits for a tensor of a given shape; all but the relative index follow from the
shape alone.

- ``Bitmap()``: one bit per weight.
- ``NMIndex()``: N:M metadata, ceil(log2 M) bits per kept value (2:4: 2 bits, 9 bits per weight
  with FP16 values), as sparse tensor cores store it.
- ``RelativeIndex(bits)``: Deep Compression's sparse format: each stored entry carries its distance
  to the previous one (row-major over the reduction layout) in ``bits`` bits; a longer gap stores
  filler zero entries (value and index). Depends on where the kept weights are.
- ``EntropyBound()``: the information the positions carry, no real encoding: log2 of the number of
  masks the pattern allows, per tensor (unstructured: n H(k / n) with H the binary entropy, an upper
  bound on log2 C(n, k) that it approaches; N:M: log2 C(M, N) per group).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Bitmap:
    data_dependent = False

    def bits(self, pattern, shape, mask=None, value_bits: int = 0) -> float:
        return float(pattern.numel(shape))


@dataclass(frozen=True)
class NMIndex:
    data_dependent = False

    def bits(self, pattern, shape, mask=None, value_bits: int = 0) -> float:
        return float(pattern.kept_count(shape) * math.ceil(math.log2(pattern.m)))


@dataclass(frozen=True)
class EntropyBound:
    data_dependent = False

    def bits(self, pattern, shape, mask=None, value_bits: int = 0) -> float:
        return float(pattern.entropy_bits(shape))


@dataclass(frozen=True)
class RelativeIndex:
    index_bits: int = 4
    data_dependent = True

    def __post_init__(self) -> None:
        if not isinstance(self.index_bits, (int, np.integer)) or not 1 <= self.index_bits <= 32:
            raise ValueError(f"RelativeIndex: index_bits must be an integer in 1..32, got {self.index_bits!r}")

    def bits(self, pattern, shape, mask=None, value_bits: int = 0) -> float:
        """index_bits per kept weight, plus (value_bits + index_bits) per filler entry."""
        if mask is None:
            raise ValueError("RelativeIndex storage depends on where the kept weights are: read it from "
                             "apply(w)'s Stats, not bits_per_weight(shape)")
        kept = np.flatnonzero(np.asarray(mask).ravel())
        return float(self.index_bits * kept.size + filler_entries(kept, self.index_bits) * (value_bits + self.index_bits))


def filler_entries(kept: np.ndarray, index_bits: int) -> int:
    """Fillers a relative index needs: a kept weight at distance D > 2^index_bits from the previous
    stored entry (the first from position -1) needs ceil(D / 2^index_bits) - 1 of them."""
    if kept.size == 0:
        return 0
    distance = np.diff(np.asarray(kept, dtype=np.int64), prepend=-1)
    span = 2**index_bits
    return int(np.sum(-(-distance // span) - 1))


def binary_entropy(p: float) -> float:
    """H(p) = -p log2 p - (1 - p) log2 (1 - p) bits, 0 at p = 0 and 1."""
    if p <= 0.0 or p >= 1.0:
        return 0.0
    return -p * math.log2(p) - (1.0 - p) * math.log2(1.0 - p)
