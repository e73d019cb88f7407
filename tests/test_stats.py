"""pvq.stats against scipy's own intervals and tests, with the nasty inputs (one seed, no spread,
NaN, unequal lengths, ties, perfect correlation), and the t interval's coverage by Monte Carlo."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from pvq.stats import correlation_interval, mean_interval, paired_interval, winner


@pytest.mark.parametrize("values", [[1.0, 2.0, 4.0], [93.5, 92.1, 94.0, 93.3, 92.8], list(range(30))])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_mean_interval_equals_scipys_t_interval(values, confidence):
    ours = mean_interval(values, confidence)
    lo, hi = stats.t.interval(confidence, len(values) - 1, loc=np.mean(values), scale=stats.sem(values))
    assert ours.mean == pytest.approx(np.mean(values))
    assert (ours.lo, ours.hi) == pytest.approx((lo, hi), rel=1e-12)
    assert ours.n == len(values)


def test_paired_interval_equals_scipys_paired_t_test_interval():
    rng = np.random.default_rng(0)
    a = rng.normal(80, 3, size=7)
    b = a - 1.5 + rng.normal(0, 0.5, size=7)
    ours = paired_interval(a, b)
    theirs = stats.ttest_rel(a, b).confidence_interval(0.95)
    assert (ours.lo, ours.hi) == pytest.approx((theirs.low, theirs.high), rel=1e-12)


def test_one_seed_gives_no_interval_and_no_winner():
    one = mean_interval([91.0])
    assert one.mean == 91.0 and math.isnan(one.lo) and math.isnan(one.hi) and not one.excludes(0)
    assert winner([95.0], [10.0]) == "inconclusive"


def test_identical_seeds_give_a_zero_width_interval():
    flat = mean_interval([5.0, 5.0, 5.0])
    assert (flat.lo, flat.hi) == (5.0, 5.0)
    assert winner([70.0, 71.0, 72.0], [70.0, 71.0, 72.0]) == "inconclusive"  # ties: difference exactly 0
    assert winner([71.0, 72.0, 73.0], [70.0, 71.0, 72.0]) == "quant"  # always exactly one point ahead


def test_winner_follows_the_paired_interval_and_the_metric_direction():
    quant, prune = [90.0, 92.0, 91.0, 93.0, 90.5], [80.0, 83.0, 79.0, 84.0, 81.0]
    assert winner(quant, prune) == "quant"
    assert winner(prune, quant) == "prune"
    assert winner(quant, prune, higher_is_better=False) == "prune"  # e.g. a KL divergence
    # Overlapping per-method intervals but a consistent per-seed gain: the pairing decides.
    base = np.array([60.0, 75.0, 90.0, 68.0, 82.0])
    assert mean_interval(base + 1).lo < mean_interval(base).hi
    assert winner(base + 1 + np.array([0.1, -0.1, 0.0, 0.05, -0.05]), base) == "quant"
    # Noise larger than the gap: no verdict.
    assert winner([90.0, 70.0, 85.0], [80.0, 88.0, 75.0]) == "inconclusive"


def test_bad_inputs_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="NaN"):
        mean_interval([1.0, float("nan")])
    with pytest.raises(ValueError, match="no values"):
        mean_interval([])
    with pytest.raises(ValueError, match="pair them"):
        paired_interval([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="method"):
        correlation_interval([1, 2, 3, 4], [1, 2, 3, 4], "kendall")


@pytest.mark.parametrize("n", [5, 12, 60])
def test_pearson_interval_equals_scipys(n):
    rng = np.random.default_rng(n)
    x = rng.normal(size=n)
    y = 0.6 * x + rng.normal(size=n)
    ours = correlation_interval(x, y, "pearson")
    result = stats.pearsonr(x, y)
    ci = result.confidence_interval(0.95)
    assert ours.mean == pytest.approx(result.statistic, rel=1e-12)
    assert (ours.lo, ours.hi) == pytest.approx((ci.low, ci.high), rel=1e-10)


def test_spearman_interval_uses_the_ranks_with_ties():
    x = np.array([1.0, 2.0, 2.0, 3.0, 5.0, 5.0, 5.0, 8.0, 9.0, 10.0])  # ties: average ranks
    y = np.array([2.0, 1.0, 4.0, 3.0, 7.0, 6.0, 6.0, 9.0, 8.0, 12.0])
    ours = correlation_interval(x, y, "spearman")
    assert ours.mean == pytest.approx(stats.spearmanr(x, y).statistic, rel=1e-12)
    half = stats.norm.ppf(0.975) * math.sqrt(1.06 / (x.size - 3))  # Fieller, Hartley & Pearson
    assert (ours.lo, ours.hi) == pytest.approx(np.tanh(np.arctanh(ours.mean) + np.array([-half, half])), rel=1e-10)


def test_spearman_interval_covers_about_95_percent():
    """Monte Carlo coverage of the Fieller-Hartley-Pearson interval, bivariate normal rho = 0.6."""
    rng = np.random.default_rng(4)
    rho, n, trials = 0.6, 40, 2000
    truth = 6 / np.pi * np.arcsin(rho / 2)  # Spearman's rho of a bivariate normal
    cov = [[1, rho], [rho, 1]]
    hits = 0
    for _ in range(trials):
        x, y = rng.multivariate_normal([0, 0], cov, size=n).T
        interval = correlation_interval(x, y, "spearman")
        hits += interval.lo <= truth <= interval.hi
    assert 0.93 <= hits / trials <= 0.98


def test_degenerate_correlations():
    assert math.isnan(correlation_interval([1, 2, 3], [3, 3, 3]).mean)  # a constant: no correlation
    exact = correlation_interval([1, 2, 3, 4, 5], [2, 4, 6, 8, 10])
    assert exact.mean == pytest.approx(1.0) and exact.lo == pytest.approx(1.0)
    three = correlation_interval([1, 2, 3], [1, 3, 2])
    assert math.isnan(three.lo) and three.n == 3  # n - 3 = 0: no Fisher interval


def test_t_interval_covers_the_true_mean_95_percent_of_the_time():
    """Monte Carlo: 4,000 samples of 3 normal values (Lite0's seed count); coverage 0.95 +- 0.015."""
    rng = np.random.default_rng(1)
    samples = rng.normal(10.0, 2.0, size=(4000, 3))
    covered = [mean_interval(s).lo <= 10.0 <= mean_interval(s).hi for s in samples]
    assert abs(np.mean(covered) - 0.95) < 0.015
