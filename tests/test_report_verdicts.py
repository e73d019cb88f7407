"""pvq.report.verdicts: verdict logic and the intervals behind it, against scipy, sklearn, published
values (Newcombe 1998) and Monte Carlo coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from pvq.report.verdicts import (INCONCLUSIVE, NO, PARTLY, YES, Estimate, accuracy_estimate, auc_test, below,
                                 combine, correlation_estimate, difference, exceeds, mean_estimate, only_at,
                                 tally, wilson_interval, winner)


@pytest.mark.parametrize("parts, expected", [
    ([YES, YES], YES),
    ([NO, NO], NO),
    ([YES, NO], PARTLY),
    ([YES, NO, INCONCLUSIVE], PARTLY),
    ([NO, INCONCLUSIVE], NO),  # a contradiction decides even where other parts are unknown
    ([YES, INCONCLUSIVE], INCONCLUSIVE),  # not every part shown to hold
    ([INCONCLUSIVE], INCONCLUSIVE),
    ([], INCONCLUSIVE),  # nothing to judge
])
def test_combine_by_hand(parts, expected):
    assert combine(parts) == expected


def test_combine_rejects_a_claim_verdict_as_a_part():
    with pytest.raises(ValueError, match="yes, no or inconclusive"):
        combine([YES, PARTLY])


@pytest.mark.parametrize("inside, outside, expected", [
    ([YES, YES], [YES, YES], YES),      # X at A and nowhere else
    ([YES, YES], [YES, NO], PARTLY),    # X at A and somewhere else too (the Fig. 2 case)
    ([NO, NO], [YES, YES], NO),         # X nowhere at A: the assertion fails, however true "not elsewhere" is
    ([NO, NO], [NO], NO),
    ([YES, NO], [YES], PARTLY),         # X at part of A only
    ([INCONCLUSIVE], [YES], INCONCLUSIVE),
    ([INCONCLUSIVE], [NO], NO),         # X outside A for certain refutes "only"
    ([], [YES], INCONCLUSIVE),          # A not computed
])
def test_only_at_checks_both_sides(inside, outside, expected):
    assert only_at(inside, outside) == expected


def test_tally_counts_the_kinds_present():
    assert tally([YES, NO, YES, INCONCLUSIVE]) == "2 yes, 1 no, 1 inconclusive"
    assert tally([]) == "nothing to judge"


@pytest.mark.parametrize("estimate, threshold, above, under", [
    (Estimate(1.0, 0.5, 1.5), 0.0, YES, NO),
    (Estimate(1.0, -0.5, 1.5), 0.0, INCONCLUSIVE, INCONCLUSIVE),
    (Estimate(-1.0, -1.5, -0.5), 0.0, NO, YES),
    (Estimate.exact(0.0), 0.0, NO, NO),  # an exact tie is neither above nor below
    (Estimate(0.7, 0.6, 0.8), 0.5, YES, NO),
    (Estimate(0.4, 0.2, 0.5), 0.5, NO, INCONCLUSIVE),  # touching from below: not above; not surely below
])
def test_exceeds_and_below_on_interval_edges(estimate, threshold, above, under):
    assert exceeds(estimate, threshold) == above
    assert below(estimate, threshold) == under


def test_estimate_rejects_an_interval_without_its_value():
    with pytest.raises(ValueError, match="does not contain"):
        Estimate(2.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="needs a value"):
        Estimate(float("nan"), 0.0, 1.0)


@pytest.mark.parametrize("k, n", [(0, 10), (1, 10), (5, 10), (10, 10), (314, 368), (368, 368), (1, 1), (56, 70)])
def test_wilson_interval_matches_scipy(k, n):
    reference = stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(reference.low, abs=1e-12) and hi == pytest.approx(reference.high, abs=1e-12)


def test_wilson_interval_rejects_impossible_counts():
    with pytest.raises(ValueError):
        wilson_interval(3, 2)
    with pytest.raises(ValueError):
        wilson_interval(0, 0)


def test_accuracy_estimate_is_a_count_of_the_test_set():
    estimate = accuracy_estimate(100 * 314 / 368, 368)
    lo, hi = wilson_interval(314, 368)
    assert (estimate.lo, estimate.hi) == pytest.approx((100 * lo, 100 * hi))
    assert accuracy_estimate(100.0, 368).hi == 100.0
    with pytest.raises(ValueError, match="test-set size"):
        accuracy_estimate(85.0, 368)  # 312.8 images: not a count of 368


# Newcombe (1998), Statistics in Medicine 17:873, Table II, method 10 (score interval, no correction).
NEWCOMBE = [((56, 70), (48, 80), (0.0524, 0.3339)), ((9, 10), (3, 10), (0.1705, 0.8090)),
            ((6, 7), (2, 7), (0.0582, 0.8062)), ((5, 56), (0, 29), (-0.0381, 0.1926)),
            ((0, 10), (0, 20), (-0.1611, 0.2775)), ((10, 10), (0, 20), (0.6791, 1.0000))]


def _proportion(k, n):
    lo, hi = wilson_interval(k, n)
    return Estimate(k / n, lo, hi)


@pytest.mark.parametrize("a, b, expected", NEWCOMBE)
def test_difference_is_newcombes_method_10_for_wilson_intervals(a, b, expected):
    d = difference(_proportion(*a), _proportion(*b))
    assert d.value == pytest.approx(a[0] / a[1] - b[0] / b[1])
    assert (d.lo, d.hi) == pytest.approx(expected, abs=5e-5)


def test_difference_covers_the_true_gap_about_95_percent_of_the_time():
    """Monte Carlo: two independent accuracies of 368 test images, true values 0.95 and 0.93."""
    rng = np.random.default_rng(0)
    n, p, q, trials = 368, 0.95, 0.93, 4000
    hits = 0
    for a, b in zip(rng.binomial(n, p, trials), rng.binomial(n, q, trials)):
        d = difference(_proportion(a, n), _proportion(b, n))
        hits += d.lo <= p - q <= d.hi
    assert 0.93 <= hits / trials <= 0.975  # 95 % nominal; 4,000 trials: standard error 0.35 %


def test_winner_needs_the_gap_beyond_its_interval():
    assert winner(_proportion(360, 368), _proportion(300, 368)) == "quant"
    assert winner(_proportion(300, 368), _proportion(360, 368)) == "prune"
    assert winner(_proportion(360, 368), _proportion(358, 368)) == INCONCLUSIVE  # two images apart
    assert winner(Estimate.exact(70.0), Estimate.exact(70.0)) == INCONCLUSIVE  # an exact tie
    assert winner(Estimate.exact(70.1), Estimate.exact(70.0)) == "quant"


def test_mean_estimate_is_the_student_t_interval():
    values = [98.1, 97.6, 98.4, 97.9, 98.0]
    estimate = mean_estimate(values)
    lo, hi = stats.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=stats.sem(values))
    assert (estimate.lo, estimate.hi) == pytest.approx((lo, hi))
    single = mean_estimate([1.0])
    assert math.isinf(single.lo) and math.isinf(single.hi) and exceeds(single) == INCONCLUSIVE
    with pytest.raises(ValueError):
        mean_estimate([])


def test_pearson_interval_matches_scipy():
    rng = np.random.default_rng(3)
    x = rng.normal(size=30)
    y = 0.6 * x + rng.normal(size=30)
    result = stats.pearsonr(x, y)
    reference = result.confidence_interval(0.95)
    estimate = correlation_estimate(result.statistic, 30)
    assert (estimate.lo, estimate.hi) == pytest.approx((reference.low, reference.high), abs=1e-9)
    assert correlation_estimate(0.99, 3) == Estimate(0.99, -1.0, 1.0)  # too few points to say anything
    assert correlation_estimate(1.0, 20).lo == pytest.approx(1.0)


def test_auc_test_matches_sklearn_and_decides_only_when_significant():
    rng = np.random.default_rng(5)
    high, low = rng.normal(1.0, 1.0, 40), rng.normal(0.0, 1.0, 60)
    auc, p, verdict = auc_test(high, low)
    labels = np.r_[np.ones(40), np.zeros(60)]
    assert auc == pytest.approx(roc_auc_score(labels, np.r_[high, low]))
    assert p == pytest.approx(stats.mannwhitneyu(high, low).pvalue) and verdict == YES
    assert auc_test(low, high)[2] == NO
    assert auc_test([5.0], [1.0, 2.0])[2] == INCONCLUSIVE  # AUC 1, but one tensor proves nothing
    assert auc_test([], [1.0])[2] == INCONCLUSIVE
