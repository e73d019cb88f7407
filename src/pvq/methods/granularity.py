"""Which weights share a scale: the whole tensor, one output channel, or a group along the reduction
dimension (``pvq.methods.layout``). A channel whose length is not a multiple of the group size ends
with a shorter group, which still has its own scale (as kernels pad the reduction dimension)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pvq.methods.layout import grouped, matrix_shape, ungrouped


@dataclass(frozen=True)
class PerTensor:
    """One scale for the whole tensor."""

    def unit_count(self, shape) -> int:
        matrix_shape(shape)
        return 1

    def split(self, matrix: np.ndarray) -> np.ndarray:
        """The scaling units as rows of a (units, length) array (zero padding where needed)."""
        return matrix.reshape(1, -1)

    def merge(self, units: np.ndarray, rows: int, k: int) -> np.ndarray:
        return units.reshape(rows, k)


@dataclass(frozen=True)
class PerChannel:
    """One scale per output channel (a row of the reduction layout)."""

    def unit_count(self, shape) -> int:
        return matrix_shape(shape)[0]

    def split(self, matrix: np.ndarray) -> np.ndarray:
        return matrix

    def merge(self, units: np.ndarray, rows: int, k: int) -> np.ndarray:
        return units


@dataclass(frozen=True)
class PerGroup:
    """One scale per ``size`` consecutive weights of a channel along the reduction dimension."""

    size: int

    def __post_init__(self) -> None:
        if not isinstance(self.size, (int, np.integer)) or isinstance(self.size, bool) or self.size < 1:
            raise ValueError(f"PerGroup: size must be a positive integer, got {self.size!r}")

    def unit_count(self, shape) -> int:
        rows, k = matrix_shape(shape)
        return rows * -(-k // self.size)

    def split(self, matrix: np.ndarray) -> np.ndarray:
        return grouped(matrix, self.size)

    def merge(self, units: np.ndarray, rows: int, k: int) -> np.ndarray:
        return ungrouped(units, rows, k)
