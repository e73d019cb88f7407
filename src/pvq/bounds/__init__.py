"""Per-layer post-training problems on numpy arrays, with certified bounds (paper §4, App. F).

For one output channel of one chunk of input features: X (m x n) the layer's unfolded inputs, w0 (n)
the original weights, error(w) = ||X (w - w0)||^2.

- pruning, at most ``keep`` nonzeros: :func:`prune_heuristic` (magnitude mask, optionally with a
  least-squares refit), :func:`solve_prune_exact` (our branch and bound, certified optimum),
  :func:`solve_prune_mip` (SCIP on the big-M MIQP of paper eq. 8, a cross-check);
- quantization, w = delta * z with z integer in [-2^(b-1), 2^(b-1) - 1]: :func:`quant_rtn`
  (round to nearest), :func:`quant_heuristic` (Park & Boyd randomised rounding + greedy 1-opt),
  :func:`quant_sdp_bound` (SDP relaxation with the box, lower bound recomputed from its dual
  multipliers), :func:`solve_quant_exact` (box-constrained sphere decoder, batched in numpy).

Every function returns a :class:`BoundResult`; ``error`` is always the error of the returned weights.
X may be rank deficient (fewer rows than features, zero, duplicated or collinear columns): the solvers
factor X by QR and never invert X^T X; only :func:`solve_prune_mip` needs full column rank (its big-M
constants) and otherwise returns status 'failed' with the reason in ``info['failed']``.
No torch here: a notebook can call these on any arrays.
"""

from pvq.bounds.problem import BoundResult, compress_rows, snr_db_of
from pvq.bounds.prune import prune_heuristic, solve_prune_exact, solve_prune_mip
from pvq.bounds.quant import quant_heuristic, quant_rtn, quant_sdp_bound, solve_quant_exact

__all__ = [
    "BoundResult", "compress_rows", "snr_db_of",
    "prune_heuristic", "solve_prune_exact", "solve_prune_mip",
    "quant_rtn", "quant_heuristic", "quant_sdp_bound", "solve_quant_exact",
]
