"""Per-layer post-training problems on numpy arrays, with certified bounds (paper §4, App. F).

For one output channel of one chunk of input features: X (m x n) the layer's unfolded inputs, w0 (n)
the original weights, error(w) = ||X (w - w0)||^2.

- pruning, at most ``keep`` nonzeros: :func:`prune_heuristic` (magnitude mask, optionally with a
  least-squares refit), :func:`solve_prune_exact` (our branch and bound, certified optimum),
  :func:`solve_prune_mip` (SCIP on the big-M MIQP of paper eq. 8, a cross-check);
- N:M pruning, n kept of every group of m features: :func:`prune_nm_heuristic` (N:M magnitude,
  optionally refitted), :func:`solve_prune_nm_exact` (branch and bound over the groups, certified),
  and the one-shot methods with the pattern: :func:`obs_prune_nm`, :func:`wanda_prune_nm`;
- quantization, w = delta * z with z integer in [-2^(b-1), 2^(b-1) - 1]: :func:`quant_rtn`
  (round to nearest), :func:`quant_heuristic` (Park & Boyd randomised rounding + greedy 1-opt),
  :func:`quant_sdp_bound` (SDP relaxation with the box, lower bound recomputed from its dual
  multipliers), :func:`solve_quant_exact` (box-constrained sphere decoders in numpy: one pruning by both the
  error's and the SDP dual's partial sums, and one on an LLL-reduced basis, side by side;
  :mod:`pvq.bounds.quant_search`);
- today's one-shot methods, to measure against the certified optimum: :func:`gptq_quant` (GPTQ:
  rounding with error feedback through the inverse Hessian), :func:`obs_prune` (greedy Optimal Brain
  Surgeon, what SparseGPT approximates), :func:`wanda_prune` (|w| times the input norm, with or
  without refit), :func:`obs_prune_then_gptq` (both: at most ``keep`` nonzeros on the b-bit grid)
  with :func:`joint_lower_bound` (a certified bound on that joint problem from the separate ones);
  :func:`sparsegpt_prune` (SparseGPT: OBS in one pass over the columns, optionally quantizing the
  kept weights in the same pass), the form of OBS that scales to whole layers (pvq.ptq).
  GPTQ and OBS damp X^T X as GPTQ does (:mod:`pvq.bounds.hessian`); their errors are undamped.

Every function returns a :class:`BoundResult`; ``error`` is always the error of the returned weights.
X may be rank deficient (fewer rows than features, zero, duplicated or collinear columns): the solvers
factor X by QR and never invert X^T X; only :func:`solve_prune_mip` needs full column rank (its big-M
constants) and otherwise returns status 'failed' with the reason in ``info['failed']``.
No torch here: a notebook can call these on any arrays.
"""

from pvq.bounds.gptq import gptq_quant
from pvq.bounds.joint import joint_lower_bound, obs_prune_then_gptq
from pvq.bounds.obs import obs_prune
from pvq.bounds.problem import BoundResult, compress_rows, snr_db_of
from pvq.bounds.prune import prune_heuristic, solve_prune_exact, solve_prune_mip
from pvq.bounds.prune_nm import obs_prune_nm, prune_nm_heuristic, solve_prune_nm_exact, wanda_prune_nm
from pvq.bounds.quant import quant_heuristic, quant_rtn, quant_sdp_bound, solve_quant_exact
from pvq.bounds.sparsegpt import sparsegpt_prune
from pvq.bounds.wanda import wanda_prune

__all__ = [
    "BoundResult", "compress_rows", "snr_db_of",
    "prune_heuristic", "solve_prune_exact", "solve_prune_mip", "prune_nm_heuristic", "solve_prune_nm_exact",
    "obs_prune_nm", "wanda_prune_nm",
    "quant_rtn", "quant_heuristic", "quant_sdp_bound", "solve_quant_exact",
    "gptq_quant", "obs_prune", "wanda_prune", "obs_prune_then_gptq", "joint_lower_bound",
    "sparsegpt_prune",
]
