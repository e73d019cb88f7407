"""SparseGPT (Frantar & Alistarh, 2023) on one output channel: OBS pruning in one pass over the columns.

Greedy OBS (:func:`pvq.bounds.obs_prune`) updates a per-row inverse Hessian after every removal,
O(n^3) per row: fine on n = 32 chunks, out of reach on whole layers (Lite0's classifier has
n = 1280 inputs and 1000 rows). SparseGPT visits the columns once, in GPTQ's order, with the
inverse Hessian in GPTQ's Cholesky form U (U^T U = H^-1, H = X^T X + lambda I damped as GPTQ):
at the start of every block of ``block`` columns it prunes, among that block's columns, the ones of
least saliency w_q^2 / U_qq^2 (their current, already updated weights; U_qq^2 is the inverse
Hessian of the columns not yet fixed, so w_q^2 / U_qq^2 is the exact cost of zeroing w_q with only
the later columns free); then it fixes the columns one by one (zero if pruned, else kept, or
rounded to the b-bit grid when ``delta`` and ``bits`` are given: SparseGPT's joint mode) and feeds
each column's change to the later columns through row i of U, as GPTQ does. Without pruning
(keep = n) and with a grid it is exactly GPTQ; the number pruned by the end of a block is
round(p e / L) of the p to prune over the L live columns (e: columns visited), so every row keeps
exactly ``keep``. Dead columns (all zero in X) change no output: they are the first ones zeroed.
"""

from __future__ import annotations

import time

import numpy as np

from pvq.bounds.gptq import column_order
from pvq.bounds.hessian import damping, inverse_cholesky
from pvq.bounds.problem import BoundResult, check_inputs, error_of, live_columns
from pvq.bounds.prune import _check_keep
from pvq.quantize import grid_limits

BLOCK = 128  # SparseGPT's mask-selection block (its adaptive mask selection, Bs = 128)


def check_block(block: int) -> int:
    if isinstance(block, bool) or not isinstance(block, (int, np.integer)) or block < 1:
        raise ValueError(f"block must be a positive integer (SparseGPT uses {BLOCK}), got {block!r}")
    return int(block)


def pruned_by(p: int, visited: int, live: int) -> int:
    """How many of the p weights to prune are pruned once ``visited`` of ``live`` columns are fixed."""
    return int(round(p * visited / live)) if live else 0


def sparsegpt_prune(X, w0, keep: int, delta: float | None = None, bits: int | None = None, order: str = "act",
                    damp: float = 0.01, block: int = BLOCK) -> BoundResult:
    """At most ``keep`` nonzero weights by SparseGPT (see the module doc); with ``delta`` and ``bits``
    the kept weights are also rounded to the grid delta * z, z in [-2^(b-1), 2^(b-1) - 1], in the
    same pass. Dead columns (all zero in X) are pruned first, at no cost. ``error`` is the undamped
    ||X (w - w0)||^2. Status 'heuristic', lower_bound 0; info: support, order (the live columns as
    visited), lambda; codes when quantizing.
    """
    start = time.perf_counter()
    A, w0 = check_inputs(X, w0)
    keep = _check_keep(keep, w0.size)
    block = check_block(block)
    quantize = delta is not None or bits is not None
    if quantize and (delta is None or bits is None or not delta > 0):
        raise ValueError(f"quantizing needs both a positive delta and bits, got delta={delta}, bits={bits}")
    lo, hi = grid_limits(bits) if quantize else (0, 0)
    alive = live_columns(A)
    sequence = column_order(A, np.flatnonzero(alive), order)
    lam = damping(A[:, sequence], damp)
    U = inverse_cholesky(A[:, sequence], lam)
    feedback = U / np.diag(U)[:, None]
    live = sequence.size
    dead = np.flatnonzero(~alive)
    zeroed = dead[:w0.size - keep]  # no cost: these first
    p = w0.size - keep - zeroed.size
    w = w0[sequence].copy()
    pruned = np.zeros(live, bool)
    for first in range(0, live, block):
        last = min(first + block, live)
        count = pruned_by(p, last, live) - pruned_by(p, first, live)
        if count:
            saliency = w[first:last] ** 2 / np.diag(U)[first:last] ** 2
            pruned[first + np.argsort(saliency, kind="stable")[:count]] = True
        for i in range(first, last):
            wi = float(w[i])
            if pruned[i]:
                target = 0.0
            elif quantize:
                target = delta * min(max(round(wi / delta), lo), hi)
            else:
                target = wi
            w[i + 1:] -= (wi - target) * feedback[i, i + 1:]
            w[i] = target
    weights = w0.copy()
    weights[zeroed] = 0.0
    weights[sequence] = w
    codes = None
    if quantize:
        codes = np.clip(np.round(weights / delta), lo, hi).astype(np.int64)  # live: already on the grid
        weights = delta * codes.astype(np.float64)
    support = np.setdiff1d(np.arange(w0.size), np.concatenate([zeroed, sequence[pruned]]))
    return BoundResult(error_of(A, weights, w0), weights, 0.0, "heuristic", time.perf_counter() - start,
                       codes=codes, info={"support": support, "order": sequence, "lambda": lam})
