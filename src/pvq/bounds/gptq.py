"""GPTQ (Frantar et al., 2023) on one output channel: rounding with error feedback.

The weights are fixed one at a time. Each is rounded to nearest on the b-bit grid delta * z, z in
[-2^(b-1), 2^(b-1) - 1], and the error that rounding makes is compensated by the weights not yet fixed
through the Optimal Brain Surgeon update, which for the damped Hessian H is row i of the upper
Cholesky factor U of H^-1 (U^T U = H^-1): w_j -= (w_i - delta z_i) U_ij / U_ii for j after i. With
X^T X diagonal U is diagonal and GPTQ is plain rounding; the more correlated the inputs, the more
the feedback matters. One output channel of one chunk is a small problem (n of about 32), so the
lazy batched updates GPTQ uses on whole layers are not needed: the arithmetic is the same.
"""

from __future__ import annotations

import time

import numpy as np

from pvq.bounds.hessian import damping, inverse_cholesky
from pvq.bounds.problem import BoundResult, check_inputs, error_of, live_columns
from pvq.quantize import grid_limits

# Column orders: "act" fixes the columns with the most input energy (largest diag X^T X) first,
# GPTQ's act-order; "natural" fixes them as given.
ORDERS = ("act", "natural")


def column_order(A: np.ndarray, columns: np.ndarray, order: str) -> np.ndarray:
    """``columns`` of A in the order GPTQ fixes them (ties keep the given order)."""
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    if order == "natural":
        return columns
    energy = np.sum(A[:, columns] ** 2, axis=0)
    return columns[np.argsort(-energy, kind="stable")]


def gptq_quant(X, w0, delta: float, bits: int, order: str = "act", damp: float = 0.01) -> BoundResult:
    """GPTQ's codes for min ||X (delta z - w0)||^2 over integer z in the b-bit box.

    Columns in ``order`` ("act": descending diag X^T X; "natural"); H = X^T X + damp * mean(diag X^T X) I
    on the live columns (:mod:`pvq.bounds.hessian`), so a rank-deficient X needs no special case.
    The damped problem (w - w0)^T H (w - w0) is what GPTQ's feedback minimises; ``error`` is the
    undamped ||X (delta z - w0)||^2. Dead columns (all zero in X) change no output and are rounded to
    nearest. Status 'heuristic', lower_bound 0; info: the column order used and lambda.
    """
    start = time.perf_counter()
    if not delta > 0:
        raise ValueError(f"delta must be positive, got {delta}")
    A, w0 = check_inputs(X, w0)
    lo, hi = grid_limits(bits)
    codes = np.clip(np.round(w0 / delta), lo, hi)
    sequence = column_order(A, np.flatnonzero(live_columns(A)), order)
    lam = damping(A[:, sequence], damp)  # before any work: a bad damp is refused even for X = 0
    U = inverse_cholesky(A[:, sequence], lam)
    feedback = U / np.diag(U)[:, None]  # row i: how fixing weight i moves the later ones
    w = w0[sequence].copy()
    fixed = []
    for i in range(sequence.size):
        wi = float(w[i])
        z = min(max(round(wi / delta), lo), hi)  # Python's round: half to even, as np.round
        fixed.append(z)
        w[i + 1:] -= (wi - delta * z) * feedback[i, i + 1:]
    codes[sequence] = fixed
    codes = codes.astype(np.int64)
    weights = delta * codes.astype(np.float64)
    return BoundResult(error_of(A, weights, w0), weights, 0.0, "heuristic", time.perf_counter() - start,
                       codes=codes, info={"order": sequence, "lambda": lam})
