"""What every per-layer solver shares: the result object, the problem in square-root form, dead columns.

Every solver works on a square-root factor A (p x n, p = min(m, n)) with A^T A = X^T X rather than on
the Gram matrix G = X^T X itself: a least-squares fit on A loses half as many digits as one on G
(cond(G) = cond(A)^2), which decides whether two nearly collinear columns are told apart, and the error
||A (w - w0)||^2 stays accurate for refitted weights of any size. Nothing here assumes G nonsingular:
fewer rows than features, zero and duplicated columns are all valid inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Numerical rank: a column within RANK_RTOL * (largest column norm) of the span of other columns is
# treated as lying in that span (pruning's least-squares fits; Householder QR is accurate to about
# 1e-15 of that scale, so exact duplicates land far below, columns that differ by 1e-9 far above).
# The answers are then exact for an X perturbed by at most that much (backward stable).
RANK_RTOL = 1e-12


@dataclass(frozen=True)
class BoundResult:
    """One solver's answer for one (chunk, output channel).

    error: ||X (w - w0)||^2 of ``weights`` (nan if the solver returned no solution).
    weights: the returned solution w, shape (n,).
    lower_bound: a lower bound on the problem's optimal error (0.0 when the method gives none).
    status: 'optimal' (certified), 'bound' (a certified bound, weights only feasible),
        'heuristic', 'time_limit' (best found so far), 'failed'.
    seconds: wall time of the call.
    codes: integer codes z with weights = delta * z (quantization only).
    info: solver details (nodes, gap, solver's own objective, ...).
    """

    error: float
    weights: np.ndarray
    lower_bound: float
    status: str
    seconds: float
    codes: np.ndarray | None = None
    info: dict = field(default_factory=dict)


def compress_rows(X) -> np.ndarray:
    """A matrix A with A^T A = X^T X and min(m, n) rows (the R of a QR of X when m > n, else X):
    every solver gives the same answers on A as on X, so a chunk with many rows (im2col of many
    images) is reduced once and shared. Exact for rank-deficient X too."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be a matrix (m x n), got shape {X.shape}")
    if X.shape[0] <= X.shape[1]:
        return X
    return np.linalg.qr(X, mode="r")


def error_of(A: np.ndarray, w, w0) -> float:
    """||A (w - w0)||^2 (A: X or any factor with A^T A = X^T X)."""
    residual = A @ (np.asarray(w, dtype=np.float64) - np.asarray(w0, dtype=np.float64))
    return float(residual @ residual)


def live_columns(A: np.ndarray) -> np.ndarray:
    """Boolean mask of the columns that carry any input (not all zero, e.g. a dead ReLU channel): a
    zero column's weight changes no output, so solvers leave it out of the combinatorial search.
    Tiny but nonzero columns stay in; the solvers handle them exactly (see RANK_RTOL for pruning)."""
    return np.any(A != 0, axis=0)


def check_inputs(X, w0) -> tuple[np.ndarray, np.ndarray]:
    """(A, w0) as float64, A = compress_rows(X), after checking shapes and finiteness."""
    X = np.asarray(X, dtype=np.float64)
    w0 = np.asarray(w0, dtype=np.float64).ravel()
    if X.ndim != 2:
        raise ValueError(f"X must be a matrix (m x n), got shape {X.shape}")
    if w0.shape != (X.shape[1],):
        raise ValueError(f"w0 has {w0.size} entries but X has {X.shape[1]} columns")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(w0))):
        raise ValueError("X and w0 must be finite")
    return compress_rows(X), w0


def snr_db_of(signal: float, error: float) -> float:
    """10 log10(signal / error): +inf for an exact reconstruction, nan for a missing error."""
    if not np.isfinite(error):
        return float("nan")
    if error <= 0:
        return float("inf")
    return float(10.0 * np.log10(signal / error))
