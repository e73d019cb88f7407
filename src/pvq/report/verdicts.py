"""Verdicts on the paper's claims, and the uncertainty of the noisy numbers behind them.

A claim is checked in parts (one bit width, one cell of a table, one side of an "only at A" claim),
each ``yes`` (holds), ``no`` (contradicted) or ``inconclusive`` (the difference lies within its
uncertainty, or there is nothing to judge). ``combine`` gives the claim's verdict:

- ``yes``: every part holds;
- ``no``: some part is contradicted and none holds;
- ``partly``: some parts hold and some are contradicted;
- ``inconclusive``: nothing contradicted, but not every part shown to hold (or no parts at all).

A claim "X only at A" is checked on both sides (``only_at``): parts "X at a" for every a in A and
"not X at e" for every e elsewhere. X everywhere gives ``partly``, not ``yes``; X nowhere in A gives
``no`` (the claim's assertion fails, whatever holds elsewhere).

A noisy number is an ``Estimate``: a value with a 95 % interval. A test accuracy of one run gets the
Wilson score interval of its count of correct examples (test-set noise only: one run says nothing
about the spread between training runs); a mean over seeds comes with its own interval. The
difference of two independent estimates gets the MOVER interval (Newcombe 1998, method 10, for two
Wilson intervals; Zou & Donner 2008 in general): it needs nothing but the two intervals, and it is
conservative when the two share their test images (a paired test on per-image results is sharper).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import stats

from pvq.stats import Interval, fisher_interval, mean_interval

YES, NO, PARTLY, INCONCLUSIVE = "yes", "no", "partly", "inconclusive"
CONFIDENCE = 0.95


def verdict(holds: bool) -> str:
    """The part verdict of an exactly known fact."""
    return YES if holds else NO


def combine(parts: Iterable[str]) -> str:
    """A claim's verdict from its parts' (each yes, no or inconclusive); see the module docstring."""
    parts = list(parts)
    unknown = set(parts) - {YES, NO, INCONCLUSIVE}
    if unknown:
        raise ValueError(f"part verdicts must be yes, no or inconclusive, got {sorted(unknown)}")
    if YES in parts and NO in parts:
        return PARTLY
    if NO in parts:
        return NO
    if parts and all(part == YES for part in parts):
        return YES
    return INCONCLUSIVE


def only_at(inside: Iterable[str], outside: Iterable[str]) -> str:
    """Verdict of 'X happens at A, and not elsewhere' from the parts of each side ("X at a" for each
    a in A; "not X at e" for each e elsewhere). A side with no parts counts as inconclusive."""
    inside, outside = list(inside) or [INCONCLUSIVE], list(outside) or [INCONCLUSIVE]
    if combine(inside) == NO:
        return NO
    return combine(inside + outside)


def tally(parts: Iterable[str]) -> str:
    """'3 yes, 1 no, 2 inconclusive' (only the kinds present), for a claim's evidence."""
    counts = Counter(parts)
    return ", ".join(f"{counts[k]} {k}" for k in (YES, NO, INCONCLUSIVE) if counts[k]) or "nothing to judge"


@dataclass(frozen=True)
class Estimate:
    """A number with its interval lo <= value <= hi (an exact number: lo = value = hi)."""

    value: float
    lo: float
    hi: float

    def __post_init__(self):
        if any(math.isnan(x) for x in (self.value, self.lo, self.hi)):
            raise ValueError(f"an estimate needs a value and both interval ends, got {self}")
        if not self.lo <= self.value <= self.hi:
            raise ValueError(f"interval [{self.lo}, {self.hi}] does not contain the value {self.value}")

    @classmethod
    def exact(cls, value: float) -> Estimate:
        return cls(value, value, value)

    def __str__(self) -> str:
        """The value and, where it is finite and not exact, the interval (3 significant digits)."""
        if self.lo == self.hi or not (math.isfinite(self.lo) and math.isfinite(self.hi)):
            return f"{self.value:+.3g}"
        return f"{self.value:+.3g} [{self.lo:+.3g}, {self.hi:+.3g}]"


def exceeds(estimate: Estimate, threshold: float = 0.0) -> str:
    """Part verdict of 'the true value is above ``threshold``': yes if the whole interval is above it,
    no if the whole interval is at or below it, inconclusive if the interval straddles it."""
    if estimate.lo > threshold:
        return YES
    if estimate.hi <= threshold:
        return NO
    return INCONCLUSIVE


def below(estimate: Estimate, threshold: float = 0.0) -> str:
    """Part verdict of 'the true value is below ``threshold``' (the mirror of ``exceeds``)."""
    return exceeds(Estimate(-estimate.value, -estimate.hi, -estimate.lo), -threshold)


def wilson_interval(successes: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion successes / n (as fractions)."""
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n > 0, got {successes} of {n}")
    z = stats.norm.ppf(0.5 + confidence / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    # At p = 0 or 1 the interval's end is the observed proportion itself (rounding aside).
    return (0.0 if successes == 0 else max(centre - half, 0.0)), (1.0 if successes == n else min(centre + half, 1.0))


def accuracy_estimate(percent: float, n: int, confidence: float = CONFIDENCE) -> Estimate:
    """A test metric in % of ``n`` examples, as an estimate with its Wilson interval (in %).

    Raises ValueError if ``percent`` is not a whole count of the n examples (then n is not the size
    of the set the metric was computed on).
    """
    correct = round(percent * n / 100)
    if abs(100 * correct / n - percent) > 1e-6:
        raise ValueError(f"{percent}% is not a whole number of {n} examples: is {n} the test-set size?")
    lo, hi = wilson_interval(correct, n, confidence)
    return Estimate(100 * correct / n, min(100 * lo, 100 * correct / n), max(100 * hi, 100 * correct / n))


def difference(a: Estimate, b: Estimate) -> Estimate:
    """a - b with the MOVER interval of two independent estimates (Newcombe's method 10 for Wilson ones)."""
    d = a.value - b.value
    return Estimate(d, d - math.hypot(a.value - a.lo, b.hi - b.value), d + math.hypot(a.hi - a.value, b.value - b.lo))


def winner(a: Estimate, b: Estimate, names: tuple[str, str] = ("quant", "prune")) -> str:
    """``names[0]`` if a is above b beyond the uncertainty of a - b, ``names[1]`` if below, else inconclusive."""
    gap = difference(a, b)
    if gap.lo > 0:
        return names[0]
    if gap.hi < 0:
        return names[1]
    return INCONCLUSIVE


def mean_estimate(values, confidence: float = CONFIDENCE) -> Estimate:
    """The mean of independent repeats (seeds) with its Student-t interval (pvq.stats); one value: unbounded."""
    return _estimate(mean_interval(values, confidence))


def correlation_estimate(r: float, n: int, confidence: float = CONFIDENCE) -> Estimate:
    """A Pearson correlation of n points with its Fisher-z interval (pvq.stats); fewer than 4 points
    (or no r): [-1, 1]."""
    if not np.isfinite(r):
        return Estimate(0.0, -1.0, 1.0)
    interval = fisher_interval(float(r), n, confidence)
    return Estimate(float(r), -1.0, 1.0) if n < 4 else _estimate(interval)


def _estimate(interval: Interval) -> Estimate:
    """An interval of pvq.stats as an Estimate (no interval: unbounded)."""
    lo, hi = (-math.inf, math.inf) if math.isnan(interval.lo) else (interval.lo, interval.hi)
    return Estimate(interval.mean, lo, hi)


def auc_test(higher, lower, confidence: float = CONFIDENCE) -> tuple[float, float, str]:
    """Does a score rank the ``higher`` group above the ``lower`` one? (ROC AUC, two-sided Mann-Whitney
    p-value, part verdict): yes if the AUC is above 1/2 at that confidence, no if below, else
    inconclusive (also when a group is empty)."""
    higher, lower = np.asarray(higher, dtype=float), np.asarray(lower, dtype=float)
    if higher.size == 0 or lower.size == 0:
        return math.nan, math.nan, INCONCLUSIVE
    test = stats.mannwhitneyu(higher, lower, alternative="two-sided")
    auc = float(test.statistic) / (higher.size * lower.size)
    if test.pvalue >= 1 - confidence or auc == 0.5:
        return auc, float(test.pvalue), INCONCLUSIVE
    return auc, float(test.pvalue), YES if auc > 0.5 else NO
