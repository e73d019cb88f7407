"""A pruner as a value: which weights to zero (pattern, criterion), how the kept ones and their
positions are stored.

Patterns, on the reduction layout (``pvq.methods.layout``):
- ``Unstructured(sparsity)``: the round(sparsity n) smallest weights of the tensor zeroed.
- ``NM(n, m)``: in every group of m consecutive weights of a channel along the reduction dimension
  (input channels, then kernel positions: as sparse tensor cores read them), the n largest kept.
  A channel whose length is not a multiple of m ends with a shorter group that keeps min(n, its
  length) weights (the zero padding a kernel adds is never kept).
Ties in magnitude: the weight earlier in the reduction layout is kept. The kept weights are stored
in ``values`` (FP16 by default, the paper's baseline; rounded to it), positions as ``positions`` says.
Unstructured pruning's error is the energy of the pruned weights from the sorted tensor
(``SortedWeights.pruning_error``, the zoo sweep's) plus the kept values' rounding: one evaluation of
magnitude pruning in pvq.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pvq.methods.grids import FP16, Float
from pvq.methods.layout import from_reduction_matrix, grouped, matrix_shape, ungrouped
from pvq.methods.stats import Stats
from pvq.methods.storage import Bitmap, EntropyBound, NMIndex, RelativeIndex, binary_entropy
from pvq.methods.weights import Weights


@dataclass(frozen=True)
class Magnitude:
    """Keep the weights of largest |w|."""

    def score(self, matrix: np.ndarray) -> np.ndarray:
        return np.abs(matrix)


@dataclass(frozen=True)
class Unstructured:
    sparsity: float

    def __post_init__(self) -> None:
        if isinstance(self.sparsity, bool) or not isinstance(self.sparsity, (int, float, np.floating)) \
                or not 0.0 <= float(self.sparsity) < 1.0:
            raise ValueError(f"Unstructured: sparsity must be a number in [0, 1), got {self.sparsity!r}")
        object.__setattr__(self, "sparsity", float(self.sparsity))

    @staticmethod
    def numel(shape) -> int:
        rows, k = matrix_shape(shape)
        return rows * k

    def pruned_count(self, shape) -> int:
        return int(round(self.sparsity * self.numel(shape)))

    def kept_count(self, shape) -> int:
        return self.numel(shape) - self.pruned_count(shape)

    def entropy_bits(self, shape) -> float:
        n = self.numel(shape)
        return n * binary_entropy(self.pruned_count(shape) / n) if n else 0.0

    def keep(self, score: np.ndarray) -> np.ndarray:
        """Boolean keep mask of the (O, K) scores: all but the pruned_count lowest (ties: later pruned last)."""
        flat = score.ravel()
        pruned = self.pruned_count(score.shape)
        keep = np.ones(flat.size, dtype=bool)
        if pruned:
            threshold = np.partition(flat, pruned - 1)[pruned - 1]
            below = flat < threshold
            keep[below] = False
            tied = np.flatnonzero(flat == threshold)[: pruned - int(below.sum())]  # earliest ties go
            keep[tied] = False
        return keep.reshape(score.shape)


@dataclass(frozen=True)
class NM:
    n: int
    m: int

    def __post_init__(self) -> None:
        for name, value in (("n", self.n), ("m", self.m)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ValueError(f"NM: {name} must be an integer, got {value!r}")
        if not 1 <= self.n < self.m <= 64:
            raise ValueError(f"NM: need 1 <= n < m <= 64 (n kept of every m), got {self.n}:{self.m}")

    @staticmethod
    def numel(shape) -> int:
        rows, k = matrix_shape(shape)
        return rows * k

    def _groups(self, shape) -> tuple[int, int, int]:
        """(rows, full groups per row, length of the short last group or 0)."""
        rows, k = matrix_shape(shape)
        return rows, k // self.m, k % self.m

    def kept_count(self, shape) -> int:
        rows, full, rest = self._groups(shape)
        return rows * (full * self.n + min(self.n, rest))

    def entropy_bits(self, shape) -> float:
        rows, full, rest = self._groups(shape)
        return rows * (full * math.log2(math.comb(self.m, self.n)) + math.log2(math.comb(rest, min(self.n, rest))))

    def keep(self, score: np.ndarray) -> np.ndarray:
        rows, k = score.shape
        groups = grouped(score, self.m)
        padded = np.zeros(groups.shape, dtype=bool)  # the padding of a short group: never kept
        if k % self.m:
            padded.reshape(rows, -1)[:, k:] = True
        ranked = np.where(padded, -np.inf, groups)
        order = np.argsort(-ranked, axis=1, kind="stable")[:, : self.n]  # largest first, earlier on ties
        keep = np.zeros(groups.shape, dtype=bool)
        np.put_along_axis(keep, order, True, axis=1)
        return ungrouped(keep & ~padded, rows, k)


PATTERNS = (Unstructured, NM)
POSITIONS = (Bitmap, NMIndex, RelativeIndex, EntropyBound)


@dataclass(frozen=True)
class Pruner:
    """``pattern`` (``Unstructured(sparsity)`` or ``NM(n, m)``), ``criterion`` (``Magnitude()``),
    ``positions`` (default: a bitmap, or N:M metadata for N:M) and ``values`` (default FP16)."""

    pattern: Unstructured | NM
    criterion: Magnitude = Magnitude()
    positions: Bitmap | NMIndex | RelativeIndex | EntropyBound | None = None
    values: Float = FP16

    family = "prune"

    def __post_init__(self) -> None:
        if not isinstance(self.pattern, PATTERNS):
            raise ValueError(f"Pruner: pattern must be Unstructured(sparsity) or NM(n, m), got {self.pattern!r}")
        if not isinstance(self.criterion, Magnitude):
            raise ValueError(f"Pruner: criterion must be Magnitude(), got {self.criterion!r}")
        if self.positions is None:
            object.__setattr__(self, "positions", NMIndex() if isinstance(self.pattern, NM) else Bitmap())
        if not isinstance(self.positions, POSITIONS):
            raise ValueError(f"Pruner: positions must be one of {[p.__name__ for p in POSITIONS]}, got {self.positions!r}")
        if isinstance(self.positions, NMIndex) and not isinstance(self.pattern, NM):
            raise ValueError("Pruner: N:M metadata (NMIndex) stores N:M patterns only; use Bitmap(), "
                             "RelativeIndex(bits) or EntropyBound() for unstructured pruning")
        if not isinstance(self.values, Float):
            raise ValueError(f"Pruner: values must be a Float format (FP16, BF16, FP32, ...), got {self.values!r}")

    @property
    def spec(self) -> str:
        from pvq.methods.spec import format_spec

        return format_spec(self)

    def position_bits(self, shape, mask=None, value_bits: int | None = None) -> float:
        bits = self.values.bits if value_bits is None else value_bits
        return self.positions.bits(self.pattern, shape, mask, bits)

    def storage_bits(self, shape, mask=None) -> float:
        return self.pattern.kept_count(shape) * self.values.bits + self.position_bits(shape, mask)

    def bits_per_weight(self, shape) -> float:
        return self.storage_bits(shape) / self.pattern.numel(shape)

    def keep(self, weights: Weights) -> np.ndarray:
        """Boolean keep mask on the reduction layout (O, K)."""
        return self.pattern.keep(self.criterion.score(weights.matrix))

    def apply(self, w) -> tuple[np.ndarray, Stats]:
        weights = Weights.of(w)
        keep = self.keep(weights)
        matrix = np.where(keep, self.values.quantize(weights.matrix), 0.0)
        if isinstance(self.pattern, Unstructured):  # the zoo sweep's pruned energy, plus the kept values' rounding
            rounding = np.where(keep, weights.matrix - matrix, 0.0)
            error = weights.sorted.pruning_error(self.pattern.pruned_count(weights.shape)) + float(
                np.einsum("ij,ij->", rounding, rounding))
        else:
            residual = weights.matrix - matrix
            error = float(np.einsum("ij,ij->", residual, residual))
        stats = Stats(weights.numel, self.storage_bits(weights.shape, keep), error, weights.energy,
                      int(np.count_nonzero(matrix == 0)), int(np.count_nonzero(keep)))
        return from_reduction_matrix(matrix, weights.shape), stats
