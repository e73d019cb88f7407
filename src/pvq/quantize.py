"""Symmetric uniform (integer) quantization: w_hat = s * clip(round(w / s), -2^(b-1), 2^(b-1) - 1)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pvq.sorted_weights import SortedWeights


def grid_limits(bits: int) -> tuple[int, int]:
    """Integer range of a signed b-bit grid: (-2^(b-1), 2^(b-1) - 1)."""
    if bits < 1:
        raise ValueError(f"bits must be >= 1, got {bits}")
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def quantize_symmetric(w, scale: float, bits: int) -> np.ndarray:
    """Round to nearest (ties to even, as torch) on the scaled grid, clipping to the b-bit range."""
    lo, hi = grid_limits(bits)
    return scale * np.clip(np.round(np.asarray(w) / scale), lo, hi)


@dataclass(frozen=True)
class ScaleFit:
    """An MSE-optimal scale and what it achieves: squared_error = sum (w - quantize_symmetric(w, scale, bits))^2."""

    scale: float
    squared_error: float
    bits: int


def fit_scale(weights: SortedWeights, bits: int, candidates: int = 100, seeds: int = 3,
              exact_events: int = 2**17, window_size: int = 2**16, window_events: int = 2**17) -> ScaleFit:
    """The scale minimising the squared error of ``quantize_symmetric`` on a sorted tensor.

    Small tensors (n (2^b - 1) <= ``exact_events``): the global optimum by the exact event sweep
    (``SortedWeights.exact_scale``). Otherwise:
    1. the reference grid: ``candidates`` clipping ranges r = max|w| i / candidates (i = 1..candidates),
       step s = r / (2^(b-1) - 1), every one evaluated exactly;
    2. around the ``seeds`` best local minima of that grid, between their neighbours: the exact optimum
       by the event sweep for tensors of at most ``window_size`` values whose window holds at most
       ``window_events`` events, else a fine scan
       followed by alternating rounding and least-squares steps (s <- sum w q / sum q^2, a Lloyd
       iteration, each step lowering the error).
    Either way the result is never worse than the grid's best candidate.
    """
    lo, hi = grid_limits(bits)
    if weights.max_abs == 0.0:
        return ScaleFit(1.0, 0.0, bits)
    if weights.size * (hi - lo) <= exact_events:
        return ScaleFit(*weights.exact_scale(lo, hi), bits)
    step = weights.max_abs / candidates / max(hi, 1)
    grid = step * np.arange(1, candidates + 1)
    errors = weights.quantization_stats(grid, lo, hi)[0]
    padded = np.concatenate(([np.inf], errors, [np.inf]))
    minima = np.flatnonzero((padded[1:-1] <= padded[:-2]) & (padded[1:-1] <= padded[2:]))
    best = (float(errors[minima[0]]), float(grid[minima[0]]))
    for i in minima[np.argsort(errors[minima], kind="stable")[:seeds]]:
        window = (grid[i] - step if i > 0 else 0.5 * step, grid[i] + step)
        events = weights.abs_sum * (1 / window[0] - 1 / window[1])
        if weights.size <= window_size and events <= window_events:
            scale, error = weights.exact_scale(lo, hi, window)
        else:
            scale, error = _refine(weights, lo, hi, grid[i], step)
        best = min(best, (error, scale))
    return ScaleFit(best[1], best[0], bits)


def _refine(weights: SortedWeights, lo: int, hi: int, centre: float, step: float,
            points: int = 24, max_steps: int = 30) -> tuple[float, float]:
    """Best of a ``points`` scan over centre +- step, then Lloyd steps from it: (scale, error)."""
    scan = np.concatenate(([centre], centre + step * np.linspace(-1.0, 1.0, points + 2)[1:-1]))
    errors, crosses, norms = weights.quantization_stats(scan, lo, hi)
    i = int(np.argmin(errors))
    scale, error, cross, norm = float(scan[i]), float(errors[i]), float(crosses[i]), float(norms[i])
    for _ in range(max_steps):
        if norm == 0.0:
            break
        proposal = cross / norm
        new_error, new_cross, new_norm = (float(x[0]) for x in weights.quantization_stats([proposal], lo, hi))
        if not new_error < error:
            break
        scale, error, cross, norm = proposal, new_error, new_cross, new_norm
    return scale, error


def mse_optimal_fit(w, bits: int, candidates: int = 100) -> ScaleFit:
    """``fit_scale`` on an unsorted array (any shape); sort once and call fit_scale for several bit widths."""
    return fit_scale(SortedWeights(w), bits, candidates)


def mse_optimal_scale(w, bits: int, candidates: int = 100) -> float:
    """Per-tensor symmetric scale s minimising sum (w - quantize_symmetric(w, s, bits))^2.

    At least as good as the ``candidates``-point grid of clipping ranges over (0, max|w|], refined
    locally (see ``fit_scale``); 1.0 for an all-zero tensor.
    """
    return mse_optimal_fit(w, bits, candidates).scale
