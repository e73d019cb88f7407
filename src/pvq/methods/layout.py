"""The reduction layout: a weight tensor as the matrix a matrix engine multiplies.

Row o holds output channel o's weights along the reduction dimension, input channels fastest, then
kernel positions (a conv weight (O, I, kh, kw) becomes (O, kh * kw * I): the order implicit-GEMM
kernels and sparse tensor cores read with channels-last activations). A linear weight (O, I) is its
own layout; a 1-d tensor is one row. Groups (scales per group, N:M patterns) run along the rows.
"""

from __future__ import annotations

import numpy as np


def reduction_matrix(w) -> np.ndarray:
    """(O, K) view or copy of ``w`` in the reduction layout."""
    w = np.asarray(w)
    if w.ndim == 0:
        raise ValueError("a weight tensor needs at least one dimension, got a scalar")
    if w.ndim == 1:
        return w.reshape(1, -1)
    if w.ndim == 2:
        return w
    return np.moveaxis(w, 1, -1).reshape(w.shape[0], -1)


def from_reduction_matrix(matrix: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of ``reduction_matrix``: the (O, K) matrix back in the tensor's own ``shape``."""
    shape = tuple(int(d) for d in shape)
    if len(shape) <= 2:
        return matrix.reshape(shape)
    moved = (shape[0], *shape[2:], shape[1])
    return np.moveaxis(matrix.reshape(moved), -1, 1)


def matrix_shape(shape) -> tuple[int, int]:
    """(O, K) of a tensor of ``shape`` in the reduction layout."""
    shape = tuple(int(d) for d in shape)
    if not shape:
        raise ValueError("a weight tensor needs at least one dimension, got shape ()")
    if any(d < 0 for d in shape):
        raise ValueError(f"negative dimension in shape {shape}")
    if len(shape) == 1:
        return 1, shape[0]
    return shape[0], int(np.prod(shape[1:], dtype=np.int64))


def grouped(matrix: np.ndarray, size: int) -> np.ndarray:
    """(O * ceil(K / size), size): each row cut into groups of ``size``, the last one zero-padded."""
    rows, k = matrix.shape
    groups = -(-k // size)
    if groups * size != k:
        padded = np.zeros((rows, groups * size), dtype=matrix.dtype)
        padded[:, :k] = matrix
        matrix = padded
    return matrix.reshape(rows * groups, size)


def ungrouped(units: np.ndarray, rows: int, k: int) -> np.ndarray:
    """Inverse of ``grouped``: the (O, K) matrix, padding dropped."""
    return units.reshape(rows, -1)[:, :k]
