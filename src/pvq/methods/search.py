"""Squared errors of a grid at per-unit scales, and the searches for the scale that minimises them.

A unit (a row of ``Units.values``) quantized with scale s costs e(s) = sum_i (v_i - s Q(v_i / s))^2,
Q the grid's rounding. e is piecewise quadratic and rugged in s (more so for few values and many
levels), so the searches first bracket the optimum with two lower bounds, as
``pvq.analytic.errors.step_bracket_holds`` does for distributions: against a reference error e_ref,
- no s below ``clipping_floor`` can do better: every |v| > R s (R: the grid's largest magnitude)
  is clipped, so e(s) >= sum (|v| - R s)_+^2, which grows as s falls;
- no s above ``zeroing_ceiling`` can: every |v| <= s h (h: half the smallest positive level) rounds
  to zero, so e(s) >= the energy of those values, which grows with s.
Inside the bracket, ``sweep`` finds the exact minimum from the breakpoints of e (cheap where a unit
has few of them: short units, few levels), ``scan`` a near-exact one (long units, whose e is smooth).
Every function handles all units in the same numpy calls; candidate scans run in float32 blocks
small enough to stay in cache, errors that decide a result in float64.
"""

from __future__ import annotations

import numpy as np

BLOCK = 1 << 16  # elements per evaluation block


def errors(values: np.ndarray, scales: np.ndarray, grid) -> np.ndarray:
    """e of each unit (rows of ``values``, (U, L)) at each of its candidate ``scales`` (U, C): (U, C),
    computed in ``values``' dtype (float32 sums of up to ~1e6 terms hold ~1e-7 relative)."""
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
            out[first:first + rows, column:column + columns] = np.einsum("ijk,ijk->ij", x, x)
    return out


def moments(values: np.ndarray, scales: np.ndarray, grid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per unit at its scale s (U,): e(s), cross = sum v q and norm = sum q^2 (q = Q(v / s), the codes);
    the least-squares scale for those codes is cross / norm. In ``values``' dtype, returned as float64."""
    scales = np.asarray(scales, dtype=values.dtype)[:, None]
    q = grid.quantize(values / scales)
    cross = np.einsum("ij,ij->i", values, q).astype(np.float64)
    norm = np.einsum("ij,ij->i", q, q).astype(np.float64)
    residual = values - q * scales
    return np.einsum("ij,ij->i", residual, residual).astype(np.float64), cross, norm


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


class Dense:
    """e and the moments of units by quantizing every value (float32: half the memory traffic)."""

    def __init__(self, units) -> None:
        self.values = units.values32

    def errors(self, scales: np.ndarray, grid) -> np.ndarray:
        return errors(self.values, scales, grid)

    def moments(self, scales: np.ndarray, grid, rows: np.ndarray) -> tuple[np.ndarray, ...]:
        return moments(self.values[rows], scales, grid)


class Sorted:
    """e and the moments of one unit held as a sorted tensor (``pvq.sorted_weights.SortedWeights``):
    the values between consecutive rounding boundaries (times s) share a level l, so each cell
    contributes S2 - 2 s l S1 + s^2 l^2 N from prefix sums; O(K log n) per scale for K levels."""

    def __init__(self, weights) -> None:
        self.weights = weights

    def _cells(self, scales: np.ndarray, grid) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        levels = grid.levels()
        boundaries = 0.5 * (levels[1:] + levels[:-1])
        w = self.weights
        counts = np.searchsorted(w.values, scales[:, None] * boundaries).reshape(scales.size, -1)
        edges = np.concatenate((np.zeros((scales.size, 1), dtype=np.int64), counts,
                                np.full((scales.size, 1), w.size)), axis=1)
        first, second = np.diff(w.p1[edges], axis=1), np.diff(w.p2[edges], axis=1)
        return levels, first, second, np.diff(edges, axis=1)

    def errors(self, scales: np.ndarray, grid) -> np.ndarray:
        scales = np.asarray(scales, dtype=np.float64).reshape(1, -1)
        levels, first, second, count = self._cells(scales[0], grid)
        s = scales[0][:, None]
        cell = second - 2.0 * s * levels * first + (s * levels) ** 2 * count
        return np.maximum(cell.sum(axis=1), 0.0)[None, :]

    def moments(self, scales: np.ndarray, grid, rows: np.ndarray) -> tuple[np.ndarray, ...]:
        scales = np.asarray(scales, dtype=np.float64)
        levels, first, _, count = self._cells(scales, grid)
        cross, norm = first @ levels, count @ (levels * levels)
        return self.errors(scales, grid)[0], cross, norm


def evaluator(units):
    """``Sorted`` for a unit that is the whole tensor (cheap at any size), ``Dense`` otherwise."""
    return Sorted(units.whole) if units.whole is not None else Dense(units)


def polish(evaluate, grid, scale: np.ndarray, error: np.ndarray, cross: np.ndarray,
           norm: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``steps`` Lloyd steps per unit (s <- cross / norm, then the codes of the new s), each
    kept only while it lowers the error: a descent to the local minimum of the start's basin."""
    scale, error, cross, norm = scale.copy(), error.copy(), cross.copy(), norm.copy()
    active = np.flatnonzero(norm > 0)
    for _ in range(steps):
        if active.size == 0:
            break
        proposal = cross[active] / norm[active]
        new_error, new_cross, new_norm = evaluate.moments(proposal, grid, active)
        better = new_error < error[active]
        active = active[better]
        scale[active], error[active] = proposal[better], new_error[better]
        cross[active], norm[active] = new_cross[better], new_norm[better]
        active = active[norm[active] > 0]
    return scale, error


def scan(units, grid, low: np.ndarray, high: np.ndarray, candidates: int = 32, seeds: int = 2, fine: int = 6,
         steps: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Near-exact continuous minimum of e over [low, high] (low > 0) per unit: ``candidates``
    geometric points; around each unit's ``seeds`` least local minima of them, ``fine`` points between
    the neighbouring candidates; from the best of those, Lloyd steps (float32, or prefix sums for a
    unit that is the whole tensor). (scales, errors)."""
    evaluate = evaluator(units)
    t = np.linspace(0.0, 1.0, candidates)
    grid_scales = np.exp(np.log(low)[:, None] + np.log(high / low)[:, None] * t)
    scanned = evaluate.errors(grid_scales, grid)
    left = np.pad(scanned, ((0, 0), (1, 0)), constant_values=np.inf)[:, :-1]
    right = np.pad(scanned, ((0, 0), (0, 1)), constant_values=np.inf)[:, 1:]
    minima = np.where((scanned <= left) & (scanned <= right), scanned, np.inf)
    order = np.argsort(minima, axis=1, kind="stable")[:, :seeds]
    rows = np.arange(units.count)
    ratio = (high / low) ** (1.0 / max(candidates - 1, 1))  # between neighbouring candidates
    between = ratio[:, None] ** np.linspace(-1.0, 1.0, fine + 2)[1:-1]
    best_scale, best_error = np.zeros(units.count), np.full(units.count, np.inf)
    for column in order.T:
        start, error = grid_scales[rows, column], scanned[rows, column]
        if fine:
            closer = start[:, None] * between
            found = evaluate.errors(closer, grid)
            pick = np.argmin(found, axis=1)
            start = np.where(found[rows, pick] < error, closer[rows, pick], start)
        error, cross, norm = evaluate.moments(start, grid, rows)
        scale, error = polish(evaluate, grid, start, error, cross, norm, steps)
        better = error < best_error
        best_scale[better], best_error[better] = scale[better], error[better]
    return best_scale, best_error


def exhaustive(units, grid, levels: np.ndarray, low: np.ndarray, high: np.ndarray, scale: np.ndarray,
               error: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The minimum of e over the positive ``levels`` (ascending) of a scale format: every level in
    [low, high] of each unit, ``high`` lowered by ``zeroing_ceiling`` as the best error falls;
    starts from (``scale``, ``error``), which it returns where nothing does better. Errors in float32
    (candidates within ~1e-6 of each other may swap)."""
    scale, error = scale.copy(), error.copy()
    start = np.searchsorted(levels, low, side="left")
    stop = np.searchsorted(levels, high, side="right")
    active = np.flatnonzero(start < stop)
    step = 0
    while active.size:
        candidate = levels[start[active] + step]
        values = units.values32 if active.size == units.count else units.values32[active]
        found = errors(values, candidate[:, None], grid)[:, 0]
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


def passed(units, grid, scale: np.ndarray, side: str) -> np.ndarray:
    """Per value (U, L): how many rounding boundaries of its sign's side its magnitude has passed at
    the unit's ``scale`` (a value on a boundary counts as past it when ``side`` is "right")."""
    return grid.crossings(np.abs(units.values) / scale[:, None], units.values < 0, side)


def crossing_range(units, grid, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per value, the boundaries passed at ``high`` and at ``low``: its code crosses the ones between
    as the scale falls from ``high`` to ``low`` (each a breakpoint of e)."""
    return passed(units, grid, high, "right"), passed(units, grid, low, "left")


def sweep(units, grid, low: np.ndarray, high: np.ndarray, start: np.ndarray | None = None,
          stop: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The exact minimum of e over [low, high] per unit: (scales, errors).

    As s falls, a value of magnitude a crosses the rounding boundary b between level magnitudes l
    and l' at s = a / b, and its code moves from l to l' (away from zero). Between consecutive
    crossings the codes are fixed, so e = S2 - 2 s C + s^2 N (C = sum |v| |q|, N = sum q^2) is a
    quadratic minimised in closed form on its segment. The codes at ``high`` give C and N of the
    first segment; each crossing adds a |v| (l' - l) to C and l'^2 - l^2 to N. Cost O(E log E) for
    the E crossings (``crossing_range``, whose result ``start``, ``stop`` may be passed in).
    """
    count, length = units.values.shape
    if start is None or stop is None:
        start, stop = crossing_range(units, grid, low, high)
    negative = units.values < 0
    magnitude = np.abs(units.values)
    tables = [(levels, 0.5 * (levels[1:] + levels[:-1])) for levels in grid.magnitudes()]
    (pos_levels, pos_bounds), (neg_levels, neg_bounds) = tables
    code = np.where(negative, neg_levels[np.minimum(start, neg_levels.size - 1)],
                    pos_levels[np.minimum(start, pos_levels.size - 1)])
    cross0 = np.einsum("ij,ij->i", magnitude, code)
    norm0 = np.einsum("ij,ij->i", code, code)
    energy = np.einsum("ij,ij->i", units.values, units.values)
    counts = np.maximum(stop - start, 0).ravel()
    owner = np.repeat(np.arange(counts.size), counts)
    step = start.ravel()[owner] + np.arange(owner.size) - np.repeat(np.cumsum(counts) - counts, counts)
    unit, a, side = owner // max(length, 1), magnitude.ravel()[owner], negative.ravel()[owner]
    bound = np.where(side, neg_bounds[np.minimum(step, neg_bounds.size - 1)], pos_bounds[np.minimum(step, pos_bounds.size - 1)])
    below = np.where(side, neg_levels[np.minimum(step, neg_levels.size - 1)], pos_levels[np.minimum(step, pos_levels.size - 1)])
    above = np.where(side, neg_levels[np.minimum(step + 1, neg_levels.size - 1)], pos_levels[np.minimum(step + 1, pos_levels.size - 1)])
    event = a / bound
    # One float key orders by unit, then by scale descending: the unit's index plus the event's
    # place in (0, 1] of its window (two events within ~1e-10 of each other may swap: the segment
    # between them then takes a code set that is not the nearest one, whose error is higher, never lower).
    order = np.argsort(unit + (1.0 - event / high[unit]), kind="stable")
    unit, event = unit[order], event[order]
    d_cross, d_norm = (a * (above - below))[order], (above * above - below * below)[order]
    # Segments unit by unit, one row each: the codes at ``high``, then after each crossing (cumulative
    # sums along the row, so no unit's rounding reaches another's).
    per_unit = np.bincount(unit, minlength=count)
    column = np.arange(unit.size) - np.repeat(np.cumsum(per_unit) - per_unit, per_unit) + 1
    width = int(per_unit.max(initial=0)) + 1
    upper, cross, norm = np.zeros((3, count, width))
    upper[:, 0], cross[:, 0], norm[:, 0] = high, cross0, norm0
    upper[unit, column], cross[unit, column], norm[unit, column] = event, d_cross, d_norm
    np.cumsum(cross, axis=1, out=cross)
    np.cumsum(norm, axis=1, out=norm)
    lower = np.empty_like(upper)
    lower[:, :-1] = upper[:, 1:]
    lower[np.arange(count), per_unit] = low
    valid = np.arange(width) <= per_unit[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.clip(np.where(norm > 0, cross / norm, upper), lower, upper)
    error = np.where(valid, energy[:, None] - 2.0 * scale * cross + scale * scale * norm, np.inf)
    best = np.argmin(error, axis=1)
    rows = np.arange(count)
    return scale[rows, best], np.maximum(error[rows, best], 0.0)
