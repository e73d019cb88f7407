"""pvq.bounds against brute force: every support (pruning), every code vector (quantization)."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pvq import bounds
from pvq.bounds import clock
from pvq.bounds.prune import _miqp, big_m
from pvq.bounds.quant import _shift, certify_dual


# Limit (CPU seconds) of the exact solves that must finish (their answers are what is tested): far
# above what any of them needs, the SDP solve inside included, even with multi-threaded BLAS.
LOADED = 600.0


def instance(seed: int, n: int = 6, m: int = 30, correlated: float = 0.6):
    """Correlated inputs like real activations (mixing matrix), weights of mixed magnitude."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n)) @ (np.eye(n) + correlated * rng.standard_normal((n, n)))
    w0 = rng.standard_normal(n) * rng.uniform(0.2, 1.0, n)
    return X, w0


def error(X, w, w0):
    return float(np.sum((X @ (w - w0)) ** 2))


def brute_prune(X, w0, keep):
    """min over every support of size keep of the least-squares refit error (numpy lstsq)."""
    best = np.inf
    for support in itertools.combinations(range(w0.size), keep):
        w = np.zeros_like(w0)
        w[list(support)] = np.linalg.lstsq(X[:, list(support)], X @ w0, rcond=None)[0]
        best = min(best, error(X, w, w0))
    return best


def brute_quant(X, w0, delta, bits):
    """min over every code vector in the b-bit box, vectorised over all (2^b)^n of them."""
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    codes = np.array(list(itertools.product(range(lo, hi + 1), repeat=w0.size)), float)
    residual = (delta * codes - w0) @ X.T
    return float(np.min(np.sum(residual**2, axis=1)))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("keep", [1, 2, 4])
def test_exact_pruning_equals_brute_force_and_scip(seed, keep):
    X, w0 = instance(seed, n=7)
    truth = brute_prune(X, w0, keep)
    exact = bounds.solve_prune_exact(X, w0, keep)
    assert exact.status == "optimal"
    assert exact.error == pytest.approx(truth, rel=1e-9)
    assert exact.lower_bound <= exact.error and exact.lower_bound == pytest.approx(truth, rel=1e-8)
    assert np.count_nonzero(exact.weights) <= keep
    assert exact.error == pytest.approx(error(X, exact.weights, w0), rel=1e-12)
    mip = bounds.solve_prune_mip(X, w0, keep)
    assert mip.status == "optimal" and mip.error == pytest.approx(truth, rel=1e-6)
    assert mip.lower_bound <= truth * (1 + 1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_pruning_heuristics_are_magnitude_masks(seed):
    X, w0 = instance(seed, n=8)
    keep = 3
    top = np.argsort(-np.abs(w0))[:keep]
    plain = bounds.prune_heuristic(X, w0, keep, refit=False)
    expected = np.zeros_like(w0)
    expected[top] = w0[top]
    np.testing.assert_array_equal(plain.weights, expected)
    refit = bounds.prune_heuristic(X, w0, keep)
    ls = np.linalg.lstsq(X[:, top], X @ w0, rcond=None)[0]
    np.testing.assert_allclose(refit.weights[top], ls, rtol=1e-8)
    assert brute_prune(X, w0, keep) <= refit.error * (1 + 1e-12) <= plain.error * (1 + 1e-12)


def test_big_m_holds_for_every_better_solution():
    """Every w with error <= UB (sampled on the ellipsoid's boundary) obeys |w_i| <= M_i."""
    X, w0 = instance(3, n=5)
    G = X.T @ X
    upper = bounds.prune_heuristic(X, w0, 2).error
    M = big_m(X, w0, upper)
    rng = np.random.default_rng(0)
    L = np.linalg.cholesky(np.linalg.inv(G))
    directions = rng.standard_normal((20000, 5))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    w = w0 + np.sqrt(upper) * directions @ L.T  # (w - w0)^T G (w - w0) == upper
    assert np.all(np.abs(w) <= M * (1 + 1e-12))
    assert np.max(np.abs(w) / M) > 0.99  # and the constant is tight


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("bits", [2, 3])
def test_quantization_bracket_holds_and_exact_equals_brute_force(seed, bits):
    X, w0 = instance(seed, n=6)
    delta = np.max(np.abs(w0)) / (2 ** (bits - 1) - 0.5)
    truth = brute_quant(X, w0, delta, bits)
    sdp = bounds.quant_sdp_bound(X, w0, delta, bits)
    heuristic = bounds.quant_heuristic(X, w0, delta, bits, relaxation=sdp)
    exact = bounds.solve_quant_exact(X, w0, delta, bits, upper=heuristic, time_limit=LOADED)
    rtn = bounds.quant_rtn(X, w0, delta, bits)
    assert exact.status == "optimal" and exact.error == pytest.approx(truth, rel=1e-9)
    assert sdp.lower_bound <= truth * (1 + 1e-12)
    assert truth <= heuristic.error * (1 + 1e-12) and heuristic.error <= rtn.error * (1 + 1e-12)
    assert sdp.lower_bound > 0  # not vacuous
    for result in (sdp, heuristic, exact, rtn):
        lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
        assert result.codes.min() >= lo and result.codes.max() <= hi
        np.testing.assert_array_equal(result.weights, delta * result.codes)
        assert result.error == pytest.approx(error(X, result.weights, w0), rel=1e-12)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("batch", [1, 5, 4096])
def test_sphere_decoder_equals_brute_force_whatever_the_batch(seed, batch):
    """Batch 1 is a plain depth-first search; larger batches expand many nodes per numpy step."""
    X, w0 = instance(10 + seed, n=6, correlated=1.5)
    delta = np.max(np.abs(w0)) / 3.5
    exact = bounds.solve_quant_exact(X, w0, delta, 3, batch=batch, time_limit=LOADED)
    assert exact.status == "optimal"
    assert exact.error == pytest.approx(brute_quant(X, w0, delta, 3), rel=1e-9)
    assert exact.lower_bound == pytest.approx(exact.error, rel=1e-12)


@pytest.mark.parametrize("stop_after", [2, 4, 8, 16])
def test_sphere_decoder_time_limit_keeps_a_valid_bound(monkeypatch, stop_after):
    """Stopped part way (a clock that ticks once per look), the open nodes' smallest partial sum is
    still a lower bound on the brute-force optimum, and the incumbent a feasible upper bound."""
    X, w0 = instance(3, n=6, correlated=1.5)
    delta = np.max(np.abs(w0)) / 3.5
    truth = brute_quant(X, w0, delta, 3)
    ticks = itertools.count()
    monkeypatch.setattr(clock, "now", lambda: float(next(ticks)))
    result = bounds.solve_quant_exact(X, w0, delta, 3, time_limit=stop_after, batch=1)
    assert result.status == "time_limit"
    assert 0 <= result.lower_bound <= truth * (1 + 1e-12) and truth <= result.error * (1 + 1e-12)


def test_rtn_is_round_and_clip():
    X, w0 = instance(0, n=6)
    delta, bits = 0.2, 2
    np.testing.assert_array_equal(bounds.quant_rtn(X, w0, delta, bits).codes,
                                  np.clip(np.round(w0 / delta), -2, 1))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), bits=st.sampled_from([2, 3]),
       scale=st.floats(0.0, 5.0))
def test_any_multipliers_give_a_valid_bound(seed, bits, scale):
    """certify_dual is a lower bound for arbitrary (even bad) multipliers, not only the solver's."""
    X, w0 = instance(seed % 1000, n=5)
    delta = np.max(np.abs(w0)) / 2 ** (bits - 1)
    s = _shift(X, w0, delta, bits)
    rng = np.random.default_rng(seed)
    lam = scale * rng.uniform(0, 1, 5) * np.diag(s.P)
    mu = scale * rng.uniform(0, 1, 5) * np.diag(s.P)
    bound, _ = certify_dual(s.P, s.r, s.low, s.high, lam, mu)
    assert bound <= brute_quant(X, w0, delta, bits) * (1 + 1e-12) + 1e-12


def test_certified_bound_matches_the_solvers_objective():
    X, w0 = instance(1, n=8)
    sdp = bounds.quant_sdp_bound(X, w0, 0.2, 3)
    assert sdp.lower_bound <= sdp.info["solver_objective"] * (1 + 1e-6)
    assert sdp.lower_bound == pytest.approx(sdp.info["solver_objective"], rel=1e-4)


def test_dead_columns_are_free():
    """A column of X that is all zeros: pruning drops it first, quantization's error ignores it."""
    X, w0 = instance(2, n=6)
    X[:, 2] = 0.0
    exact = bounds.solve_prune_exact(X, w0, 3)
    assert exact.weights[2] == 0 and exact.status == "optimal"
    assert exact.error == pytest.approx(brute_prune(X, w0, 3), rel=1e-9)
    quant = bounds.solve_quant_exact(X, w0, 0.3, 2)
    assert quant.error == pytest.approx(brute_quant(X, w0, 0.3, 2), rel=1e-9)


def test_compressed_rows_give_the_same_answers():
    X, w0 = instance(4, n=6, m=200)
    R = bounds.compress_rows(X)
    assert R.shape == (6, 6)
    np.testing.assert_allclose(R.T @ R, X.T @ X, rtol=1e-10, atol=1e-10)
    assert bounds.solve_prune_exact(R, w0, 2).error == pytest.approx(brute_prune(X, w0, 2), rel=1e-9)


def test_time_limit_is_reported_with_a_valid_bound():
    X, w0 = instance(5, n=24, m=200, correlated=1.0)
    result = bounds.solve_prune_exact(X, w0, 12, time_limit=1e-4)
    assert result.status == "time_limit"
    assert 0 <= result.lower_bound <= result.error
    assert np.count_nonzero(result.weights) <= 12


def test_a_busy_wall_clock_does_not_stop_the_exact_searches(monkeypatch):
    """The limits count the solving thread's CPU time: with the wall clock racing (other processes holding the
    cores), every exact search still certifies its optimum within a 30 s limit."""
    X, w0 = instance(6, n=10, correlated=1.5)
    delta = np.max(np.abs(w0)) / 3.5
    wall = itertools.count(step=1000.0)
    monkeypatch.setattr(time, "perf_counter", lambda: float(next(wall)))
    monkeypatch.setattr(time, "monotonic", lambda: float(next(wall)))
    assert bounds.solve_prune_exact(X, w0, 4, time_limit=30).status == "optimal"
    assert bounds.solve_prune_nm_exact(X, w0, 2, 4, time_limit=30).status == "optimal"
    assert bounds.solve_quant_exact(X, w0, delta, 3, time_limit=30).status == "optimal"


def test_a_deadline_passes_on_cpu_seconds_only():
    """Sleeping (waiting for a core) spends no budget; computing spends it."""
    deadline = clock.Deadline.after(0.2)
    time.sleep(0.4)
    assert not deadline.passed()
    start = time.thread_time()
    while not deadline.passed():
        sum(range(1000))
    assert time.thread_time() - start >= 0.15


def test_scip_counts_cpu_seconds_too():
    """SCIP's limit is in the same CPU seconds as pvq's own searches (its default is wall time)."""
    X, w0 = instance(0)
    model, _ = _miqp(X, w0, 3, np.full(6, 10.0), np.zeros(6), np.zeros(6, bool), 5.0)
    assert model.getParam("timing/clocktype") == 1 and model.getParam("limits/time") == 5.0


def test_bad_input_is_a_clear_error():
    X, w0 = instance(0)
    with pytest.raises(ValueError, match="keep must lie"):
        bounds.solve_prune_exact(X, w0, 7)
    with pytest.raises(ValueError, match="w0 has 5 entries"):
        bounds.quant_rtn(X, w0[:5], 0.1, 4)
    with pytest.raises(ValueError, match="delta must be positive"):
        bounds.quant_sdp_bound(X, w0, 0.0, 4)
