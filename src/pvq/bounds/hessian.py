"""The damped Hessian that GPTQ and OBS / SparseGPT work with, kept in square-root form.

Both methods need (X^T X)^-1, which does not exist for rank-deficient X (dead or duplicated input
channels, fewer calibration rows than features). Like GPTQ they add lambda = damp * mean(diag X^T X)
to the diagonal: H = X^T X + lambda I is positive definite for any damp > 0. H is never formed: its
square root is the R of a QR of [A; sqrt(lambda) I] (A: any factor with A^T A = X^T X), which keeps
the digits that forming X^T X would lose (cond(H) = cond(R)^2). The methods then solve the damped
problem (w - w0)^T H (w - w0); every error they report is the undamped ||X (w - w0)||^2.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import lapack

from pvq.bounds.problem import RANK_RTOL


def damping(A: np.ndarray, damp: float) -> float:
    """lambda = damp * mean(diag X^T X) (the mean over A's columns of their squared norms)."""
    if not (np.isfinite(damp) and damp >= 0):
        raise ValueError(f"damp must be a finite number >= 0 (GPTQ's default is 0.01), got {damp}")
    return float(damp * np.mean(np.sum(A * A, axis=0))) if A.shape[1] else 0.0


def _root(A: np.ndarray, lam: float) -> np.ndarray:
    """Upper triangular R (n x n, positive diagonal) with R^T R = A^T A + lam I."""
    p, n = A.shape
    stacked = np.vstack([A, np.sqrt(lam) * np.eye(n)]) if lam > 0 else A
    R = np.zeros((n, n))
    top = np.linalg.qr(stacked, mode="r")[:n]
    R[: top.shape[0]] = top
    R *= np.where(np.diag(R) < 0, -1.0, 1.0)[:, None]
    norms = np.linalg.norm(A, axis=0)
    if n and np.diag(R).min() <= RANK_RTOL * max(float(norms.max()), np.sqrt(lam)):
        raise ValueError(f"X^T X is singular ({p} rows after compress_rows, {n} features, zero, "
                         f"duplicated or collinear columns) and the damping lambda = {lam:g} does not "
                         f"make it invertible: pass damp > 0 (GPTQ and SparseGPT use 0.01)")
    return R


def _triangular_inverse(R: np.ndarray) -> np.ndarray:
    """R^-1 of an upper triangular R with a positive diagonal (LAPACK dtrtri: on these sizes a
    multi-right-hand-side triangular solve costs 1000x more on a busy machine, its threads waiting)."""
    return lapack.dtrtri(R)[0] if R.size else R


def inverse_cholesky(A: np.ndarray, lam: float) -> np.ndarray:
    """Upper triangular U with U^T U = (A^T A + lam I)^-1: GPTQ's "Cholesky form" of the inverse
    Hessian, whose row i (from the diagonal on) is the OBS update for fixing weight i after weights
    0..i-1 are fixed. Computed without forming H: with P the reversal, a QR of the reversed columns
    gives R with H = W^T W, W = P R P lower triangular, so U = W^-T = P R^-T P."""
    return _triangular_inverse(_root(A[:, ::-1], lam)).T[::-1, ::-1]


def inverse(A: np.ndarray, lam: float) -> np.ndarray:
    """(A^T A + lam I)^-1 = R^-1 R^-T from the square root R (symmetric by construction)."""
    Rinv = _triangular_inverse(_root(A, lam))
    return Rinv @ Rinv.T
