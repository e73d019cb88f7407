"""A weight tensor sorted once, so squared errors of quantizers and magnitude pruning cost O(log n).

With the values sorted, v_0 <= ... <= v_{n-1} (float64), and prefix sums P1[i] = sum_{j<i} v_j,
P2[i] = sum_{j<i} v_j^2, the values a uniform quantizer with step s sends to level k*s are one
contiguous run, between the rounding boundaries (k - 1/2) s and (k + 1/2) s. Over that run the squared
error is S2 - 2 k s S1 + (k s)^2 N (S1, S2, N: the run's prefix-sum differences and length), whatever
the rounding of ties (a tie is equally far from both levels). Magnitude pruning removes the contiguous
window of the k smallest |v| around zero, whose squared sum is one more prefix-sum difference (or the
window's own sum of squares: ``pruning_errors``, which needs no P2).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np


@dataclass(frozen=True)
class Boundaries:
    """The rounding boundaries of m integer grids (row r: levels lo[r]..hi[r]), laid out row after row:
    row r owns the hi[r] - lo[r] entries from starts[r]; entry j lies between level[j] and level[j] + 1."""

    hi: np.ndarray
    starts: np.ndarray
    row: np.ndarray
    level: np.ndarray

    @classmethod
    def of(cls, lo, hi) -> Boundaries:
        lo, hi = np.asarray(lo, dtype=np.int64), np.asarray(hi, dtype=np.int64)
        counts = hi - lo
        starts = np.cumsum(counts) - counts
        row = np.repeat(np.arange(counts.size), counts)
        return cls(hi, starts, row, lo[row] + np.arange(row.size) - starts[row])


class SortedWeights:
    """One tensor's values in ascending order (float64) with prefix sums of v (and of v^2 on demand)."""

    def __init__(self, w) -> None:
        # Sorted in the data's own dtype (float32 sorts faster), then widened: the conversion to
        # float64 keeps the order, so the result is the same as sorting float64.
        values = np.sort(np.asarray(w), axis=None).astype(np.float64, copy=False)
        self.values = values
        self.size = values.size
        self.p1 = np.zeros(values.size + 1)
        np.square(values, out=self.p1[1:])  # the squares pass through P1's memory: no more to allocate
        self.energy = float(self.p1[1:].sum())  # sum w^2, pairwise summation (exact to rounding)
        np.cumsum(values, out=self.p1[1:])
        self.max_abs = float(max(-values[0], values[-1])) if values.size else 0.0
        self.abs_sum = float(self.p1[-1] - 2.0 * self.p1[np.searchsorted(values, 0.0)])  # sum |w|

    def quantization_stats(self, scales, lo, hi) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each step s in ``scales`` (shape (m,)), with integer levels lo..hi (one pair for all
        steps, or one per step) and round-to-nearest:

        error = sum (w - s q)^2, cross = sum w q, norm = sum q^2 (q: the integer codes), each shape (m,).
        The least-squares step for that rounding is cross / norm; error = energy - 2 s cross + s^2 norm.
        """
        scales = np.asarray(scales, dtype=np.float64).ravel()
        boundaries = Boundaries.of(*np.broadcast_arrays(lo, hi, scales)[:2])
        counts = self.count_below((boundaries.level + 0.5) * scales[boundaries.row])
        return self.stats_from_counts(scales, boundaries, counts)

    def count_below(self, x, ascending: bool = False) -> np.ndarray:
        """How many values are below each x (a value on a boundary belongs to the level above it).

        Searching ascending keys is several times faster (numpy narrows each search by the last), so
        unless ``ascending`` they are argsorted first: cheaper than what it saves, even for 1,000 keys.
        """
        if ascending:
            return np.searchsorted(self.values, x)
        order = np.argsort(x)
        counts = np.empty(order.size, dtype=np.int64)
        counts[order] = np.searchsorted(self.values, x[order])
        return counts

    def stats_from_counts(self, scales, boundaries: Boundaries,
                          counts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``quantization_stats`` given ``counts``, how many values lie below each of the boundaries.

        Summation by parts over the runs of equal codes: the codes start at hi and each boundary j
        (e_j values below it, level_j below it) lowers those of the values below it by one, so
        cross = hi P1[n] - sum_j P1[e_j] and norm = hi^2 n - sum_j e_j (2 level_j + 1).
        """
        hi = boundaries.hi
        cross = hi * self.p1[-1] - np.add.reduceat(self.p1[counts], boundaries.starts)
        norm = hi * hi * self.size - np.add.reduceat(counts * (2 * boundaries.level + 1), boundaries.starts)
        norm = norm.astype(np.float64)  # summed exactly in integers
        error = self.energy - 2.0 * scales * cross + scales * scales * norm
        return np.maximum(error, 0.0), cross, norm

    def exact_scale(self, lo: int, hi: int, window: tuple[float, float] = (0.0, np.inf)) -> tuple[float, float]:
        """Minimum of sum (w - s q)^2, q = clip(round(w / s), lo, hi), over s in the ``window``
        (s_low, s_high]: (scale, error); the global minimum over s > 0 by default. See ``exact_scales``."""
        scales, errors = self.exact_scales([lo], [hi], [window])
        return float(scales[0]), float(errors[0])

    def exact_scales(self, lo, hi, windows) -> tuple[np.ndarray, np.ndarray]:
        """``exact_scale`` for m (lo, hi, window) triples at once (shapes (m,), (m,), (m, 2)): the
        minimising scales and their errors, shape (m,) each, in one pass of numpy calls.

        As s falls, each value's code steps away from zero one level at a time, at s = |w| / (j + 1/2)
        (j = 0, 1, ...) until it reaches lo or hi: n (hi - lo) events over all s > 0. Between consecutive
        events the codes are fixed and the error is a quadratic in s, minimised in closed form;
        cumulative sums over the events (sorted by s, descending) give every segment's quadratic, starting
        from the codes at s_high. Cost O(E log E) for the E events inside the windows.
        """
        lo, hi = np.asarray(lo, dtype=np.int64), np.asarray(hi, dtype=np.int64)
        s_low, s_high = np.asarray(windows, dtype=np.float64).reshape(-1, 2).T
        cross0, norm0 = np.zeros(lo.size), np.zeros(lo.size)  # the codes at s_high (none at infinity)
        finite = np.isfinite(s_high)
        if finite.any():
            _, cross0[finite], norm0[finite] = self.quantization_stats(s_high[finite], lo[finite], hi[finite])
        triple, steps, magnitude, event = self._events(*self._event_range(lo, hi, s_low, s_high))
        # Segments, triple after triple: the codes at s_high, then the codes after each of its events.
        heads = np.searchsorted(triple, np.arange(lo.size)) + np.arange(lo.size)
        upper = np.empty(event.size + lo.size)
        upper[heads], upper[np.arange(event.size) + triple + 1] = s_high, event
        below = np.append(upper[1:], 0.0)
        below[np.append(heads[1:], upper.size) - 1] = s_low
        upper[~np.isfinite(upper)] = max(2.0 * self.max_abs, 1.0)
        cross = _running(heads, cross0, magnitude)
        norm = _running(heads, norm0, 2.0 * steps + 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.clip(np.where(norm > 0, cross / norm, upper), below, upper)
        error = self.energy - 2.0 * scale * cross + scale * scale * norm
        best = _first_minima(error, heads)
        return scale[best], np.maximum(error[best], 0.0)

    @staticmethod
    def _events(first, stop, magnitude) -> tuple[np.ndarray, ...]:
        """Every event (a code's step j, first <= j < stop, of each triple and value): its triple, j,
        |w| and scale |w| / (j + 1/2), ordered by triple and then by scale, descending."""
        counts = np.maximum(stop - first, 0).ravel()
        owner = np.repeat(np.arange(counts.size), counts)  # the (triple, value) pair of each event
        steps = first.ravel()[owner] + np.arange(owner.size) - np.repeat(np.cumsum(counts) - counts, counts)
        triple, value = np.divmod(owner, magnitude.size)
        event = magnitude[value] / (steps + 0.5)
        order = np.argsort(-event)  # ties: equally far from both levels, any order
        # Then by triple: a stable sort of small integers (a radix sort).
        order = order[np.argsort(triple[order].astype(np.min_scalar_type(first.shape[0])), kind="stable")]
        return triple[order], steps[order], magnitude[value[order]], event[order]

    def _event_range(self, lo, hi, s_low, s_high) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per triple and nonzero value (shape (m, n')): the steps its code has taken at s_high and
        those it has taken by s_low; and the values' magnitudes (n')."""
        nonzero = self.values[self.values != 0.0]
        magnitude, positive = np.abs(nonzero), nonzero > 0
        reach = np.where(positive, hi[:, None], -lo[:, None])
        top = s_high[:, None]
        # Steps already taken at s_high, by the same float comparisons as quantization_stats (a value at
        # a boundary belongs to the level above it): positive w past (j + 1/2) s_high when it is >=,
        # negative ones when their magnitude is >. Then the events j with |w| / (j + 1/2) > s_low.
        first = np.clip(np.floor(magnitude / top + 0.5), 0, reach).astype(np.int64)
        for _ in range(2):  # settle the float rounding of the estimate at the edges
            passed = np.where(positive, (first + 0.5) * top <= magnitude, (first + 0.5) * top < magnitude)
            first = np.where(passed & (first < reach), first + 1, first)
            undo = np.where(positive, (first - 0.5) * top > magnitude, (first - 0.5) * top >= magnitude)
            first = np.where(undo & (first > 0), first - 1, first)
        with np.errstate(divide="ignore"):
            stop = np.minimum(np.ceil(magnitude / s_low[:, None] - 0.5), reach).astype(np.int64)
        return first, stop, magnitude

    @cached_property
    def p2(self) -> np.ndarray:
        """Prefix sums of v^2, P2[i] = sum_{j<i} v_j^2: built on first use (the zoo sweep needs none)."""
        p2 = np.zeros(self.size + 1)
        np.square(self.values, out=p2[1:])
        np.cumsum(p2[1:], out=p2[1:])
        return p2

    def pruning_error(self, n_pruned: int) -> float:
        """Squared error sum of zeroing the ``n_pruned`` smallest-magnitude values (their sum of squares)."""
        return float(self.pruning_errors([n_pruned])[0])

    def pruning_errors(self, counts) -> np.ndarray:
        """``pruning_error`` for each of ``counts``.

        The k values nearest zero are a window [start, start + k) of the sorted values (ties in
        magnitude: the negative one first); each window is summed on its own, so a count's error does
        not depend on the other counts asked for with it.
        """
        counts = np.clip(np.asarray(counts, dtype=np.int64), 0, self.size)
        errors = np.zeros(counts.size)
        for i, k in enumerate(counts):
            start = self.window_start(int(k))
            window = self.values[start:start + k]
            errors[i] = np.einsum("i,i->", window, window)
        return errors

    def window_start(self, k: int) -> int:
        """Start of the window of the k values nearest zero, by bisection: move right while the left
        end is farther from zero than the next value on the right (ties stay left)."""
        lo, hi = 0, self.size - k
        while lo < hi:
            mid = (lo + hi) // 2
            if -self.values[mid] > self.values[mid + k]:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def zero_count(self, scale: float) -> int:
        """How many values quantize to exactly zero with step ``scale``: |w / scale| <= 1/2 (ties to even)."""
        magnitude = 0.5 * scale
        start = np.searchsorted(self.values, -magnitude, side="left")
        stop = np.searchsorted(self.values, magnitude, side="right")
        # The float division w / scale can round across 1/2 at the edges: settle them exactly.
        while start > 0 and abs(self.values[start - 1] / scale) <= 0.5:
            start -= 1
        while start < stop and abs(self.values[start] / scale) > 0.5:
            start += 1
        while stop < self.size and abs(self.values[stop] / scale) <= 0.5:
            stop += 1
        while stop > start and abs(self.values[stop - 1] / scale) > 0.5:
            stop -= 1
        return int(stop - start)


def _first_minima(values: np.ndarray, heads: np.ndarray) -> np.ndarray:
    """Index of the first least value of each run of ``values`` starting at ``heads``."""
    run = np.repeat(np.arange(heads.size), np.diff(np.append(heads, values.size)))
    hits = np.flatnonzero(values == np.minimum.reduceat(values, heads)[run])
    return hits[np.searchsorted(run[hits], np.arange(heads.size))]


def _running(heads, start, increments) -> np.ndarray:
    """Per segment (``exact_scales``' layout: each triple's head, then one per event of it): the
    triple's ``start`` plus the increments of its events so far, summed triple by triple (one sum
    over all would carry the rounding of the larger ones into the smaller ones)."""
    out = np.empty(heads.size + increments.size)
    for g, (head, end) in enumerate(zip(heads, np.append(heads[1:], out.size))):
        out[head] = start[g]
        np.cumsum(increments[head - g:end - g - 1], out=out[head + 1:end])
        out[head + 1:end] += start[g]
    return out
