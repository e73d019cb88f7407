"""What every per-layer solver shares: the result object, the Gram form of the error, dead columns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Columns of X whose energy is below this share of the largest are treated as dead (always zero input):
# their weight changes no output, so solvers leave them out of the combinatorial search.
DEAD_COLUMN_RTOL = 1e-12


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


def gram(X) -> np.ndarray:
    """G = X^T X in float64, so error(w) = (w - w0)^T G (w - w0)."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be a matrix (m x n), got shape {X.shape}")
    return X.T @ X


def compress_rows(X) -> np.ndarray:
    """An n x n matrix R with R^T R = X^T X (QR of X): every solver gives the same answers on R as
    on X, so a chunk with many rows (im2col of many images) is reduced once and shared."""
    X = np.asarray(X, dtype=np.float64)
    if X.shape[0] <= X.shape[1]:
        return X
    return np.linalg.qr(X, mode="r")


def error_of(G: np.ndarray, w, w0) -> float:
    """(w - w0)^T G (w - w0), clipped at 0 against rounding."""
    d = np.asarray(w, dtype=np.float64) - np.asarray(w0, dtype=np.float64)
    return float(max(d @ G @ d, 0.0))


def live_columns(G: np.ndarray) -> np.ndarray:
    """Boolean mask of columns that carry input energy (diag(G) above DEAD_COLUMN_RTOL * max)."""
    diag = np.diag(G)
    top = diag.max() if diag.size else 0.0
    return diag > DEAD_COLUMN_RTOL * top if top > 0 else np.zeros(diag.shape, dtype=bool)


def check_inputs(X, w0) -> tuple[np.ndarray, np.ndarray]:
    """(G, w0) as float64 after checking shapes and finiteness."""
    G = gram(X)
    w0 = np.asarray(w0, dtype=np.float64).ravel()
    if w0.shape != (G.shape[0],):
        raise ValueError(f"w0 has {w0.size} entries but X has {G.shape[0]} columns")
    if not (np.all(np.isfinite(G)) and np.all(np.isfinite(w0))):
        raise ValueError("X and w0 must be finite")
    return G, w0


def snr_db_of(signal: float, error: float) -> float:
    """10 log10(signal / error): +inf for an exact reconstruction, nan for a missing error."""
    if not np.isfinite(error):
        return float("nan")
    if error <= 0:
        return float("inf")
    return float(10.0 * np.log10(signal / error))
