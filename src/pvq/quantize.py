"""Symmetric uniform (integer) quantization: w_hat = s * clip(round(w / s), -2^(b-1), 2^(b-1) - 1)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from pvq.sorted_weights import Boundaries, SortedWeights


def grid_limits(bits: int) -> tuple[int, int]:
    """Integer range of a signed b-bit grid: (-2^(b-1), 2^(b-1) - 1)."""
    if bits < 1:
        raise ValueError(f"bits must be >= 1, got {bits}")
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def quantize_symmetric(w, scale: float, bits: int) -> np.ndarray:
    """Round to nearest (ties to even, as torch) on the scaled grid, clipping to the b-bit range."""
    lo, hi = grid_limits(bits)
    return scale * np.clip(np.round(np.asarray(w) / scale), lo, hi)


DIRECT_SUM = 2**12  # tensors of at most this many values get their errors summed over the values


@dataclass(frozen=True)
class ScaleFit:
    """An MSE-optimal scale and what it achieves: squared_error = sum (w - quantize_symmetric(w, scale, bits))^2."""

    scale: float
    squared_error: float
    bits: int


def fit_scale(weights: SortedWeights, bits: int, candidates: int = 100, seeds: int = 3,
              exact_events: int = 2**13, window_size: int = 2**12, window_events: int = 2**18,
              near: float = 2.0) -> ScaleFit:
    """The MSE-optimal scale for one bit width: see ``fit_scales`` (which shares the work over several)."""
    return fit_scales(weights, [bits], candidates, seeds, exact_events, window_size, window_events, near)[0]


def fit_scales(weights: SortedWeights, bits: Iterable[int], candidates: int = 100, seeds: int = 3,
               exact_events: int = 2**13, window_size: int = 2**12, window_events: int = 2**18,
               near: float = 2.0) -> list[ScaleFit]:
    """Per bit width, the scale minimising the squared error of ``quantize_symmetric`` on a sorted tensor.

    Where a bit width has few events (n (2^b - 1) <= ``exact_events``): the global optimum by the exact
    event sweep (``SortedWeights.exact_scales``). Otherwise first the reference grid: ``candidates`` clipping
    ranges r = max|w| i / candidates (i = 1..candidates), step s = r / (2^(b-1) - 1), each evaluated
    exactly. The error curve wiggles around its trend by about n^-1/2 (relative), over a grid step
    or two, so then
    - tensors of at most ``window_size`` values: the exact sweep over every stretch of grid samples
      within a factor 1 + max(0.01, ``near`` / sqrt(n)) of the best one, widened by a grid step (the
      top stretch to 1.1 x the grid's end); a stretch of more than ``window_events`` events gets the
      larger tensors' treatment instead;
    - larger tensors: the samples within a factor 1 + ``near`` / sqrt(n) of the best one and their
      neighbours (one step above the grid included) scanned at a quarter step, the ``seeds`` best
      local minima of that at 1/16 step, then Lloyd steps (s <- sum w q / sum q^2) from the best.
    Never worse than the grid's best candidate. Measured within 1e-7 dB of the global optimum on
    normal, t, Laplace and cubed-uniform tensors of 300 to 3,000 values, within 0.01 dB on such
    tensors of 6,000 (tests/test_zoo.py), and within 1e-3 dB on every EfficientNet-Lite0..2 tensor
    of 4,097 to 65,536 values (the exact sweep's optimum), at every bit width 2..8.
    All bit widths share one grid evaluation and each stage of the refinement is one numpy call on
    every (bit width, candidate) row at once: numpy's per-call overhead, not arithmetic, is what a
    fit costs otherwise. Each bit width's result is the same as ``fit_scale``'s alone.
    """
    bits = [int(b) for b in bits]
    limits = {b: grid_limits(b) for b in bits}
    if weights.max_abs == 0.0:
        return [ScaleFit(1.0, 0.0, b) for b in bits]
    tiny = tuple(sorted(b for b, (lo, hi) in limits.items() if weights.size * (hi - lo) <= exact_events))
    searched = tuple(sorted(set(limits) - set(tiny)))
    fits, windowed = {}, ()
    grid = errors = np.empty((0, candidates))
    if searched and weights.size > window_size:
        fits = _scanned_fits(weights, searched, *_grid(weights, searched, candidates), near, seeds)
    elif searched:
        windowed = searched
        grid, errors = _grid(weights, searched, candidates)
    if tiny or windowed:
        fits.update(_swept_fits(weights, tiny, windowed, grid, errors, near, window_events, seeds))
    fits = _checked(weights, {b: fit.scale for b, fit in fits.items()})
    return [fits[b] for b in bits]


@lru_cache(maxsize=16)
def _grid_plan(bits: tuple[int, ...], candidates: int) -> tuple[Boundaries, np.ndarray, np.ndarray]:
    """The rounding boundaries of every (bit width, candidate) grid, as fractions of max|w|: their
    layout (rows bit-major), the distinct fractions ascending, and each boundary's index among them.
    The same for every tensor, so sorted once: a third of the boundaries coincide, and ascending
    keys are what makes ``count_below`` fast."""
    lo, hi = np.array([grid_limits(b) for b in bits]).T
    boundaries = Boundaries.of(np.repeat(lo, candidates), np.repeat(hi, candidates))
    fraction = np.arange(1, candidates + 1) / candidates / np.maximum(hi, 1)[:, None]  # step s / max|w|
    unique, index = np.unique((boundaries.level + 0.5) * fraction.ravel()[boundaries.row],
                              return_inverse=True)
    for array in (*vars(boundaries).values(), unique, index):
        array.setflags(write=False)  # shared by every call (and thread)
    return boundaries, unique, index


def _grid(weights: SortedWeights, bits: tuple[int, ...], candidates: int) -> tuple[np.ndarray, np.ndarray]:
    """The reference grid's steps and exact squared errors, shape (len(bits), candidates) each."""
    boundaries, unique, index = _grid_plan(bits, candidates)
    steps = weights.max_abs / candidates / np.maximum([grid_limits(b)[1] for b in bits], 1)
    grid = steps[:, None] * np.arange(1, candidates + 1)
    counts = weights.count_below(unique * weights.max_abs, ascending=True)[index]
    return grid, weights.stats_from_counts(grid.ravel(), boundaries, counts)[0].reshape(grid.shape)


def _swept_fits(weights: SortedWeights, tiny: tuple[int, ...], windowed: tuple[int, ...], grid: np.ndarray,
                errors: np.ndarray, near: float, window_events: int, seeds: int) -> dict[int, ScaleFit]:
    """Exact sweeps, all in one ``exact_scales`` call: over every s > 0 for the ``tiny`` bit widths;
    for the ``windowed`` ones (``grid`` and ``errors``: their rows; rugged curves), over every stretch
    of grid samples near the best one, each widened by a grid step (the top one to 1.1 x the grid's
    end); a stretch of more than ``window_events`` events gets ``_polish`` instead. Errors evaluated
    afresh at the chosen scales (not carried through a sweep)."""
    best = {b: (float(errors[j].min()), float(grid[j, np.argmin(errors[j])])) for j, b in enumerate(windowed)}
    row, first, last = _stretches(errors, max(0.01, near / np.sqrt(weights.size)))
    step = grid[row, 0]
    low = np.where(first > 0, grid[row, first] - step, 0.5 * step)
    high = np.where(last < grid.shape[1] - 1, grid[row, last] + step, 1.1 * grid[row, -1])
    swept = weights.abs_sum * (1 / low - 1 / high) <= window_events  # about the events inside
    sweeps = tiny + tuple(windowed[j] for j in row[swept])
    windows = np.concatenate((np.tile([0.0, np.inf], (len(tiny), 1)), np.stack((low, high), axis=1)[swept]))
    results = []
    if sweeps:
        limits = np.array([grid_limits(b) for b in sweeps])
        results += zip(sweeps, *weights.exact_scales(limits[:, 0], limits[:, 1], windows))
    rest = ~swept
    results += _polished_stretches(weights, [windowed[j] for j in row[rest]], first[rest], last[rest], step[rest],
                                   seeds)
    for b, scale, error in results:
        best[b] = min(best.get(b, (np.inf, 0.0)), (float(error), float(scale)))
    return {b: ScaleFit(scale, error, b) for b, (error, scale) in best.items()}


def _stretches(errors: np.ndarray, tolerance: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The runs of samples within a factor 1 + ``tolerance`` of their row's least: each run's row,
    first and last column, row by row."""
    close = np.pad(errors <= errors.min(axis=1, keepdims=True) * (1.0 + tolerance), ((0, 0), (1, 1)))
    row, first = np.nonzero(close[:, 1:-1] & ~close[:, :-2])
    return row, first, np.nonzero(close[:, 1:-1] & ~close[:, 2:])[1]


def _polished_stretches(weights: SortedWeights, bits: list[int], first: np.ndarray, last: np.ndarray,
                        steps: np.ndarray, seeds: int) -> list[tuple[int, float, float]]:
    """(bit width, scale, error) of ``_polish`` over each stretch of grid samples (0-based columns
    first..last) and a grid step either side."""
    if not bits:
        return []
    start = np.maximum(first, 1)  # grid sample i has scale i steps; column c is sample c + 1
    counts = last + 3 - start
    group = np.repeat(np.arange(len(bits)), counts)
    sample = start[group] + np.arange(group.size) - (np.cumsum(counts) - counts)[group]
    limits = np.array([grid_limits(b) for b in bits])[group]
    polished = _polish(weights, limits[:, 0], limits[:, 1], steps[group] * sample, steps[group], group, seeds)
    return [*zip(bits, *polished)]


def _scanned_fits(weights: SortedWeights, bits: tuple[int, ...], grid: np.ndarray, errors: np.ndarray,
                  near: float, seeds: int) -> dict[int, ScaleFit]:
    """Per bit width, the better of the grid's best sample and ``_polish`` around every sample within
    a factor 1 + ``near`` / sqrt(n) of it (the height of the curve's wiggles) and their neighbours."""
    close = np.pad(errors <= errors.min(axis=1, keepdims=True) * (1.0 + near / np.sqrt(weights.size)),
                   ((0, 0), (1, 2)))
    marked = close[:, 1:-1] | close[:, :-2] | close[:, 2:]  # grid samples i = 1..candidates + 1
    group, column = np.nonzero(marked)
    steps = grid[:, 0]
    limits = np.array([grid_limits(b) for b in bits])[group]
    scales, refined = _polish(weights, limits[:, 0], limits[:, 1], steps[group] * (column + 1), steps[group],
                              group, seeds)
    fits = {}
    for j, b in enumerate(bits):
        best = min((float(errors[j].min()), float(grid[j, np.argmin(errors[j])])),
                   (float(refined[j]), float(scales[j])))
        fits[b] = ScaleFit(best[1], best[0], b)
    return fits


def squared_errors(weights: SortedWeights, scales, bits) -> np.ndarray:
    """sum (w - quantize_symmetric(w, s, b))^2 for each (s, b) in zip(``scales``, ``bits``): the one
    evaluation behind every per-tensor INT error (``fit_scales``' results, the zoo sweep, the
    ``pvq.methods`` per-tensor INT quantizers). Tensors of at most ``DIRECT_SUM`` values: summed over
    the values, exact to rounding; larger ones: from the prefix sums (energy - 2 s cross + s^2 norm,
    O(2^b log n), rounding about 1e-15 of the energy)."""
    scales = np.asarray(scales, dtype=np.float64).ravel()
    limits = np.array([grid_limits(int(b)) for b in np.ravel(bits)], dtype=np.int64).reshape(-1, 2)
    if weights.size > DIRECT_SUM:
        return weights.quantization_stats(scales, limits[:, 0], limits[:, 1])[0]
    step = scales[:, None]
    residual = weights.values - step * np.clip(np.round(weights.values / step), limits[:, :1], limits[:, 1:])
    return np.einsum("ij,ij->i", residual, residual)


def _checked(weights: SortedWeights, scales: dict[int, float]) -> dict[int, ScaleFit]:
    """The fits at ``scales`` (bit width -> scale), their errors evaluated afresh by ``squared_errors``
    (not carried through a search, whose batches may round differently)."""
    errors = squared_errors(weights, list(scales.values()), list(scales))
    return {b: ScaleFit(scale, float(error), b) for (b, scale), error in zip(scales.items(), errors)}


def _polish(weights: SortedWeights, lo: np.ndarray, hi: np.ndarray, centres: np.ndarray, steps: np.ndarray,
            group: np.ndarray, seeds: int = 3, coarse: int = 4, fine: int = 8,
            max_steps: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """The best (scale, error) per group of rows (group 0, 1, ...; sorted, each row a grid sample
    ``centres`` with grid ``steps`` and levels lo..hi): a scan of ``coarse`` points per step over
    each row's centre +- step / 2; around each group's ``seeds`` best local minima of it, a scan of
    ``fine`` points between the coarse neighbours; from the best of each, up to ``max_steps`` Lloyd
    steps (s <- sum w q / sum q^2, while they lower the error). Every row in the same numpy calls."""
    scales, errors = (x.ravel() for x in _scan(weights, lo, hi, centres, steps, coarse)[:2])
    rows = np.repeat(np.arange(centres.size), coarse)
    starts = _best_minima(errors, group[rows], seeds)
    rows = rows[starts]
    scan = _scan(weights, lo[rows], hi[rows], scales[starts], 2.0 * steps[rows] / coarse, fine)
    best = np.argmin(scan[1], axis=1)[:, None]
    scale, error = _lloyd(weights, lo[rows], hi[rows],
                          *(np.take_along_axis(x, best, axis=1)[:, 0] for x in scan), max_steps)
    owner = group[rows]
    order = np.lexsort((scale, error, owner))  # per group, the least error first (then the least scale)
    first = order[np.searchsorted(owner[order], np.arange(group[-1] + 1))]
    return scale[first], error[first]


def _scan(weights: SortedWeights, lo: np.ndarray, hi: np.ndarray, centres: np.ndarray, widths: np.ndarray,
          points: int) -> tuple[np.ndarray, ...]:
    """Scales, errors, crosses and norms, shape (rows, points): ``points`` even steps over each row's
    centre +- width / 2, the centre included."""
    scales = centres[:, None] + widths[:, None] * ((np.arange(points) - points // 2) / points)
    rows = np.repeat(np.arange(centres.size), points)
    stats = weights.quantization_stats(scales.ravel(), lo[rows], hi[rows])
    return scales, *(x.reshape(scales.shape) for x in stats)


def _best_minima(errors: np.ndarray, group: np.ndarray, count: int) -> np.ndarray:
    """Indices of each group's ``count`` least local minima in a sequence of runs of groups (ties:
    the earliest), group by group."""
    edge = np.flatnonzero(np.diff(group)) + 1
    left, right = np.append(np.inf, errors[:-1]), np.append(errors[1:], np.inf)
    left[edge], right[edge - 1] = np.inf, np.inf  # a group's ends have one neighbour
    minima = np.flatnonzero((errors <= left) & (errors <= right))
    minima = minima[np.lexsort((errors[minima], group[minima]))]  # by group, then error (stable)
    rank = np.arange(minima.size) - np.searchsorted(group[minima], group[minima])
    return minima[rank < count]


def _lloyd(weights: SortedWeights, lo: np.ndarray, hi: np.ndarray, scale: np.ndarray, error: np.ndarray,
           cross: np.ndarray, norm: np.ndarray, max_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``max_steps`` Lloyd steps s <- cross / norm on every row, each row until one fails to
    lower its error: (scales, errors)."""
    scale, error, cross, norm = (np.array(x, dtype=np.float64) for x in (scale, error, cross, norm))
    active = np.flatnonzero(norm > 0)
    for _ in range(max_steps):
        if active.size == 0:
            break
        proposal = cross[active] / norm[active]
        new_error, new_cross, new_norm = weights.quantization_stats(proposal, lo[active], hi[active])
        better = new_error < error[active]
        active = active[better]
        scale[active], error[active], cross[active], norm[active] = (
            proposal[better], new_error[better], new_cross[better], new_norm[better])
        active = active[norm[active] > 0]
    return scale, error


def mse_optimal_fit(w, bits: int, candidates: int = 100) -> ScaleFit:
    """``fit_scale`` on an unsorted array (any shape); for several bit widths sort once: ``fit_scales``."""
    return fit_scale(SortedWeights(w), bits, candidates)


def mse_optimal_scale(w, bits: int, candidates: int = 100) -> float:
    """Per-tensor symmetric scale s minimising sum (w - quantize_symmetric(w, s, bits))^2.

    At least as good as the ``candidates``-point grid of clipping ranges over (0, max|w|], refined
    locally (see ``fit_scale``); 1.0 for an all-zero tensor.
    """
    return mse_optimal_fit(w, bits, candidates).scale
