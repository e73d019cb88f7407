"""GPTQ, OBS, Wanda and OBS + GPTQ against brute force, closed forms and hand computations.

Every method returns a feasible answer whose error is its weights' true (undamped) error, never
below the brute-force optimum of its problem, on well-posed and on singular X (fewer rows than
features, zero, duplicated, collinear columns). Tolerances as in test_bounds_singular.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pvq import bounds
from test_bounds import brute_prune, brute_quant, error, instance
from test_bounds_singular import prune_tolerance, quant_tolerance, singular_problems
from test_bounds_singular import brute_prune as brute_prune_kappa


def brute_joint(X, w0, keep, delta, bits) -> float:
    """min over every support of size keep and every code vector of the b-bit box on it."""
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    vectors = list(itertools.product(range(lo, hi + 1), repeat=keep))
    codes = np.array(vectors, float).reshape(len(vectors), keep)
    y = X @ w0
    best = np.inf
    for support in map(list, itertools.combinations(range(w0.size), keep)):
        residual = delta * codes @ X[:, support].T - y
        best = min(best, float(np.min(np.sum(residual**2, axis=1))))
    return best


def gptq_by_definition(X, w0, delta, bits, order, damp) -> np.ndarray:
    """GPTQ without its Cholesky algebra: column i is rounded at the minimiser over the columns not
    yet fixed of (w - w0)^T H (w - w0), H = X^T X + damp * mean(diag) I, the fixed ones at their codes."""
    G = X.T @ X
    H = G + damp * np.mean(np.diag(G)) * np.eye(w0.size)
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    codes = np.zeros(w0.size)
    for i, column in enumerate(order):
        fixed, free = order[:i], order[i:]
        shift = np.linalg.solve(H[np.ix_(free, free)], H[np.ix_(free, fixed)] @ (delta * codes[fixed] - w0[fixed]))
        codes[column] = np.clip(np.round((w0[free] - shift)[0] / delta), lo, hi)
    return codes


def backward_greedy(X, w0, keep) -> float:
    """Drop, one at a time, the column whose removal raises the least-squares refit error least."""
    support, y = list(range(w0.size)), X @ w0
    fit = lambda s: float(np.sum((y - X[:, s] @ np.linalg.lstsq(X[:, s], y, rcond=None)[0]) ** 2))  # noqa: E731
    while len(support) > keep:
        support.remove(min(support, key=lambda j: fit([i for i in support if i != j])))
    return fit(support)


def check_quantized(result, X, w0, delta, bits):
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    assert result.codes.dtype.kind == "i" and lo <= result.codes.min() and result.codes.max() <= hi
    np.testing.assert_array_equal(result.weights, delta * result.codes)
    assert np.isfinite(result.error) and result.lower_bound == 0 and result.status == "heuristic"


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("bits", [2, 3])
@pytest.mark.parametrize("order", ["act", "natural"])
def test_gptq_is_feasible_never_below_the_optimum_and_follows_its_definition(seed, bits, order):
    X, w0 = instance(seed, n=6)
    delta = np.max(np.abs(w0)) / (2 ** (bits - 1) - 0.5)
    truth = brute_quant(X, w0, delta, bits)
    result = bounds.gptq_quant(X, w0, delta, bits, order=order)
    check_quantized(result, X, w0, delta, bits)
    assert result.error >= truth * (1 - 1e-12)
    assert result.error == pytest.approx(error(X, result.weights, w0), rel=1e-12)
    expected_order = np.argsort(-np.sum(X**2, axis=0), kind="stable") if order == "act" else np.arange(6)
    np.testing.assert_array_equal(result.info["order"], expected_order)
    np.testing.assert_array_equal(result.codes, gptq_by_definition(X, w0, delta, bits, expected_order, 0.01))


def test_gptq_feedback_helps_on_correlated_inputs():
    """Not a guarantee on every instance, but on these the error feedback must beat plain rounding
    clearly: otherwise the update is not doing its job."""
    ratios = []
    for seed in range(12):
        X, w0 = instance(seed, n=8, correlated=1.5)
        delta = np.max(np.abs(w0)) / 3.5
        ratios.append(bounds.gptq_quant(X, w0, delta, 3).error / bounds.quant_rtn(X, w0, delta, 3).error)
    assert np.median(ratios) < 0.8


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 9), bits=st.sampled_from([2, 3, 4, 8]),
       step=st.floats(0.05, 2.0), damp=st.sampled_from([0.0, 0.01, 1.0]), order=st.sampled_from(["act", "natural"]),
       dead=st.booleans())
def test_gptq_is_plain_rounding_when_the_gram_is_diagonal(seed, n, bits, step, damp, order, dead):
    """Orthogonal input features (any norms): no coupling, so every feedback is zero."""
    rng = np.random.default_rng(seed)
    Q = np.linalg.qr(rng.standard_normal((3 * n, n)))[0]
    norms = rng.uniform(0.1, 10.0, n)
    if dead and n > 1:
        norms[rng.integers(n)] = 0.0  # a dead input: X^T X singular, diagonal still
    X = Q * norms
    w0 = rng.standard_normal(n)
    delta = step * np.max(np.abs(w0)) / 2 ** (bits - 1)
    result = bounds.gptq_quant(X, w0, delta, bits, order=order, damp=damp)
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    np.testing.assert_array_equal(result.codes, np.clip(np.round(w0 / delta), lo, hi))
    np.testing.assert_array_equal(result.codes, bounds.quant_rtn(X, w0, delta, bits).codes)


@pytest.mark.parametrize("seed", range(8))
def test_obs_removing_one_weight_is_the_exact_optimum(seed):
    """One removal: the least saliency w_q^2 / [G^-1]_qq is exactly the least increase of the
    refit error (undamped, full column rank), so OBS finds the best subset of size n - 1."""
    X, w0 = instance(seed, n=7)
    result = bounds.obs_prune(X, w0, 6, damp=0.0)
    assert result.error == pytest.approx(brute_prune(X, w0, 6), rel=1e-9)
    assert np.count_nonzero(result.weights) == 6


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("keep", [1, 3, 5])
def test_undamped_obs_is_backward_greedy_and_never_below_the_optimum(seed, keep):
    """With the exact Hessian every OBS update is the least-squares refit on the survivors."""
    X, w0 = instance(seed, n=7)
    exact = bounds.obs_prune(X, w0, keep, damp=0.0)
    assert exact.error == pytest.approx(backward_greedy(X, w0, keep), rel=1e-8)
    truth = brute_prune(X, w0, keep)
    damped = bounds.obs_prune(X, w0, keep)
    for result in (exact, damped):
        assert result.error >= truth * (1 - 1e-12)
        assert np.count_nonzero(result.weights) <= keep
        assert set(np.flatnonzero(result.weights)) <= set(result.info["support"])
        assert result.error == pytest.approx(error(X, result.weights, w0), rel=1e-12)
    assert len(result.info["removed"]) == 7 - keep
    assert sorted([*result.info["removed"], *result.info["support"]]) == list(range(7))


def test_wanda_ranks_by_weight_times_input_norm():
    """Hand computation: input norms 1, 2, 3, 0.5, 4 and weights 4, -1, 0.5, 3, 0 give scores
    4, 2, 1.5, 1.5, 0: keep 2 -> {0, 1}; keep 3 -> {0, 1, 2} (the tie with 3 goes to the lower
    index); magnitude alone would keep {0, 3} and {0, 1, 3}."""
    norms = np.array([1.0, 2.0, 3.0, 0.5, 4.0])
    X = np.vstack([np.diag(norms), np.zeros((3, 5))])
    w0 = np.array([4.0, -1.0, 0.5, 3.0, 0.0])
    np.testing.assert_allclose(bounds.wanda_prune(X, w0, 2).info["scores"], [4, 2, 1.5, 1.5, 0])
    for keep, kept in ((2, [0, 1]), (3, [0, 1, 2]), (4, [0, 1, 2, 3])):
        plain = bounds.wanda_prune(X, w0, keep)
        np.testing.assert_array_equal(plain.info["support"], kept)
        expected = np.zeros(5)
        expected[kept] = w0[kept]
        np.testing.assert_array_equal(plain.weights, expected)
        assert plain.error == pytest.approx(np.sum((norms * (w0 - expected)) ** 2))
    # orthogonal features: the refit changes nothing, and Wanda's choice is then the optimum
    refit = bounds.wanda_prune(X, w0, 2, refit=True)
    np.testing.assert_allclose(refit.weights, [4, -1, 0, 0, 0], atol=1e-12)
    assert refit.error == pytest.approx(brute_prune(X, w0, 2), rel=1e-12)
    assert bounds.prune_heuristic(X, w0, 2, refit=False).error > refit.error  # magnitude keeps {0, 3}


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("keep", [1, 3, 5])
def test_wanda_never_beats_the_optimum_and_its_refit_is_least_squares(seed, keep):
    X, w0 = instance(seed, n=7)
    plain = bounds.wanda_prune(X, w0, keep)
    refit = bounds.wanda_prune(X, w0, keep, refit=True)
    np.testing.assert_array_equal(plain.info["support"], refit.info["support"])
    kept = refit.info["support"]
    assert kept.size == keep
    # the refit's residual is orthogonal to the kept columns (normal equations)
    residual = X @ (refit.weights - w0)
    assert np.max(np.abs(X[:, kept].T @ residual)) <= 1e-9 * np.linalg.norm(X) * np.linalg.norm(X @ w0)
    truth = brute_prune(X, w0, keep)
    assert truth * (1 - 1e-12) <= refit.error <= plain.error * (1 + 1e-12)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("keep, bits", [(2, 2), (3, 2), (2, 3), (4, 2)])
def test_joint_method_and_bound_bracket_the_brute_force_joint_optimum(seed, keep, bits):
    X, w0 = instance(seed, n=6)
    delta = np.max(np.abs(w0)) / (2 ** (bits - 1) - 0.5)
    truth = brute_joint(X, w0, keep, delta, bits)
    result = bounds.obs_prune_then_gptq(X, w0, keep, delta, bits)
    check_quantized(result, X, w0, delta, bits)
    assert np.count_nonzero(result.codes) <= keep
    assert result.error >= truth * (1 - 1e-12)
    assert result.error == pytest.approx(error(X, result.weights, w0), rel=1e-12)
    separate = [bounds.solve_prune_exact(X, w0, keep), bounds.solve_quant_exact(X, w0, delta, bits),
                bounds.quant_sdp_bound(X, w0, delta, bits)]
    bound = bounds.joint_lower_bound(*separate)
    assert 0 < bound <= truth * (1 + 1e-9)
    assert bound == max(r.lower_bound for r in separate)


def test_joint_with_every_weight_kept_is_gptq_and_with_none_is_zero():
    X, w0 = instance(2, n=6)
    delta = 0.3
    np.testing.assert_array_equal(bounds.obs_prune_then_gptq(X, w0, 6, delta, 3).codes,
                                  bounds.gptq_quant(X, w0, delta, 3).codes)
    empty = bounds.obs_prune_then_gptq(X, w0, 0, delta, 3)
    assert not empty.codes.any() and empty.error == pytest.approx(error(X, np.zeros(6), w0))


@settings(max_examples=50, deadline=None)
@given(problem=singular_problems(max_n=6), keep_share=st.floats(0, 1), bits=st.sampled_from([2, 3]),
       step=st.floats(0.3, 1.5), order=st.sampled_from(["act", "natural"]))
def test_every_method_is_finite_feasible_and_above_brute_force_on_singular_x(problem, keep_share, bits, step,
                                                                             order):
    """Fewer rows than features, zero, duplicated, scaled, combined, collinear or tiny columns: the
    damped Hessian is invertible, every answer finite and feasible, no error below the optimum."""
    X, w0, _ = problem
    n = w0.size
    keep = int(round(keep_share * n))
    delta = step * np.max(np.abs(w0)) / (2 ** (bits - 1) - 0.5)
    q_truth = brute_quant(X, w0, delta, bits)
    q_tol = quant_tolerance(X, w0, delta, bits, q_truth)
    gptq = bounds.gptq_quant(X, w0, delta, bits, order=order)
    check_quantized(gptq, X, w0, delta, bits)
    assert gptq.error >= q_truth - q_tol
    p_truth, kappa = brute_prune_kappa(X, w0, keep)
    p_tol = prune_tolerance(X, w0, p_truth, kappa)
    for result in (bounds.obs_prune(X, w0, keep), bounds.wanda_prune(X, w0, keep),
                   bounds.wanda_prune(X, w0, keep, refit=True)):
        assert np.all(np.isfinite(result.weights)) and np.isfinite(result.error)
        assert np.count_nonzero(result.weights) <= keep
        assert result.error >= p_truth - p_tol
        assert result.error == pytest.approx(error(X, result.weights, w0), rel=1e-9, abs=p_tol)
    joint = bounds.obs_prune_then_gptq(X, w0, keep, delta, bits, order=order)
    check_quantized(joint, X, w0, delta, bits)
    assert np.count_nonzero(joint.codes) <= keep
    assert joint.error >= max(q_truth - q_tol, p_truth - p_tol)
    if n <= 5:
        j_truth = brute_joint(X, w0, keep, delta, bits)
        assert joint.error >= j_truth - q_tol


@pytest.mark.parametrize("case", ["zero", "duplicate", "wide", "all_dead"])
def test_named_singular_inputs(case):
    """The cases of issue 14 by name: finite, feasible, and dead weights cost nothing."""
    X, w0 = instance(3, n=6, m=4 if case == "wide" else 30)
    if case == "zero":
        X[:, 2] = 0.0
    elif case == "duplicate":
        X[:, 4] = X[:, 1]
    elif case == "all_dead":
        X[:] = 0.0
    delta, bits, keep = 0.25, 3, 3
    gptq = bounds.gptq_quant(X, w0, delta, bits)
    check_quantized(gptq, X, w0, delta, bits)
    assert gptq.error >= brute_quant(X, w0, delta, bits) * (1 - 1e-9) - 1e-12
    obs = bounds.obs_prune(X, w0, keep)
    assert obs.error >= brute_prune(X, w0, keep) * (1 - 1e-9) - 1e-12
    if case in ("zero", "all_dead"):
        assert gptq.codes[2] == np.clip(np.round(w0[2] / delta), -4, 3)  # a dead weight: plain rounding
        assert obs.weights[2] == 0 and 2 in obs.info["removed"][:6 - np.any(X, axis=0).sum()]  # removed first
    if case == "all_dead":
        assert gptq.error == obs.error == 0 == bounds.obs_prune_then_gptq(X, w0, keep, delta, bits).error
    if case in ("zero", "all_dead"):  # dead columns are left out of H: the rest is invertible
        assert np.isfinite(bounds.obs_prune(X, w0, keep, damp=0.0).error)
        assert np.isfinite(bounds.gptq_quant(X, w0, delta, bits, damp=0.0).error)
    else:  # no Hessian to invert without dampening: said so, not a LinAlgError
        with pytest.raises(ValueError, match="X\\^T X is singular .* pass damp > 0"):
            bounds.obs_prune(X, w0, keep, damp=0.0)
        with pytest.raises(ValueError, match="X\\^T X is singular .* pass damp > 0"):
            bounds.gptq_quant(X, w0, delta, bits, damp=0.0)


def test_bad_input_is_a_clear_error():
    X, w0 = instance(0)
    with pytest.raises(ValueError, match="order must be one of"):
        bounds.gptq_quant(X, w0, 0.1, 4, order="random")
    with pytest.raises(ValueError, match="damp must be a finite number >= 0"):
        bounds.obs_prune(X, w0, 2, damp=-0.1)
    with pytest.raises(ValueError, match="delta must be positive"):
        bounds.gptq_quant(X, w0, 0.0, 4)
    with pytest.raises(ValueError, match="bits must be >= 1"):
        bounds.obs_prune_then_gptq(X, w0, 2, 0.1, 0)
    for method in (bounds.obs_prune, bounds.wanda_prune):
        with pytest.raises(TypeError, match="keep must be an integer number of weights"):
            method(X, w0, 2.5)
        with pytest.raises(ValueError, match="keep must lie in"):
            method(X, w0, 7)
