"""Pruning then quantizing one output channel: at most ``keep`` nonzero weights, each on the b-bit grid.

The joint problem is min ||X (delta z - w0)||^2 over integer z in [-2^(b-1), 2^(b-1) - 1] with at most
``keep`` nonzeros. Its feasible set lies inside both separate problems' (a pruned weight is the
code 0, which is on the grid; every joint solution is a pruning solution), so its optimum is at
least the larger of theirs: :func:`joint_lower_bound` turns the certified bounds of
:func:`solve_prune_exact` and :func:`solve_quant_exact` into a certified bound on the joint
optimum, which brute force cannot reach at n = 32.
"""

from __future__ import annotations

import time

import numpy as np

from pvq.bounds.gptq import gptq_quant
from pvq.bounds.obs import obs_prune
from pvq.bounds.problem import BoundResult, check_inputs, error_of


def obs_prune_then_gptq(X, w0, keep: int, delta: float, bits: int, order: str = "act",
                        damp: float = 0.01) -> BoundResult:
    """Greedy OBS down to ``keep`` weights (:func:`obs_prune`), then GPTQ on the survivors
    (:func:`gptq_quant` on X's surviving columns, towards OBS's updated weights, which it treats
    as the targets: what quantization adds to the error is exactly ||X_S (delta z_S - w_S)||^2 when
    w_S is the undamped least-squares fit on the survivors S, up to the damping otherwise).
    Both steps solve their damped problems (damp * mean(diag X^T X), the survivors' for GPTQ); the
    ``error`` is the undamped ||X (delta z - w0)||^2. Status 'heuristic', lower_bound 0; info:
    support, prune_error (OBS's weights before quantizing).
    """
    start = time.perf_counter()
    A, w0 = check_inputs(X, w0)
    pruned = obs_prune(A, w0, keep, damp=damp)
    support = pruned.info["support"]
    quantized = gptq_quant(A[:, support], pruned.weights[support], delta, bits, order=order, damp=damp)
    codes = np.zeros(w0.size, dtype=np.int64)
    codes[support] = quantized.codes
    weights = delta * codes.astype(np.float64)
    return BoundResult(error_of(A, weights, w0), weights, 0.0, "heuristic", time.perf_counter() - start,
                       codes=codes, info={"support": support, "prune_error": pruned.error})


def joint_lower_bound(*separate: BoundResult) -> float:
    """A certified lower bound on the joint optimum: the largest ``lower_bound`` of results of the
    separate problems with the same X and w0 (pruning to the same ``keep``; quantization with the same
    delta and bits: :func:`solve_prune_exact`, :func:`quant_sdp_bound`, :func:`solve_quant_exact`)."""
    return max((result.lower_bound for result in separate), default=0.0)
