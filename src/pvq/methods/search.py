"""Squared errors of a grid at per-unit scales, and the searches for the scale that minimises them.

A unit (a row of ``Units.values``) quantized with scale s costs e(s) = sum_i (v_i - s Q(v_i / s))^2,
Q the grid's rounding. e is piecewise quadratic and rugged in s (more so for few values and many
levels), so the searches first bracket the optimum with two lower bounds, as
``pvq.analytic.errors.step_bracket_holds`` does for distributions: against a reference error e_ref,
- no s below ``clipping_floor`` can do better: every |v| > R s (R: the grid's largest magnitude)
  is clipped, so e(s) >= sum (|v| - R s)_+^2, which grows as s falls;
- no s above ``zeroing_ceiling`` can: every |v| <= s h (h: half the smallest positive level) rounds
  to zero, so e(s) >= the energy of those values, which grows with s.
Every function handles all units in the same numpy calls; candidate scans run in float32 blocks
small enough to stay in cache, errors that decide a result in float64.
"""

from __future__ import annotations

import numpy as np

BLOCK = 1 << 16  # elements per evaluation block


def errors(values: np.ndarray, scales: np.ndarray, grid) -> np.ndarray:
    """e of each unit (rows of ``values``, (U, L)) at each of its candidate ``scales`` (U, C): (U, C),
    computed in ``values``' dtype and summed in float64."""
    count, length = values.shape
    scales = np.asarray(scales, dtype=values.dtype).reshape(count, -1)
    out = np.empty(scales.shape)
    columns = max(1, min(scales.shape[1], BLOCK // max(length, 1)))
    rows = max(1, BLOCK // max(length * columns, 1))
    for first in range(0, count, rows):
        unit = values[first:first + rows, None, :]
        for column in range(0, scales.shape[1], columns):
            scale = scales[first:first + rows, column:column + columns, None]
            x = unit / scale
            grid.quantize(x, out=x)
            x *= scale
            np.subtract(unit, x, out=x)
            x *= x
            out[first:first + rows, column:column + columns] = x.sum(axis=2, dtype=np.float64)
    return out


def moments(values: np.ndarray, scales: np.ndarray, grid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per unit at its scale s (U,): e(s), cross = sum v q and norm = sum q^2 (q = Q(v / s), the codes);
    the least-squares scale for those codes is cross / norm. float64."""
    q = grid.quantize(values / scales[:, None])
    cross = np.einsum("ij,ij->i", values, q)
    norm = np.einsum("ij,ij->i", q, q)
    residual = values - q * scales[:, None]
    return np.einsum("ij,ij->i", residual, residual), cross, norm


def clipping_floor(units, grid, reference: np.ndarray) -> np.ndarray:
    """Per unit, the largest s with sum (|v| - R s)_+^2 >= ``reference`` (the error to beat): no scale
    at or below it does better. With |v| sorted descending a_1 >= a_2 >= ..., the sum at t = R s is
    k t^2 - 2 t F1_k + F2_k over the k values above t (F1, F2: sums of the k largest |v| and v^2)."""
    first, second = units.large_sums
    descending = units.magnitudes[:, ::-1]
    k = np.arange(units.length)
    # the sum at t = a_j (j = 1..L): over the j - 1 values above it
    at_value = k * descending**2 - 2.0 * descending * first[:, :-1] + second[:, :-1]
    above = (at_value < reference[:, None]).sum(axis=1)  # t lies in [a_{above+1}, a_above]
    above = np.maximum(above, 1)
    rows = np.arange(units.count)
    f1, f2 = first[rows, above], second[rows, above]
    disc = np.maximum(f1 * f1 - above * (f2 - reference), 0.0)
    t = (f1 - np.sqrt(disc)) / above
    return np.clip(t, 0.0, units.amax) / grid.reach


def zeroing_ceiling(units, grid, reference: np.ndarray) -> np.ndarray:
    """Per unit, the least s at which the values rounding to zero (|v| <= s h) carry at least
    ``reference``: no scale at or above it does better (inf if no s > 0 is excluded)."""
    needed = (units.small_energy[:, 1:] < reference[:, None]).sum(axis=1)  # values below the m-th
    magnitude = units.magnitudes[np.arange(units.count), np.minimum(needed, units.length - 1)]
    ceiling = magnitude / (0.5 * grid.smallest)
    return np.where(needed < units.length, ceiling, np.inf)


def polish(values: np.ndarray, grid, scale: np.ndarray, error: np.ndarray, cross: np.ndarray,
           norm: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``steps`` Lloyd steps per unit (s <- cross / norm, then the codes of the new s), each
    kept only while it lowers the error: a descent to the local minimum of the start's basin."""
    scale, error, cross, norm = scale.copy(), error.copy(), cross.copy(), norm.copy()
    active = np.flatnonzero(norm > 0)
    for _ in range(steps):
        if active.size == 0:
            break
        proposal = cross[active] / norm[active]
        new_error, new_cross, new_norm = moments(values[active], proposal, grid)
        better = new_error < error[active]
        active = active[better]
        scale[active], error[active] = proposal[better], new_error[better]
        cross[active], norm[active] = new_cross[better], new_norm[better]
        active = active[norm[active] > 0]
    return scale, error


def scan(units, grid, low: np.ndarray, high: np.ndarray, candidates: int = 32, seeds: int = 2,
         steps: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Near-exact continuous minimum of e over [low, high] per unit: ``candidates`` geometric points,
    then Lloyd steps from each unit's ``seeds`` least local minima of that scan. (scales, errors)."""
    low = np.minimum(np.maximum(low, high * 1e-6), high)
    t = np.linspace(0.0, 1.0, candidates)
    grid_scales = np.exp(np.log(low)[:, None] + np.log(high / low)[:, None] * t)
    scanned = errors(units.values32, grid_scales, grid)
    left = np.pad(scanned, ((0, 0), (1, 0)), constant_values=np.inf)[:, :-1]
    right = np.pad(scanned, ((0, 0), (0, 1)), constant_values=np.inf)[:, 1:]
    minima = np.where((scanned <= left) & (scanned <= right), scanned, np.inf)
    order = np.argsort(minima, axis=1, kind="stable")[:, :seeds]
    rows = np.arange(units.count)
    best_scale, best_error = np.zeros(units.count), np.full(units.count, np.inf)
    for column in order.T:
        start = grid_scales[rows, column]
        error, cross, norm = moments(units.values, start, grid)
        scale, error = polish(units.values, grid, start, error, cross, norm, steps)
        better = error < best_error
        best_scale[better], best_error[better] = scale[better], error[better]
    return best_scale, best_error


def exhaustive(units, grid, levels: np.ndarray, low: np.ndarray, high: np.ndarray, scale: np.ndarray,
               error: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The exact minimum of e over the positive ``levels`` (ascending) of a scale format: every level
    in [low, high] of each unit, ``high`` lowered by ``zeroing_ceiling`` as the best error falls;
    starts from (``scale``, ``error``), which it returns where nothing does better. float64."""
    scale, error = scale.copy(), error.copy()
    start = np.searchsorted(levels, low, side="left")
    stop = np.searchsorted(levels, high, side="right")
    active = np.flatnonzero(start < stop)
    step = 0
    while active.size:
        candidate = levels[start[active] + step]
        found = errors(units.values[active], candidate[:, None], grid)[:, 0]
        better = found < error[active]
        scale[active[better]], error[active[better]] = candidate[better], found[better]
        step += 1
        active = active[start[active] + step < stop[active]]
        if active.size:
            ceiling = zeroing_ceiling(_Rows(units, active), grid, error[active])
            stop[active] = np.minimum(stop[active], np.searchsorted(levels, ceiling, side="right"))
            active = active[start[active] + step < stop[active]]
    return scale, error


class _Rows:
    """The few ``Units`` attributes ``zeroing_ceiling`` reads, for a subset of units."""

    def __init__(self, units, rows: np.ndarray) -> None:
        self.count, self.length = rows.size, units.length
        self.magnitudes = units.magnitudes[rows]
        self.small_energy = units.small_energy[rows]
