"""Every pvq.bounds solver on singular and ill-conditioned X, against brute-force enumeration.

X has fewer rows than features, or zero, duplicated, scaled, linearly combined, nearly collinear (two
columns 1e-9 apart) or tiny (scaled by 1e-9) columns. Exact solvers must equal brute force, heuristics
never beat it, lower bounds never exceed it; a solver that cannot handle an input says so.

Tolerances. Pruning: every subset fit (our Householder QR, numpy's SVD-based lstsq in the brute force)
is backward stable, so a computed error is exact for X perturbed by about n eps relative, which moves
the residual by about eps kappa(X_S) ||y|| (kappa: the largest condition number, over the supports, of
a support's numerically independent part) and the error by 2 eps kappa ||y|| ||r|| <= 2 eps kappa T,
T = ||y||^2: we allow 64 eps kappa T plus the branch and bound's PRUNE_RTOL = 1e-9 relative. For
columns 1e-9 apart kappa is about 1e9 (1e-5 T); for exact rank deficiency it stays small.
Quantization: codes are bounded, so an error ||X (delta z - w0)||^2 is computed to about
n m eps ||X||_F^2 d^2 (d: the largest |delta z_i - w0_i| in the box); we allow 1e-12 ||X||_F^2 d^2
plus 1e-9 relative.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pvq import bounds
from pvq.bounds import clock, prune
from pvq.bounds.prune import BIG_M_MAX_COND, big_m
from test_bounds import LOADED, brute_quant, error, instance

EPS = np.finfo(float).eps
DEFECTS = ("zero", "duplicate", "scaled", "combination", "collinear", "tiny")


def defective(seed: int, m: int, n: int, defects) -> tuple[np.ndarray, np.ndarray]:
    """Correlated inputs (as in test_bounds.instance) with each defect applied to a random column."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n)) @ (np.eye(n) + 0.6 * rng.standard_normal((n, n)))
    w0 = rng.standard_normal(n) * rng.uniform(0.2, 1.0, n)
    for defect in defects:
        i, j, k = rng.choice(n, 3, replace=False)
        if defect == "zero":
            X[:, j] = 0.0
        elif defect == "duplicate":
            X[:, j] = X[:, i]
        elif defect == "scaled":
            X[:, j] = -3.0 * X[:, i]
        elif defect == "combination":
            X[:, j] = X[:, i] - 0.5 * X[:, k]
        elif defect == "collinear":
            X[:, j] = X[:, i] + 1e-9 * rng.standard_normal(m)
        elif defect == "tiny":
            X[:, j] *= 1e-9
    return X, w0


@st.composite
def singular_problems(draw, max_n: int):
    """(X, w0, defects): fewer rows than features, or at least one defective column."""
    n = draw(st.integers(3, max_n))
    wide = draw(st.booleans())
    m = draw(st.integers(1, n - 1)) if wide else draw(st.integers(n, 3 * n))
    defects = draw(st.lists(st.sampled_from(DEFECTS), min_size=0 if wide else 1, max_size=2))
    X, w0 = defective(draw(st.integers(0, 2**32 - 1)), m, n, defects)
    return X, w0, defects


def brute_prune(X, w0, keep) -> tuple[float, float]:
    """(min over every support of size keep of the lstsq refit error, the largest condition number
    of a support's numerically independent part, for the tolerance)."""
    y = X @ w0
    best, kappa = np.inf, 1.0
    for support in map(list, itertools.combinations(range(w0.size), keep)):
        w = np.zeros_like(w0)
        w[support] = np.linalg.lstsq(X[:, support], y, rcond=None)[0]
        best = min(best, error(X, w, w0))
        singular = np.linalg.svd(X[:, support], compute_uv=False)
        singular = singular[singular > 1e-12 * singular.max()] if singular.size and singular.max() > 0 else []
        if len(singular):
            kappa = max(kappa, singular[0] / singular[-1])
    return best, kappa


def prune_tolerance(X, w0, truth, kappa) -> float:
    return 1e-9 * truth + 64 * EPS * kappa * float(np.sum((X @ w0) ** 2))


def quant_tolerance(X, w0, delta, bits, truth) -> float:
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    d = np.max(np.maximum(np.abs(delta * lo - w0), np.abs(delta * hi - w0)))
    return 1e-9 * truth + 1e-12 * float(np.sum(X**2)) * d**2


@pytest.mark.parametrize("seed", [1, 3, 4])
def test_issue_case_wide_x_m8_n16_keep4(seed):
    """Issue 14: with 8 rows and 16 features the branch and bound certified an optimum 12-49x above
    brute force on these seeds (it inverted the singular Gram matrix of the root node)."""
    X, w0 = instance(seed, n=16, m=8)
    truth, kappa = brute_prune(X, w0, 4)
    exact = bounds.solve_prune_exact(X, w0, 4)
    assert exact.status == "optimal"
    assert exact.error == pytest.approx(truth, rel=1e-9)
    assert exact.lower_bound <= truth * (1 + 1e-9)
    assert np.count_nonzero(exact.weights) <= 4


def test_duplicated_column_is_solved_not_a_linalg_error():
    """Issue 14: one duplicated column made the exact solvers raise a bare LinAlgError."""
    X, w0 = instance(0, n=6, m=30)
    X[:, 3] = X[:, 1]
    truth, _ = brute_prune(X, w0, 3)
    exact = bounds.solve_prune_exact(X, w0, 3)
    assert exact.status == "optimal" and exact.error == pytest.approx(truth, rel=1e-9)
    assert not (exact.weights[1] and exact.weights[3])  # the copy adds nothing: one of them suffices
    mip = bounds.solve_prune_mip(X, w0, 3)
    assert mip.status == "failed" and "parallel columns: 1 and 3" in mip.info["failed"]
    assert mip.error >= truth * (1 - 1e-12)
    delta = 0.3
    quant_truth = brute_quant(X, w0, delta, 2)
    q = bounds.solve_quant_exact(X, w0, delta, 2)
    assert q.status == "optimal" and q.error == pytest.approx(quant_truth, rel=1e-9)


def test_nearly_collinear_columns_are_told_apart():
    """Columns 1e-9 apart span a second direction that only weights near 1e9 reach: the fits run on
    a QR of X (not X^T X, whose condition number 1e18 hides the direction), like numpy's lstsq."""
    rng = np.random.default_rng(0)
    a, e, b, c = rng.standard_normal((4, 12))
    X = np.column_stack([a, a + 1e-9 * 3 * e, b, c])
    w0 = np.array([1e9, -1e9, 1.0, 1.0])  # y = -3 e + b + c: support {0, 1} fits the large part
    truth, kappa = brute_prune(X, w0, 2)
    exact = bounds.solve_prune_exact(X, w0, 2)
    assert exact.status == "optimal"
    assert set(np.flatnonzero(exact.weights)) == {0, 1}
    assert abs(exact.error - truth) <= prune_tolerance(X, w0, truth, kappa)
    y = X @ w0
    blind = min(float(np.sum((y - X[:, s] @ np.linalg.lstsq(X[:, s], y, rcond=None)[0]) ** 2))
                for s in ([0, 2], [0, 3], [2, 3]))  # the best without the second direction
    assert truth < 0.5 * blind


def test_all_dead_inputs():
    """A depthwise channel dead on every calibration image gives X = 0: every error is 0."""
    X, w0 = np.zeros((20, 9)), np.linspace(-1, 1, 9)
    for result in (bounds.solve_prune_exact(X, w0, 2), bounds.solve_prune_mip(X, w0, 2),
                   bounds.solve_quant_exact(X, w0, 0.2, 3), bounds.quant_sdp_bound(X, w0, 0.2, 3)):
        assert result.status in ("optimal", "bound") and result.error == 0 and result.lower_bound == 0
    assert np.count_nonzero(bounds.solve_prune_exact(X, w0, 2).weights) <= 2


@settings(max_examples=60, deadline=None)
@given(problem=singular_problems(max_n=7), keep_share=st.floats(0, 1))
def test_exact_pruning_equals_brute_force(problem, keep_share):
    X, w0, _ = problem
    keep = int(round(keep_share * w0.size))
    truth, kappa = brute_prune(X, w0, keep)
    tol = prune_tolerance(X, w0, truth, kappa)
    exact = bounds.solve_prune_exact(X, w0, keep)
    assert exact.status == "optimal"
    assert abs(exact.error - truth) <= tol
    assert truth - tol <= exact.lower_bound <= exact.error
    assert np.count_nonzero(exact.weights) <= keep
    assert exact.error == pytest.approx(error(X, exact.weights, w0), rel=1e-9, abs=tol)


@settings(max_examples=60, deadline=None)
@given(problem=singular_problems(max_n=7), keep_share=st.floats(0, 1))
def test_pruning_heuristics_never_beat_brute_force(problem, keep_share):
    """Magnitude masks: the refit is numpy's least squares on the kept columns, never below the
    optimum and never above the plain mask."""
    X, w0, _ = problem
    keep = int(round(keep_share * w0.size))
    truth, kappa = brute_prune(X, w0, keep)
    tol = prune_tolerance(X, w0, truth, kappa)
    plain = bounds.prune_heuristic(X, w0, keep, refit=False)
    refit = bounds.prune_heuristic(X, w0, keep)
    kept = np.sort(np.argsort(-np.abs(w0), kind="stable")[:keep])
    lstsq = np.zeros_like(w0)
    lstsq[kept] = np.linalg.lstsq(X[:, kept], X @ w0, rcond=None)[0]
    assert abs(refit.error - error(X, lstsq, w0)) <= tol
    assert truth - tol <= refit.error <= plain.error + tol
    assert np.all(refit.weights[np.setdiff1d(np.arange(w0.size), kept)] == 0)
    assert refit.lower_bound == plain.lower_bound == 0


@settings(max_examples=30, deadline=None)
@given(problem=singular_problems(max_n=6), keep_share=st.floats(0, 1))
def test_mip_is_right_or_says_why(problem, keep_share):
    """SCIP's big-M MIQP is posed only where valid constants exist (live columns of full rank,
    cond <= BIG_M_MAX_COND); elsewhere the heuristic comes back as 'failed' with the reason."""
    X, w0, _ = problem
    keep = int(round(keep_share * w0.size))
    truth, kappa = brute_prune(X, w0, keep)
    tol = prune_tolerance(X, w0, truth, kappa)
    mip = bounds.solve_prune_mip(X, w0, keep, time_limit=30)
    live = X[:, np.any(X != 0, axis=0)]
    singular = np.linalg.svd(live, compute_uv=False)
    posable = live.shape[0] >= live.shape[1] and singular[-1] * BIG_M_MAX_COND >= singular[0]
    assert mip.error >= truth - tol and mip.lower_bound <= truth + tol
    assert np.count_nonzero(mip.weights) <= keep
    if mip.status == "optimal":
        assert abs(mip.error - truth) <= tol + prune.MIP_RTOL * truth
    else:
        assert mip.status == "failed" and mip.lower_bound == 0
    if not posable and truth > 1e-12 * float(np.sum((X @ w0) ** 2)):
        assert mip.status == "failed" and "full column rank" in mip.info["failed"]
    if posable:
        assert mip.status == "optimal"


@settings(max_examples=40, deadline=None)
@given(problem=singular_problems(max_n=5), bits=st.sampled_from([2, 3]), step=st.floats(0.3, 1.5))
def test_quantization_solvers_bracket_brute_force(problem, bits, step):
    X, w0, _ = problem
    delta = step * np.max(np.abs(w0)) / (2 ** (bits - 1) - 0.5)
    truth = brute_quant(X, w0, delta, bits)
    tol = quant_tolerance(X, w0, delta, bits, truth)
    rtn = bounds.quant_rtn(X, w0, delta, bits)
    sdp = bounds.quant_sdp_bound(X, w0, delta, bits)
    heuristic = bounds.quant_heuristic(X, w0, delta, bits, relaxation=sdp)
    exact = bounds.solve_quant_exact(X, w0, delta, bits, upper=heuristic, time_limit=LOADED)
    cold = bounds.solve_quant_exact(X, w0, delta, bits, batch=3, time_limit=LOADED)  # from round-to-nearest, small batches
    for result in (exact, cold):
        assert result.status == "optimal" and abs(result.error - truth) <= tol
        assert truth - tol <= result.lower_bound <= truth + tol
    assert sdp.status == "bound" and 0 <= sdp.lower_bound <= truth + tol
    assert truth - tol <= heuristic.error <= rtn.error + tol
    for result in (rtn, sdp, heuristic, exact, cold):
        assert result.error >= truth - tol
        assert -(2 ** (bits - 1)) <= result.codes.min() and result.codes.max() <= 2 ** (bits - 1) - 1
        np.testing.assert_array_equal(result.weights, delta * result.codes)
        assert result.error == pytest.approx(error(X, result.weights, w0), rel=1e-9, abs=tol)


@pytest.mark.parametrize("stop_after", [3, 6, 12, 24])
def test_stopped_branch_and_bound_keeps_a_valid_bound_on_wide_x(monkeypatch, stop_after):
    """Stopped part way (a clock that ticks once per look) on a rank-deficient X, the open nodes'
    bounds still lie below the brute-force optimum and the incumbent above it."""
    X, w0 = instance(2, n=10, m=5)
    truth, _ = brute_prune(X, w0, 3)
    ticks = itertools.count()
    monkeypatch.setattr(clock, "now", lambda: float(next(ticks)))
    result = bounds.solve_prune_exact(X, w0, 3, time_limit=stop_after)
    assert result.status == "time_limit"
    assert 0 <= result.lower_bound <= truth * (1 + 1e-9) and truth <= result.error * (1 + 1e-9)


@pytest.mark.parametrize("stop_after", [2, 5, 10, 20])
def test_stopped_sphere_decoder_keeps_a_valid_bound_on_wide_x(monkeypatch, stop_after):
    """Levels without curvature (rank 3 of 6) enumerate the whole box; a stopped search still
    brackets the optimum."""
    X, w0 = instance(4, n=6, m=3)
    delta = np.max(np.abs(w0)) / 3.5
    truth = brute_quant(X, w0, delta, 3)
    ticks = itertools.count()
    monkeypatch.setattr(clock, "now", lambda: float(next(ticks)))
    result = bounds.solve_quant_exact(X, w0, delta, 3, time_limit=stop_after, batch=4)
    assert result.status == "time_limit"
    assert 0 <= result.lower_bound <= truth * (1 + 1e-12) and truth <= result.error * (1 + 1e-12)


@pytest.mark.parametrize("defect", ["duplicate", "wide"])
def test_big_m_refuses_a_singular_gram(defect):
    """No big-M constant is valid when X^T X is singular: w can move along its null space freely."""
    X, w0 = instance(1, n=5, m=3 if defect == "wide" else 20)
    if defect == "duplicate":
        X[:, 4] = X[:, 0]
    with pytest.raises(ValueError, match="big_m needs X of full column rank"):
        big_m(X, w0, 1.0)
