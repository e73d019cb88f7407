"""Wanda pruning of one output channel (Sun et al., 2024): |w_i| times the norm of input feature i.

The score needs no Hessian and no update: it is the error a single weight causes on its own,
||X_i w_i||, ignoring how the other inputs could compensate. The kept weights stay as they are
(Wanda's method) or are refitted by least squares on X (the variant that gives it the paper's refit).
"""

from __future__ import annotations

import time

import numpy as np

from pvq.bounds.problem import BoundResult, check_inputs, error_of
from pvq.bounds.prune import _check_keep


def wanda_scores(A: np.ndarray, w0: np.ndarray) -> np.ndarray:
    """|w0_i| * ||X[:, i]|| (A^T A = X^T X has X's column norms)."""
    return np.abs(w0) * np.linalg.norm(A, axis=0)


def select_largest(scores: np.ndarray, keep: int) -> np.ndarray:
    """Sorted indices of the ``keep`` largest scores, ties to the lower index: the unstructured
    selection over the whole row (an N:M pattern selects the N largest of each group of M instead)."""
    return np.sort(np.argsort(-scores, kind="stable")[:keep])


def least_squares_refit(A: np.ndarray, w0: np.ndarray, support: np.ndarray) -> np.ndarray:
    """Weights on ``support`` minimising ||A (w - w0)||^2, zero elsewhere (numpy's SVD least squares:
    the minimum-norm fit where the kept columns are rank deficient)."""
    weights = np.zeros_like(w0)
    if support.size:
        weights[support] = np.linalg.lstsq(A[:, support], A @ w0, rcond=None)[0]
    return weights


def wanda_prune(X, w0, keep: int, refit: bool = False) -> BoundResult:
    """Keep the ``keep`` weights of largest Wanda score (ties to the lower index); the kept weights are
    w0 (Wanda) or, with ``refit``, their least-squares refit on X. Status 'heuristic',
    lower_bound 0; info: support, scores."""
    start = time.perf_counter()
    A, w0 = check_inputs(X, w0)
    keep = _check_keep(keep, w0.size)
    scores = wanda_scores(A, w0)
    support = select_largest(scores, keep)
    if refit:
        weights = least_squares_refit(A, w0, support)
    else:
        weights = np.zeros_like(w0)
        weights[support] = w0[support]
    return BoundResult(error_of(A, weights, w0), weights, 0.0, "heuristic", time.perf_counter() - start,
                       info={"support": support, "scores": scores})
