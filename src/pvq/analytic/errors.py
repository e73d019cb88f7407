"""Exact expected squared errors of quantization and magnitude pruning on a known distribution.

A quantizer is a grid of levels times a scale: ``bits`` for the paper's integers -2^(b-1)..2^(b-1)-1
(the scale is the step delta), or any grid of ``pvq.methods.grids`` (an FP format's values: a
non-uniform grid, to which the same cell-by-cell sum of partial moments applies).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from pvq.quantize import grid_limits


def levels(grid) -> np.ndarray:
    """The grid's levels in scale units, ascending: ``grid`` is a bit width (the paper's integers)
    or a grid of ``pvq.methods.grids``."""
    if isinstance(grid, (int, np.integer)):
        lo, hi = grid_limits(int(grid))
        return np.arange(lo, hi + 1, dtype=float)
    return grid.levels()


def quant_mse(dist, delta: float, bits) -> float:
    """E[(W - Q(W))^2] for the grid delta * level, round to nearest (``bits``: see ``levels``).

    Each grid node q collects the cell between the midpoints to its neighbours (the outermost cells
    extend to the support's ends, which is the clipping error); a cell contributes
    int (w - q)^2 p = m2 - 2 q m1 + q^2 m0 from the distribution's incomplete moments.
    """
    return float(quant_mses(dist, np.array([delta]), bits)[0])


def quant_mses(dist, deltas: np.ndarray, bits) -> np.ndarray:
    """``quant_mse`` at each of ``deltas`` in one pass of numpy calls (rows of cells, summed per row)."""
    nodes = np.asarray(deltas, dtype=float)[:, None] * levels(bits)
    rows = nodes.shape[0]
    edges = np.concatenate((np.full((rows, 1), dist.lower), 0.5 * (nodes[:, 1:] + nodes[:, :-1]),
                            np.full((rows, 1), dist.upper)), axis=1)
    m0, m1, m2 = dist.partial_moments(edges[:, :-1], edges[:, 1:])
    return np.sum(m2 - 2.0 * nodes * m1 + nodes * nodes * m0, axis=1)


@dataclass(frozen=True)
class OptimalGrid:
    delta: float
    mse: float
    span: tuple[float, float]  # the scanned step range, proven to hold the optimum (step_bracket_holds)


def optimal_delta(dist, bits, scan_points: int = 2000) -> OptimalGrid:
    """Step (scale) minimising ``quant_mse``: a global log-spaced scan, then Brent on every local minimum.

    The error is multimodal in delta at low bit widths (truncated tails), so a single local search
    from a heuristic start can stop in the wrong basin. The scanned range is widened until two lower
    bounds prove that no step outside it can beat the best step inside (``step_bracket_holds``): heavy
    tails put the optimal clipping range far out (near 29 sigma for INT8 on the t truncated at r = 100).
    """
    hi = levels(bits)[-1]
    # The largest useful clipping range: the support's end, or a first guess of 12 sigma if unbounded.
    reach = dist.upper if np.isfinite(dist.upper) else 12.0 * np.sqrt(dist.second_moment())
    top = 1.5 * reach / hi if hi > 0 else 1.5 * reach
    span = (1e-4 * top, top)
    for _ in range(MAX_WIDENINGS):
        deltas = np.geomspace(*span, max(scan_points, round(scan_points * np.log10(span[1] / span[0]) / 4)))
        errors = quant_mses(dist, deltas, bits)
        if step_bracket_holds(dist, bits, span, float(errors.min())):
            break
        span = _widened(dist, bits, span, float(errors.min()))
    else:
        raise RuntimeError(f"no step range of {dist} at {bits} bits brackets the optimum after "
                           f"{MAX_WIDENINGS} widenings (last: {span})")
    best = OptimalGrid(float(deltas[np.argmin(errors)]), float(errors.min()), span)
    interior = np.flatnonzero((errors[1:-1] <= errors[:-2]) & (errors[1:-1] <= errors[2:])) + 1
    for i in interior:
        found = optimize.minimize_scalar(
            lambda d: quant_mse(dist, d, bits), bounds=(deltas[i - 1], deltas[i + 1]),
            method="bounded", options={"xatol": 1e-12 * deltas[i]},
        )
        if found.fun < best.mse:
            best = OptimalGrid(float(found.x), float(found.fun), span)
    return best


MAX_WIDENINGS = 20


def step_bracket_holds(dist, bits, span: tuple[float, float], mse: float) -> bool:
    """Whether no step outside ``span`` = (small, large) can have an error below ``mse``.

    Any step >= large rounds every |w| < large h to zero (h: half the smallest nonzero level
    magnitude, 1/2 for the integers), so its error is at least that part's second moment; any step
    <= small clips every w above the top node to it, so its error is at least the clipping error of
    ``small``. Both bounds grow away from the span.
    """
    return _central_error(dist, span[1], bits) >= mse and _clipping_error(dist, span[0], bits) >= mse


def _widened(dist, bits, span: tuple[float, float], mse: float) -> tuple[float, float]:
    small, large = span
    if _clipping_error(dist, small, bits) < mse:
        small /= 100.0
    if _central_error(dist, large, bits) < mse:
        large *= 4.0
    return small, large


def _central_error(dist, delta: float, bits) -> float:
    """E[W^2; |W| < h delta]: what any step >= delta loses on the weights it rounds to zero (h: half
    the smallest nonzero level magnitude)."""
    nodes = np.abs(levels(bits))
    half = 0.5 * nodes[nodes > 0].min() * delta
    _, _, m2 = dist.partial_moments(-half, half)
    return float(m2)


def _clipping_error(dist, delta: float, bits) -> float:
    """What any step <= delta loses to clipping: E[(W - c)^2; W > c] + E[(W + c')^2; W < -c'] for the
    outer nodes c = hi * delta and -c' = lo * delta (at 1 bit the top node is 0 whatever the step)."""
    nodes = levels(bits)
    lo, hi = nodes[0], nodes[-1]
    total = 0.0
    for c, sign in ((hi * delta, 1.0), (-lo * delta, -1.0)):
        a, b = (c, dist.upper) if sign > 0 else (dist.lower, -c)
        m0, m1, m2 = dist.partial_moments(a, b)
        total += max(float(m2 - 2.0 * sign * c * m1 + c * c * m0), 0.0)
    return total


@dataclass(frozen=True)
class PruningCut:
    threshold: float
    mse: float


def prune_mse(dist, sparsity: float) -> PruningCut:
    """Magnitude pruning at ``sparsity``: zero every |w| <= t with P(|W| <= t) = sparsity.

    The error is the second moment of the pruned part, int_{-t}^{t} w^2 p(w) dw (paper eq. 3).
    """
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must lie in [0, 1), got {sparsity}")
    t = dist.magnitude_quantile(sparsity)
    _, _, m2 = dist.partial_moments(-t, t)
    return PruningCut(t, float(m2))
