"""One-shot methods on all output rows of a layer at once: the rows share one Hessian.

A dense conv or linear layer applies every output row to the same inputs, so X^T X (and GPTQ's
inverse Cholesky factor, the column order, the damping) is computed once and each column step
updates all rows together; GPTQ's lazy batching applies the later columns' share of a block's
changes in one matrix product. The arithmetic is that of the per-row functions of pvq.bounds
(tests hold them equal to rounding): :func:`sparsegpt_rows` is :func:`pvq.bounds.sparsegpt_prune`
per row, and with nothing to prune and a grid it is :func:`pvq.bounds.gptq_quant`;
:func:`wanda_rows` is :func:`pvq.bounds.wanda_prune` (no refit) per row. The rows enter through
G = X^T X (n x n; a whole layer's X has up to 10^5 rows), and GPTQ's inverse Cholesky factor comes
from a Cholesky factorisation of the damped G, as in GPTQ (pvq.bounds keeps a square-root form for
the exact small problems; damping makes this one well conditioned). W: (rows x n) in the layer's
column order; keeps, deltas: one per row. A column with G_ii = 0 carries no input (dead).
"""

from __future__ import annotations

import numpy as np

from scipy import linalg

from pvq.bounds.gptq import ORDERS
from pvq.bounds.sparsegpt import BLOCK, check_block
from pvq.quantize import grid_limits


def _checked(G, W, keeps) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    G = np.asarray(G, dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)
    if G.ndim != 2 or W.ndim != 2 or G.shape != (W.shape[1], W.shape[1]):
        raise ValueError(f"G (n x n) and W (rows x n) must share n, got {G.shape} and {W.shape}")
    if not (np.all(np.isfinite(G)) and np.all(np.isfinite(W))):
        raise ValueError("G and W must be finite")
    keeps = np.broadcast_to(np.asarray(keeps), (W.shape[0],)).astype(np.int64)
    if np.any(keeps < 0) or np.any(keeps > W.shape[1]):
        raise ValueError(f"keeps must lie in 0..{W.shape[1]} (the row length), got {keeps.min()}..{keeps.max()}")
    return G, W, keeps


def inverse_cholesky_of(G: np.ndarray, order: str, damp: float) -> tuple[np.ndarray, np.ndarray, float]:
    """(live columns in GPTQ's order, upper U with U^T U = H^-1 on them, lambda), H = G + lambda I,
    lambda = damp * mean of the live diagonal. With P the reversal, the Cholesky factor L of P H P
    gives H = W W^T, W = P L P upper triangular, so U = W^-1."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    if not (np.isfinite(damp) and damp > 0):
        raise ValueError(f"damp must be > 0 for a whole layer's X^T X, got {damp}")
    energy = np.diag(G)
    live = np.flatnonzero(energy > 0)
    sequence = live[np.argsort(-energy[live], kind="stable")] if order == "act" else live
    lam = float(damp * np.mean(energy[live])) if live.size else 0.0
    if not sequence.size:
        return sequence, np.zeros((0, 0)), lam
    H = G[np.ix_(sequence, sequence)] + lam * np.eye(sequence.size)
    L = linalg.cholesky(H[::-1, ::-1], lower=True)
    return sequence, linalg.lapack.dtrtri(L, lower=1)[0][::-1, ::-1], lam


def _lowest(scores: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per row, True at its ``counts[r]`` lowest scores (ties: the earlier column first)."""
    ranks = np.empty_like(scores, dtype=np.int64)
    np.put_along_axis(ranks, np.argsort(scores, axis=1, kind="stable"),
                      np.arange(scores.shape[1])[None, :].repeat(scores.shape[0], 0), axis=1)
    return ranks < counts[:, None]


def sparsegpt_rows(G, W, keeps, deltas=None, bits: int | None = None, order: str = "act", damp: float = 0.01,
                   block: int = BLOCK) -> np.ndarray:
    """SparseGPT on every row (keeps[r] weights kept in row r), rounding the kept ones to the grid
    deltas[r] * z when ``deltas`` and ``bits`` are given (with keeps = n: GPTQ). Returns W_hat."""
    G, W, keeps = _checked(G, W, keeps)
    block = check_block(block)
    rows, n = W.shape
    quantize = deltas is not None or bits is not None
    if quantize:
        if deltas is None or bits is None:
            raise ValueError("quantizing needs both deltas and bits")
        deltas = np.broadcast_to(np.asarray(deltas, dtype=np.float64), (rows,)).copy()
        if not np.all(deltas > 0):
            raise ValueError("every delta must be positive")
    lo, hi = grid_limits(bits) if quantize else (0, 0)
    sequence, U, _ = inverse_cholesky_of(G, order, damp)
    feedback = U / np.diag(U)[:, None]
    scale = np.diag(U) ** 2
    live, dead = sequence.size, np.flatnonzero(np.diag(G) <= 0)
    out = W.copy()
    to_prune = n - keeps
    zeroed = np.minimum(to_prune, dead.size)
    out[:, dead] = np.where(np.arange(dead.size)[None, :] < zeroed[:, None], 0.0, W[:, dead])
    p = (to_prune - zeroed).astype(np.float64)
    V = W[:, sequence].copy()
    for first in range(0, live, block):
        last = min(first + block, live)
        count = (np.round(p * last / live) - np.round(p * first / live)).astype(np.int64)
        part = V[:, first:last]
        pruned = _lowest(part ** 2 / scale[first:last], count) if count.any() else np.zeros(part.shape, bool)
        errors = np.zeros_like(part)
        for j in range(last - first):
            i = first + j
            column = part[:, j].copy()
            if quantize:
                target = deltas * np.clip(np.round(column / deltas), lo, hi)
            else:
                target = column.copy()
            target[pruned[:, j]] = 0.0
            errors[:, j] = column - target
            part[:, j + 1:] -= np.outer(errors[:, j], feedback[i, i + 1:last])
            part[:, j] = target
        V[:, last:] -= errors @ feedback[first:last, last:]
    out[:, sequence] = V
    if quantize:
        out[:, dead] = deltas[:, None] * np.clip(np.round(out[:, dead] / deltas[:, None]), lo, hi)
    return out


def gptq_rows(G, W, deltas, bits: int, order: str = "act", damp: float = 0.01) -> np.ndarray:
    """GPTQ on every row (:func:`pvq.bounds.gptq_quant` with the row's delta): SparseGPT's pass with
    nothing pruned."""
    return sparsegpt_rows(G, W, np.asarray(W).shape[1], deltas, bits, order=order, damp=damp)


def wanda_rows(G, W, keeps) -> np.ndarray:
    """Wanda on every row: the keeps[r] largest |w| * ||X[:, i]|| of row r kept as they are (ties: the
    earlier column kept)."""
    G, W, keeps = _checked(G, W, keeps)
    scores = np.abs(W) * np.sqrt(np.clip(np.diag(G), 0.0, None))[None, :]
    return np.where(_lowest(-scores, keeps), W, 0.0)
