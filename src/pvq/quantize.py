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
              exact_events: int = 2**17, window_size: int = 2**16, window_events: int = 2**18,
              near: float = 2.0) -> ScaleFit:
    """The scale minimising the squared error of ``quantize_symmetric`` on a sorted tensor.

    Tiny tensors (n (2^b - 1) <= ``exact_events``): the global optimum by the exact event sweep
    (``SortedWeights.exact_scale``). Otherwise first the reference grid: ``candidates`` clipping
    ranges r = max|w| i / candidates (i = 1..candidates), step s = r / (2^(b-1) - 1), each evaluated
    exactly. Then
    - tensors of at most ``window_size`` values (rugged error curves): the exact sweep over every
      stretch of grid samples within a factor 1 + max(0.01, ``near`` / sqrt(n)) of the best one (the
      curve's ruggedness shrinks like n^-1/2), widened by a grid step
      (the top stretch to 1.1 x the grid's end); a stretch of more than ``window_events`` events gets
      the large-tensor treatment instead;
    - larger tensors (smooth curves): around the ``seeds`` best local minima of the grid, a fine scan
      between the neighbours, then alternating rounding and least-squares steps (s <- sum w q /
      sum q^2, a Lloyd iteration; each step lowers the error).
    Never worse than the grid's best candidate; measured within 1e-7 dB of the global optimum on
    normal, t, Laplace and cubed-uniform tensors of 300 to 40,000 values (tests/test_zoo.py).
    """
    lo, hi = grid_limits(bits)
    if weights.max_abs == 0.0:
        return ScaleFit(1.0, 0.0, bits)
    if weights.size * (hi - lo) <= exact_events:
        return _checked(weights, weights.exact_scale(lo, hi)[0], bits)
    step = weights.max_abs / candidates / max(hi, 1)
    grid = step * np.arange(1, candidates + 1)
    errors = weights.quantization_stats(grid, lo, hi)[0]
    best = (float(errors.min()), float(grid[np.argmin(errors)]))
    if weights.size <= window_size:
        # Small tensors have rugged error curves: sweep every stretch of the grid (and just above it)
        # whose samples come near the best one, exactly.
        close = np.flatnonzero(errors <= best[0] * (1.0 + max(0.01, near / np.sqrt(weights.size))))
        starts = close[np.flatnonzero(np.diff(close, prepend=-2) > 1)]
        stops = close[np.flatnonzero(np.diff(close, append=close[-1] + 2) > 1)]
        for first, last in zip(starts, stops):
            window = (grid[first] - step if first > 0 else 0.5 * step,
                      grid[last] + step if last < candidates - 1 else 1.1 * grid[-1])
            if weights.abs_sum * (1 / window[0] - 1 / window[1]) <= window_events:
                best = min(best, weights.exact_scale(lo, hi, window)[::-1])
            else:
                centre = first + int(np.argmin(errors[first:last + 1]))
                best = min(best, _refine(weights, lo, hi, grid[centre], step)[::-1])
        return _checked(weights, best[1], bits)
    padded = np.concatenate(([np.inf], errors, [np.inf]))
    minima = np.flatnonzero((padded[1:-1] <= padded[:-2]) & (padded[1:-1] <= padded[2:]))
    for i in minima[np.argsort(errors[minima], kind="stable")[:seeds]]:
        best = min(best, _refine(weights, lo, hi, grid[i], step)[::-1])
    return ScaleFit(best[1], best[0], bits)


def _checked(weights: SortedWeights, scale: float, bits: int) -> ScaleFit:
    """The fit at ``scale``, its error evaluated afresh by binning (not carried through a sweep)."""
    return ScaleFit(scale, float(weights.quantization_stats([scale], *grid_limits(bits))[0][0]), bits)


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
