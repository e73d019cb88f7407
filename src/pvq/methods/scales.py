"""How a scaling unit's scale is chosen, and where the scale is stored (its format).

Rules, each a small value with ``fit(units, grid, scale_format, base) -> scales`` (one per unit, each
``base`` times a value of ``scale_format``; ``base`` is a second-level per-tensor scale, 1 without):
- ``Max()``: max|v| onto the grid's largest level, rounded to the format (nearest, ties to even).
- ``MSE()``: the scale of the format minimising the unit's squared error. Formats of at most 8 bits
  (E8M0, E4M3) are searched exhaustively between two proven bounds: exact (for E8M0, the
  MSE-optimal power of two). Wider formats (FP16, FP32, FP64): a per-tensor INT grid takes
  ``pvq.quantize.fit_scales`` (the zoo stage's search), any other case a scan over the bracket
  (``pvq.methods.search.scan``, capped at ``SCAN_UPPER`` max|v| / top), then the better of the
  format's two values around the result.
- ``SharedExponent()``: OCP Microscaling v1.0: X = 2^(floor(log2 max|v|) - emax_elem), emax_elem the
  exponent of the element format's largest normal value, in E8M0 (clamped to 2^-127 .. 2^127);
  elements then round to nearest and saturate at the largest normal value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from pvq.methods import search
from pvq.methods.grids import E8M0, Float, Int
from pvq.quantize import fit_scales


class ScaleRule:
    """Base of every scale rule: a frozen dataclass without fields, named in spec strings by its
    ``token``, whose ``fit(units, grid, scale_format, base)`` returns one scale per unit. Defining
    the subclass registers it: ``pvq.methods.spec`` and ``Quantizer`` accept it from then on."""

    token: ClassVar[str]
    registry: ClassVar[dict[str, type]] = {}

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        known = ScaleRule.registry.get(cls.token)
        if known is not None and known.__qualname__ != cls.__qualname__:
            raise ValueError(f"scale rule token {cls.token!r} is taken by {known.__name__}")
        ScaleRule.registry[cls.token] = cls

    def fit(self, units, grid, scale_format, base: float = 1.0) -> np.ndarray:
        raise NotImplementedError


def enumerable(scale_format) -> bool:
    """Whether the MSE search tries every value of ``scale_format`` (at most 8 bits) rather than
    rounding a continuous optimum."""
    return scale_format.bits <= 8


def max_scales(units, grid, scale_format, base: float) -> np.ndarray:
    """max|v| / top rounded to the format (an all-zero unit gets ``base``)."""
    target = np.where(units.amax > 0, units.amax / (grid.top * base), 1.0)
    return base * np.maximum(scale_format.quantize(target), scale_format.smallest)


@dataclass(frozen=True)
class Max(ScaleRule):
    """The largest magnitude onto the grid's largest level (no clipping before format rounding)."""

    token = "max"

    def fit(self, units, grid, scale_format, base: float = 1.0) -> np.ndarray:
        return max_scales(units, grid, scale_format, base)


# Wide formats: the optimum over s > 0 lies in (0, 2 max|v| / top] (halving any larger scale keeps
# every code on the grid and at most halves each value's error in scale units), narrowed by the
# bracket of ``pvq.methods.search``. The units with fewest breakpoints there get the exact sweep, up
# to ``SWEEP_PER_VALUE`` breakpoints per value of the tensor (and at least ``SWEEP_MIN``); the others
# the scan (points over the bracket, finer points around its best local minima, Lloyd steps),
# measured against the exact sweep in tests/test_methods_scales.py and benchmarks/accuracy_formats.py.
# Grids of more bits have more, narrower wells: they get twice the scan points.
SWEEP_PER_VALUE = 0.1
SWEEP_MIN = 2**12
SCAN_CANDIDATES = {5: 32, 16: 64}  # grid bits up to the key -> points
SCAN_SEEDS = 2
SCAN_FINE = 6
LLOYD_STEPS = 3


@dataclass(frozen=True)
class MSE(ScaleRule):
    """The format's scale of least squared error per unit (see the module docstring)."""

    token = "mse"

    def fit(self, units, grid, scale_format, base: float = 1.0) -> np.ndarray:
        scales = max_scales(units, grid, scale_format, base)
        live = np.flatnonzero(units.amax > 0)  # an all-zero unit has no error at any scale
        if live.size:
            subset = units if live.size == units.count else units.rows(live)
            scales[live] = _fit(subset, grid, scale_format, base, scales[live])
        return scales


def _fit(units, grid, scale_format, base: float, reference: np.ndarray) -> np.ndarray:
    """``MSE.fit`` on units that are not all zero, starting from the Max rule's ``reference``."""
    if units.whole is not None and isinstance(grid, Int) and not enumerable(scale_format):
        found = np.array([fit_scales(units.whole, [grid.bits])[0].scale])
        return _rounded(units, grid, scale_format, base, found, np.full(1, np.inf), reference)
    error = search.errors(units.values, reference[:, None], grid)[:, 0]
    exact = error == 0.0  # nothing to improve (one nonzero value, or values on the grid)
    top = 2.0 * units.amax / grid.top  # see the note above SWEEP_PER_VALUE
    high = np.minimum(search.zeroing_ceiling(units, grid, error), top)
    low = np.clip(search.clipping_floor(units, grid, error), 1e-9 * high, high)
    if enumerable(scale_format):
        # Halving a level above ``top`` gives a level while it stays normal: then the bound holds here too.
        halves = units.amax / grid.top >= base * scale_format.smallest_normal
        high = np.where(halves, high * (1.0 + 1e-12), search.zeroing_ceiling(units, grid, error))
        levels = base * scale_format.positive_levels()
        return search.exhaustive(units, grid, levels, np.where(exact, np.inf, low), high, reference, error)[0]
    todo = np.flatnonzero(~exact)
    scales = reference.copy()
    if todo.size:
        subset = units if todo.size == units.count else units.rows(todo)
        found = continuous_optimum(subset, grid, low[todo], high[todo])
        scales[todo] = _rounded(subset, grid, scale_format, base, found, error[todo], reference[todo])
    return scales


def _rounded(units, grid, scale_format, base: float, found: np.ndarray, error: np.ndarray,
             reference: np.ndarray) -> np.ndarray:
    """The better of the format's two values around each ``found`` scale, or ``reference`` (whose
    error is ``error``) where neither beats it."""
    around = base * np.stack((scale_format.floor(found / base), scale_format.ceil(found / base)), axis=1)
    tried = search.errors(units.values, around, grid)
    pick = np.argmin(tried, axis=1)
    rows = np.arange(units.count)
    return np.where(tried[rows, pick] <= error, around[rows, pick], reference)


def continuous_optimum(units, grid, low: np.ndarray, high: np.ndarray, sweep_events: float | None = None) -> np.ndarray:
    """Per unit, the scale of least error in [low, high]: exact by ``search.sweep`` for the units with
    fewest breakpoints (``crossing_estimate``; up to ``sweep_events`` in all, default from
    SWEEP_PER_VALUE and SWEEP_MIN), ``search.scan`` for the others."""
    if sweep_events is None:
        sweep_events = max(SWEEP_MIN, SWEEP_PER_VALUE * units.values.size)
    abs_sum = units.large_sums[0][:, -1]
    counts = grid.crossing_estimate(abs_sum, units.length, np.minimum(low, high), high)
    order = np.argsort(counts, kind="stable")
    swept = np.zeros(units.count, dtype=bool)
    swept[order[np.cumsum(counts[order]) <= sweep_events]] = True
    found = np.empty(units.count)
    rows = np.flatnonzero(swept)
    if rows.size:
        subset = units if rows.size == units.count else units.rows(rows)
        found[rows] = search.sweep(subset, grid, low[rows], high[rows])[0]
    rows = np.flatnonzero(~swept)
    if rows.size:
        subset = units if rows.size == units.count else units.rows(rows)
        found[rows] = search.scan(subset, grid, low[rows], high[rows], scan_candidates(grid), SCAN_SEEDS,
                                  SCAN_FINE, LLOYD_STEPS)[0]
    return found


def scan_candidates(grid) -> int:
    return next(points for bits, points in SCAN_CANDIDATES.items() if grid.bits <= bits)


@dataclass(frozen=True)
class SharedExponent(ScaleRule):
    """OCP MX v1.0 shared scale X = 2^(floor(log2 max|v|) - emax_elem), in E8M0."""

    token = "shared-exp"

    def fit(self, units, grid, scale_format, base: float = 1.0) -> np.ndarray:
        if not isinstance(grid, Float) or not isinstance(scale_format, E8M0) or base != 1.0:
            raise ValueError("SharedExponent: the OCP MX rule needs a Float element grid, an E8M0 scale and "
                             "no tensor scale")
        _, exponent = np.frexp(units.amax)  # max|v| = f 2^exponent, f in [0.5, 1): floor(log2) = exponent - 1
        shared = np.clip(exponent - 1 - grid.emax, scale_format.emin, scale_format.emax)
        return np.where(units.amax > 0, np.ldexp(1.0, shared), 1.0)
