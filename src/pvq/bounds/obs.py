"""Greedy Optimal Brain Surgeon pruning of one output channel (Hassibi & Stork 1993).

Start from w = w0 and remove weights one at a time: the one whose removal costs least, saliency
w_q^2 / [H^-1]_qq, after which the survivors move by the OBS update w -= w_q / [H^-1]_qq * H^-1[:, q]
and H^-1 becomes the inverse of H on the survivors (its Schur complement), until ``keep`` remain.
With the exact Hessian this is backward greedy best-subset selection: each update is the least-squares
refit on the survivors and each saliency the exact increase of the error. SparseGPT (Frantar &
Alistarh, 2023) approximates the same procedure at scale: one left-to-right pass over the columns,
the mask chosen per block by the same saliency. An N:M pattern restricts, at each step, the
candidates to the groups that still hold more than N weights (pvq.bounds.obs_prune_nm).
"""

from __future__ import annotations

import time

import numpy as np

from pvq.bounds.hessian import damping, inverse
from pvq.bounds.problem import BoundResult, check_inputs, error_of, live_columns
from pvq.bounds.prune import _check_keep


def obs_prune(X, w0, keep: int, damp: float = 0.01) -> BoundResult:
    """At most ``keep`` nonzero weights by greedy OBS on H = X^T X + damp * mean(diag X^T X) I.

    The damped problem (w - w0)^T H (w - w0) is what the saliencies and updates minimise (GPTQ's and
    SparseGPT's dampening, which makes H invertible for any X); ``error`` is the undamped
    ||X (w - w0)||^2 of the returned weights. damp = 0 is the exact Hessian, for X of full column
    rank only. Dead columns (all zero in X) are removed first, at no cost. Status 'heuristic',
    lower_bound 0; info: support, removed (in order of removal), lambda.
    """
    start = time.perf_counter()
    A, w0 = check_inputs(X, w0)
    keep = _check_keep(keep, w0.size)
    return greedy_obs(A, w0, damp, lambda active: active if active.sum() > keep else active & False, start)


def greedy_obs(A: np.ndarray, w0: np.ndarray, damp: float, removable, start: float) -> BoundResult:
    """Remove, one at a time, the weight of least saliency among ``removable(active)`` (a mask over the
    live columns, active ones only) until none is removable. Dead columns go first, at no cost: a
    caller whose pattern limits removals sees them as already removed (``info['dead']``)."""
    live_mask = live_columns(A)
    live = np.flatnonzero(live_mask)
    lam = damping(A[:, live], damp)
    Hinv = inverse(A[:, live], lam)
    w = w0[live].copy()
    active = np.ones(live.size, bool)
    removed = [int(i) for i in np.flatnonzero(~live_mask)]
    while (candidates := removable(active)).any():
        saliency = np.full(live.size, np.inf)
        saliency[candidates] = w[candidates] ** 2 / np.diag(Hinv)[candidates]
        q = int(np.argmin(saliency))
        w -= w[q] / Hinv[q, q] * Hinv[:, q]
        w[q] = 0.0
        Hinv -= np.outer(Hinv[:, q], Hinv[q]) / Hinv[q, q]
        active[q] = False
        removed.append(int(live[q]))
    weights = np.zeros_like(w0)
    weights[live] = np.where(active, w, 0.0)
    return BoundResult(error_of(A, weights, w0), weights, 0.0, "heuristic", time.perf_counter() - start,
                       info={"support": live[active], "removed": np.array(removed, dtype=np.int64),
                             "lambda": lam})
