"""N:M pruning of one output channel (pvq.bounds.prune_nm) against brute-force per-group enumeration.

The brute force tries every way to keep min(n, size) features of every group and refits each support
with numpy's SVD-based lstsq; the certified optimum must equal it (tolerances as in
test_bounds_singular: backward-stable fits on supports of condition number kappa), its lower bound
must not exceed it, and N:M magnitude + refit must not beat it. The magnitude mask is checked
against pvq.methods' NM pattern on the same row (an independent implementation of the same rule).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pvq import bounds
from pvq.bounds.prune_nm import nm_groups
from pvq.methods import NM
from test_bounds import error, instance
from test_bounds_singular import DEFECTS, defective, prune_tolerance


def brute_nm(X, w0, n, labels) -> tuple[float, float, list]:
    """(least error over every support keeping min(n, size) of each group, the largest condition
    number of a support's independent part, the supports reaching it within 1e-9 relative)."""
    y = X @ w0
    per_group = [list(itertools.combinations(np.flatnonzero(labels == g), min(n, int(np.sum(labels == g)))))
                 for g in np.unique(labels)]
    results, kappa = [], 1.0
    for choice in itertools.product(*per_group):
        support = sorted(itertools.chain.from_iterable(choice))
        w = np.zeros_like(w0)
        if support:
            w[support] = np.linalg.lstsq(X[:, support], y, rcond=None)[0]
            singular = np.linalg.svd(X[:, support], compute_uv=False)
            if singular.max() > 0:
                singular = singular[singular > 1e-12 * singular.max()]
                kappa = max(kappa, singular[0] / singular[-1])
        results.append((error(X, w, w0), support))
    best = min(e for e, _ in results)
    return best, kappa, [s for e, s in results if e <= best * (1 + 1e-9) + 1e-12]


def check_certified(X, w0, n, m, labels=None):
    labels = nm_groups(w0.size, m) if labels is None else labels
    truth, kappa, _ = brute_nm(X, w0, n, labels)
    tol = prune_tolerance(X, w0, truth, kappa)
    result = bounds.solve_prune_nm_exact(X, w0, n, m, groups=labels)
    assert result.status == "optimal"
    assert abs(result.error - truth) <= tol
    assert result.lower_bound <= truth + tol
    # the error of the returned weights, recomputed on X: equal up to the same rounding budget (nearly
    # collinear columns give minimum-norm weights whose products round at kappa times eps)
    assert abs(result.error - error(X, result.weights, w0)) <= tol
    support = result.info["support"]
    for g in np.unique(labels):  # exactly min(n, size) kept per group, weights only on the support
        size = int(np.sum(labels == g))
        assert np.sum(labels[support] == g) == min(n, size)
    assert np.all(result.weights[np.setdiff1d(np.arange(w0.size), support)] == 0)
    heuristic = bounds.prune_nm_heuristic(X, w0, n, m, groups=labels)
    assert heuristic.error >= truth - tol
    return result, truth


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n,m", [(2, 4), (1, 4), (1, 2), (3, 4), (2, 3)])
def test_exact_equals_brute_force(seed, n, m):
    X, w0 = instance(seed, n=10, m=30)  # 10 features: short last group for m = 3, 4
    check_certified(X, w0, n, m)


@settings(max_examples=40, deadline=None)
@given(features=st.integers(3, 9), wide=st.booleans(), pattern=st.sampled_from([(2, 4), (1, 4), (1, 2), (2, 3)]),
       defects=st.lists(st.sampled_from(DEFECTS), max_size=2), seed=st.integers(0, 2**32 - 1))
def test_exact_on_singular_x(features, wide, pattern, defects, seed):
    """Fewer rows than features, zero, duplicated, scaled, combined, collinear and tiny columns."""
    rows = max(1, features // 2) if wide else 2 * features
    X, w0 = defective(seed, rows, features, defects)
    check_certified(X, w0, *pattern)


def test_columns_1e9_apart_in_one_group_are_solved_not_a_linalg_error():
    """A case hypothesis found: the Schur-complement drop costs met a singular H_DD in floating point."""
    X, w0 = defective(0, 10, 5, ["collinear"])
    check_certified(X, w0, 2, 4)


def test_duplicated_and_zero_columns_in_one_group():
    """A group holding a column, its duplicate and a zero column: either copy serves; the zero one
    is kept only where its group must keep more features than it has live ones."""
    X, w0 = instance(7, n=8, m=20)
    X[:, 1] = X[:, 0]
    X[:, 2] = 0.0
    X[:, 5] = 0.0
    X[:, 6] = 0.0
    X[:, 7] = 0.0  # group 1 holds one live column: 2:4 must keep a zero column beside it
    result, truth = check_certified(X, w0, 2, 4)
    assert 4 in result.info["support"]
    assert result.weights[2] == 0 and np.all(result.weights[5:] == 0)


def test_ties_in_magnitude_and_in_error():
    """Equal |w0| in a group: N:M magnitude keeps the earlier ones (as pvq.methods does); with
    orthonormal X every support's error is the dropped weights' energy, so the optimum is magnitude."""
    w0 = np.array([1.0, -1.0, 1.0, 0.5, 2.0, 2.0, -2.0, 2.0])
    X = np.eye(8)
    heuristic = bounds.prune_nm_heuristic(X, w0, 2, 4)
    assert list(heuristic.info["support"]) == [0, 1, 4, 5]
    result, truth = check_certified(X, w0, 2, 4)
    assert truth == pytest.approx(1.0 + 0.25 + 8.0)
    assert result.error == pytest.approx(truth)


@pytest.mark.parametrize("seed", range(4))
def test_magnitude_mask_matches_pvq_methods(seed):
    """Our N:M magnitude support equals pvq.methods' NM(n, m) keep mask on the same row, short last
    group and ties included."""
    rng = np.random.default_rng(seed)
    w0 = np.round(rng.standard_normal(11), 1)  # rounding makes ties
    for n, m in [(2, 4), (1, 4), (3, 8), (1, 2)]:
        kept = bounds.prune_nm_heuristic(np.eye(11), w0, n, m, refit=False)
        mask = NM(n, m).keep(np.abs(w0)[None, :])[0]
        assert list(kept.info["support"]) == list(np.flatnonzero(mask))
        assert np.array_equal(kept.weights, np.where(mask, w0, 0.0))


def test_refit_is_the_minimum_norm_fit():
    """Kept columns that are linearly dependent (duplicates): the refit is pinv's minimum-norm answer."""
    X, w0 = instance(3, n=8, m=5)  # 5 rows: every 2:4 support of 4 columns spans at most 4 of them
    X[:, 1] = X[:, 0]
    heuristic = bounds.prune_nm_heuristic(X, w0, 2, 4)
    support = heuristic.info["support"]
    expected = np.zeros(8)
    expected[support] = np.linalg.pinv(X[:, support]) @ (X @ w0)
    assert np.allclose(heuristic.weights, expected, atol=1e-9)
    exact = bounds.solve_prune_nm_exact(X, w0, 2, 4)
    expected = np.zeros(8)
    expected[exact.info["support"]] = np.linalg.pinv(X[:, exact.info["support"]]) @ (X @ w0)
    assert np.allclose(exact.weights, expected, atol=1e-9)


def test_custom_groups_not_consecutive():
    """Groups given as labels (a conv's N:M groups are strided in the unfolded order)."""
    X, w0 = instance(11, n=9, m=40)
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2]) * 7  # any integers
    check_certified(X, w0, 2, 3, labels)


@pytest.mark.parametrize("n", [0, 4])
def test_edges_keep_none_and_keep_all(n):
    X, w0 = instance(2, n=8, m=20)
    result, truth = check_certified(X, w0, n, 4)
    if n == 0:
        assert result.error == pytest.approx(float(np.sum((X @ w0) ** 2)))
        assert np.all(result.weights == 0)
    else:
        assert result.error == pytest.approx(0.0, abs=1e-9 * float(np.sum((X @ w0) ** 2)))


def test_time_limit_keeps_a_valid_bound():
    X, w0 = instance(5, n=24, m=100)
    truth = bounds.solve_prune_nm_exact(X, w0, 2, 4).error
    stopped = bounds.solve_prune_nm_exact(X, w0, 2, 4, time_limit=0.0)
    assert stopped.status == "time_limit"
    assert stopped.lower_bound <= truth * (1 + 1e-9) <= stopped.error * (1 + 1e-9)


def test_exact_at_least_as_good_as_unstructured_bound():
    """N:M keeping 2 of 4 is a support of size n/2: the unstructured optimum at that size is a lower bound."""
    X, w0 = instance(9, n=16, m=60)
    nm = bounds.solve_prune_nm_exact(X, w0, 2, 4)
    free = bounds.solve_prune_exact(X, w0, 8)
    assert free.error <= nm.error * (1 + 1e-9)


@pytest.mark.parametrize("call,match", [
    (lambda X, w: bounds.solve_prune_nm_exact(X, w, 5, 4), "0 <= n <= m"),
    (lambda X, w: bounds.solve_prune_nm_exact(X, w, 2.0, 4), "integer"),
    (lambda X, w: bounds.solve_prune_nm_exact(X, w, 2, 4, groups=np.zeros(8, int)), "larger than m"),
    (lambda X, w: bounds.prune_nm_heuristic(X, w, 2, 4, groups=np.zeros(3, int)), "one integer label"),
    (lambda X, w: bounds.solve_prune_nm_exact(X, w, 16, 32), "small m"),
])
def test_bad_input_is_refused(call, match):
    X, w0 = instance(0, n=8, m=20)
    with pytest.raises((ValueError, TypeError), match=match):
        call(np.hstack([X] * 4) if "small m" in match else X, np.tile(w0, 4) if "small m" in match else w0)


# --- the one-shot methods with an N:M pattern (issue #18): OBS and Wanda ---------------------------

def pattern_holds(weights, labels, n):
    """At most n nonzero weights in every group."""
    return all(np.count_nonzero(weights[labels == g]) <= n for g in np.unique(labels))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n, m", [(2, 4), (1, 4), (3, 4)])
def test_nm_one_shot_methods_keep_the_pattern_and_never_beat_brute_force(seed, n, m):
    X, w0 = instance(seed, n=8, m=40)
    labels = nm_groups(8, m)
    truth, kappa, _ = brute_nm(X, w0, n, labels)
    tol = prune_tolerance(X, w0, truth, kappa)
    for result in (bounds.obs_prune_nm(X, w0, n, m), bounds.wanda_prune_nm(X, w0, n, m),
                   bounds.wanda_prune_nm(X, w0, n, m, refit=True)):
        assert pattern_holds(result.weights, labels, n)
        assert result.error >= truth - tol
        assert result.error == pytest.approx(error(X, result.weights, w0), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_nm_obs_removing_one_weight_is_the_exact_optimum(seed):
    """One group of 4 keeping 3: one removal, and greedy OBS with the exact Hessian picks the best one."""
    X, w0 = instance(seed, n=4, m=20)
    truth, _, _ = brute_nm(X, w0, 3, nm_groups(4, 4))
    assert bounds.obs_prune_nm(X, w0, 3, 4, damp=0.0).error == pytest.approx(truth, rel=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_nm_obs_with_one_group_of_the_whole_row_is_unstructured_obs(seed):
    X, w0 = instance(seed, n=7, m=30)
    grouped = bounds.obs_prune_nm(X, w0, 3, 7)
    plain = bounds.obs_prune(X, w0, 3)
    np.testing.assert_array_equal(grouped.weights, plain.weights)
    np.testing.assert_array_equal(grouped.info["removed"], plain.info["removed"])


@pytest.mark.parametrize("seed", range(4))
def test_nm_obs_is_greedy_by_refitted_error_with_the_exact_hessian(seed):
    """Independent greedy: at each step drop, among the groups still over n, the column whose removal
    leaves the least least-squares error (numpy lstsq refits); OBS's saliency is that increase."""
    X, w0 = instance(seed, n=8, m=40)
    labels, n = nm_groups(8, 4), 2
    support = list(range(8))
    while any(np.sum(labels[support] == g) > n for g in np.unique(labels)):
        def refit_error(drop):
            kept = [j for j in support if j != drop]
            w = np.zeros_like(w0)
            w[kept] = np.linalg.lstsq(X[:, kept], X @ w0, rcond=None)[0]
            return error(X, w, w0)
        crowded = [j for j in support if np.sum(labels[support] == labels[j]) > n]
        support.remove(min(crowded, key=refit_error))
    result = bounds.obs_prune_nm(X, w0, n, 4, damp=0.0)
    np.testing.assert_array_equal(np.sort(result.info["support"]), support)


def test_nm_wanda_selects_the_largest_scores_of_each_group_by_hand():
    X = np.array([[1.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0],
                  [0.0, 3.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0],
                  [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
                  [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]])
    w0 = np.array([2.0, -1.0, 1.5, 0.5, 1.0, -3.0, 2.0, 2.0])
    # scores |w| * ||x||: 2, 3, 1.5, 0.5 | 2, 3, 2, 2 -> keep {1, 0} and {5, 4} (ties to the earlier)
    result = bounds.wanda_prune_nm(X, w0, 2, 4)
    np.testing.assert_array_equal(result.info["support"], [0, 1, 4, 5])
    np.testing.assert_array_equal(result.weights, [2.0, -1.0, 0, 0, 1.0, -3.0, 0, 0])


@pytest.mark.parametrize("defect", DEFECTS)
def test_nm_one_shot_methods_on_singular_x(defect):
    X, w0 = defective(3, 6, 8, [defect])  # fewer rows than features, and the defect
    labels = nm_groups(8, 4)
    truth, kappa, _ = brute_nm(X, w0, 2, labels)
    tol = prune_tolerance(X, w0, truth, kappa)
    for result in (bounds.obs_prune_nm(X, w0, 2, 4), bounds.wanda_prune_nm(X, w0, 2, 4, refit=True)):
        assert np.all(np.isfinite(result.weights)) and pattern_holds(result.weights, labels, 2)
        assert result.error >= truth - tol


def test_nm_obs_drops_dead_columns_first_and_edges():
    X, w0 = instance(0, n=8, m=30)
    X[:, [0, 1]] = 0.0  # both dead columns in the first group: its removals cost nothing
    result = bounds.obs_prune_nm(X, w0, 2, 4)
    assert set(result.info["removed"][:2]) == {0, 1} and np.count_nonzero(result.weights[:4]) == 2
    assert np.count_nonzero(bounds.obs_prune_nm(X, w0, 0, 4).weights) == 0
    full = bounds.obs_prune_nm(X, w0, 4, 4)
    np.testing.assert_allclose(X @ full.weights, X @ w0)
