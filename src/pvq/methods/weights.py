"""One weight tensor and the views every method reads, each computed once on first use, so a sweep
that applies many methods to a tensor sorts and reshapes it once."""

from __future__ import annotations

from functools import cached_property

import numpy as np

from pvq.methods.layout import reduction_matrix
from pvq.sorted_weights import SortedWeights

CACHED_GRANULARITIES = 2


class Weights:
    """A float tensor (any shape) with its reduction-layout matrix, energy, sorted values and the
    scaling units of each granularity. Not shared between threads."""

    def __init__(self, w) -> None:
        array = np.asarray(w)
        if not np.issubdtype(array.dtype, np.floating):
            raise ValueError(f"weights must be a float array, got dtype {array.dtype}")
        if array.ndim == 0:
            raise ValueError("weights must have at least one dimension, got a scalar")
        if not np.isfinite(array).all():
            raise ValueError(f"weights of shape {array.shape} hold NaN or infinite values")
        self.array = array
        self.shape = array.shape
        self.numel = int(array.size)
        self._units: dict = {}  # the last CACHED_GRANULARITIES granularities' units, oldest first

    @classmethod
    def of(cls, w) -> Weights:
        return w if isinstance(w, Weights) else cls(w)

    @cached_property
    def matrix(self) -> np.ndarray:
        """(O, K) float64 reduction layout (``pvq.methods.layout``)."""
        return np.ascontiguousarray(reduction_matrix(self.array), dtype=np.float64)

    @cached_property
    def energy(self) -> float:
        flat = self.matrix.ravel()
        return float(np.dot(flat, flat))

    @cached_property
    def sorted(self) -> SortedWeights:
        return SortedWeights(self.array)

    def units(self, granularity) -> Units:
        """The tensor cut into ``granularity``'s scaling units (kept for the last few granularities
        asked for: each holds several copies of the tensor)."""
        units = self._units.pop(granularity, None)
        if units is None:
            whole = self.sorted if granularity.unit_count(self.shape) == 1 else None
            units = Units(granularity.split(self.matrix), whole)
        self._units[granularity] = units
        while len(self._units) > CACHED_GRANULARITIES:
            self._units.pop(next(iter(self._units)))
        return units


class Units:
    """Scaling units as rows of a (U, L) float64 array (zero padding contributes no error at any
    scale: zero is on every grid), with what the scale searches reuse."""

    def __init__(self, values: np.ndarray, whole: SortedWeights | None = None) -> None:
        self.values = np.ascontiguousarray(values, dtype=np.float64)
        self.whole = whole  # the sorted tensor, when it is one unit
        self.count, self.length = self.values.shape

    def rows(self, index: np.ndarray) -> Units:
        """The units ``index`` (an integer array) alone."""
        return Units(self.values[index])

    @cached_property
    def values32(self) -> np.ndarray:
        """float32 copy for candidate scans (half the memory traffic; sums carried in float64)."""
        return self.values.astype(np.float32)

    @cached_property
    def amax(self) -> np.ndarray:
        return np.abs(self.values).max(axis=1) if self.length else np.zeros(self.count)

    @cached_property
    def magnitudes(self) -> np.ndarray:
        """Each unit's |v| ascending, shape (U, L)."""
        return np.sort(np.abs(self.values), axis=1)

    @cached_property
    def small_energy(self) -> np.ndarray:
        """(U, L + 1): sum of the j smallest v^2 of each unit (column j)."""
        out = np.zeros((self.count, self.length + 1))
        np.cumsum(self.magnitudes**2, axis=1, out=out[:, 1:])
        return out

    @cached_property
    def large_sums(self) -> tuple[np.ndarray, np.ndarray]:
        """(U, L + 1) each: sum of the j largest |v|, and of their squares."""
        descending = self.magnitudes[:, ::-1]
        first, second = np.zeros((2, self.count, self.length + 1))
        np.cumsum(descending, axis=1, out=first[:, 1:])
        np.cumsum(descending**2, axis=1, out=second[:, 1:])
        return first, second
