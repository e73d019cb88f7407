"""Uncertainty of a result measured over several seeds, and the verdicts drawn from it.

- ``mean_interval``: mean and two-sided Student-t interval, mean +- t_{1-a/2, n-1} s / sqrt(n).
- ``paired_interval``: the same for the per-seed differences a_i - b_i (seed i gave both runs the
  same data order and crops, so the pairing removes the variation they share).
- ``winner``: ``quant``, ``prune`` or ``inconclusive`` from the paired interval: a method wins only
  when the whole interval of the difference lies on its side of zero.
- ``correlation_interval``: Pearson or Spearman r with the Fisher-z interval (``fisher_interval``):
  Pearson's as scipy's ``pearsonr(...).confidence_interval()`` computes it; Spearman's (Pearson of
  the ranks) with the z variance 1.06 / (n - 3) of Fieller, Hartley & Pearson (1957).

Fewer than two values give no interval (NaN bounds) and so no winner; values without spread give a
zero-width interval (every seed agreed exactly). NaN values are refused, not dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as _scipy

CONFIDENCE = 0.95
WINNERS = ("quant", "prune", "inconclusive")


@dataclass(frozen=True)
class Interval:
    """A mean (or correlation) with its two-sided interval at ``confidence``, from ``n`` values."""

    mean: float
    lo: float
    hi: float
    n: int
    confidence: float = CONFIDENCE

    def excludes(self, value: float = 0.0) -> bool:
        """True when the interval lies entirely on one side of ``value`` (never for NaN bounds)."""
        return bool(self.lo > value or self.hi < value)


def _values(values, what: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).ravel()
    if np.isnan(array).any():
        raise ValueError(f"{what}: NaN among {array.tolist()}; every seed needs a finished value")
    return array


def mean_interval(values, confidence: float = CONFIDENCE) -> Interval:
    """Mean of ``values`` with the Student-t interval (n - 1 degrees of freedom)."""
    x = _values(values, "mean_interval")
    if x.size == 0:
        raise ValueError("mean_interval: no values")
    mean = float(x.mean())
    if x.size < 2:
        return Interval(mean, math.nan, math.nan, 1, confidence)
    half = float(_scipy.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return Interval(mean, mean - half, mean + half, int(x.size), confidence)


def paired_interval(a, b, confidence: float = CONFIDENCE) -> Interval:
    """Interval of the mean paired difference a_i - b_i (equal lengths, paired by position)."""
    a, b = _values(a, "paired_interval"), _values(b, "paired_interval")
    if a.shape != b.shape:
        raise ValueError(f"paired_interval: {a.size} values against {b.size}; pair them seed by seed")
    return mean_interval(a - b, confidence)


def winner(quant, prune, higher_is_better: bool = True, confidence: float = CONFIDENCE) -> str:
    """``quant`` or ``prune`` when the paired interval of their difference excludes zero, else
    ``inconclusive`` (also with fewer than two seeds)."""
    difference = paired_interval(quant, prune, confidence)
    if not difference.excludes(0.0):
        return "inconclusive"
    quant_ahead = difference.lo > 0
    return "quant" if quant_ahead == higher_is_better else "prune"


def correlation_interval(x, y, method: str = "pearson", confidence: float = CONFIDENCE) -> Interval:
    """r with the Fisher-z interval tanh(atanh r +- z_{1-a/2} / sqrt(n - 3)); NaN bounds for n < 4."""
    x, y = _values(x, "correlation_interval"), _values(y, "correlation_interval")
    if x.shape != y.shape:
        raise ValueError(f"correlation_interval: {x.size} x values against {y.size} y values")
    if method == "spearman":
        x, y = _scipy.rankdata(x), _scipy.rankdata(y)
    elif method != "pearson":
        raise ValueError(f"method must be 'pearson' or 'spearman', got {method!r}")
    n = int(x.size)
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return Interval(math.nan, math.nan, math.nan, n, confidence)
    r = float(np.clip(np.corrcoef(x, y)[0, 1], -1.0, 1.0))
    return fisher_interval(r, n, confidence, variance=1.06 if method == "spearman" else 1.0)


def fisher_interval(r: float, n: int, confidence: float = CONFIDENCE, variance: float = 1.0) -> Interval:
    """A correlation r of n points with tanh(atanh r +- z_{1-a/2} sqrt(variance / (n - 3))); NaN bounds
    for n < 4; a perfect correlation is its own interval (Fisher's collapses there)."""
    if abs(r) == 1.0:
        return Interval(r, r, r, n, confidence)
    if n < 4:
        return Interval(r, math.nan, math.nan, n, confidence)
    half = _scipy.norm.ppf(0.5 + confidence / 2) * math.sqrt(variance / (n - 3))
    z = math.atanh(r)
    return Interval(r, math.tanh(z - half), math.tanh(z + half), n, confidence)
