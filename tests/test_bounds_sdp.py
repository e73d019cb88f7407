"""The SDP bounds of issue #19 against brute force: the best-subset node bound and its fixings
(pvq.bounds.subset_sdp, prune_search), the SDP-bounded search, and the native quantization SDP
(pvq.bounds.quant_sdp) against brute force and against the same SDP solved by cvxpy + Clarabel.

A node keeps the columns ``cols``, forces those not ``free`` in and keeps at most r free ones; its
optimum is enumerated over every such support with numpy's lstsq. Every certified value must lie at
or below it (up to the rounding of the brute force itself: 1e-10 relative), whatever the
multipliers; a bound that forgot a term (the top-r sum, the residual slack) would exceed it.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from pvq import bounds
from pvq.bounds import prune, prune_search
from pvq.bounds.quant import _shift, certify_dual
from pvq.bounds.subset_sdp import NodeBound, certify
from test_bounds import brute_prune, brute_quant, instance
from test_bounds_singular import defective


def lstsq_error(A, y, support) -> float:
    if not len(support):
        return float(y @ y)
    coef = np.linalg.lstsq(A[:, support], y, rcond=None)[0]
    residual = y - A[:, support] @ coef
    return float(residual @ residual)


def node_optimum(A, y, cols, free, r) -> float:
    """min ||A w - y||^2 over supports: the forced columns plus at most r free ones (of ``cols``)."""
    forced, free_cols = list(cols[~free]), cols[free]
    return min(lstsq_error(A, y, forced + list(extra))
               for k in range(min(r, free_cols.size) + 1) for extra in itertools.combinations(free_cols, k))


def random_node(rng, n):
    """(cols, free mask on cols, r) with some columns excluded, some forced and 1 <= r < free."""
    cols = np.sort(rng.choice(n, size=int(rng.integers(n - 2, n + 1)), replace=False))
    free = np.ones(cols.size, bool)
    free[rng.choice(cols.size, size=int(rng.integers(0, 3)), replace=False)] = False
    r = int(rng.integers(1, free.sum()))
    return cols, free, r


def factor(X, w0):
    A = bounds.compress_rows(X)
    return A, A @ w0


def ill_conditioned(seed, m=30, n=9):
    """Full column rank, but nearly collinear (1e-4 apart) and tiny (1e-4) columns: X^T X has a
    smallest eigenvalue around 1e-8 of its mean diagonal."""
    rng = np.random.default_rng(seed)
    X, w0 = instance(seed, n=n, m=m)
    X[:, 1] = X[:, 0] + 1e-4 * rng.standard_normal(m)
    X[:, 2] *= 1e-4
    return X, w0


def sdp_only(monkeypatch, min_eig=None):
    """Send every problem to the SDP search, its nodes solved by SDP bounds alone."""
    monkeypatch.setattr(prune, "SINGLE_COLUMN_NODES", 0)
    monkeypatch.setattr(prune_search, "DEEP_FREE", -1)
    if min_eig is not None:
        monkeypatch.setattr(prune, "SDP_MIN_EIG", min_eig)


PROBLEMS = [instance(seed, n=9, m=30) for seed in range(6)] + [ill_conditioned(seed) for seed in range(3)]


@pytest.mark.parametrize("index", range(len(PROBLEMS)))
def test_node_bound_never_exceeds_the_node_optimum(index):
    """The SDP bound of random nodes (excluded, forced, r), solved as the search solves it (pushed
    towards an incumbent at the node's optimum, or 1 % above it, until it reaches it or its
    relaxation shows it cannot), lies below the node's brute-force optimum."""
    X, w0 = PROBLEMS[index]
    A, y = factor(X, w0)
    node_bound = NodeBound(A, y)
    rng = np.random.default_rng(index)
    for _ in range(4):
        cols, free, r = random_node(rng, A.shape[1])
        truth = node_optimum(A, y, cols, free, r)
        for target in (truth, 1.01 * truth):
            result = node_bound.solve(cols, free, r, node_bound.start(free), target=target)
            assert result.certified <= truth * (1 + 1e-10)
            assert result.certified <= result.bound + 1e-9 * abs(result.bound) + 1e-12  # certifying only loses
            assert result.bound <= result.relaxation + 1e-9 * abs(result.relaxation) + 1e-12  # weak duality


@pytest.mark.parametrize("seed", range(4))
def test_sdp_bound_prunes_more_than_the_single_column_bound(monkeypatch, seed):
    """What the SDP bound costs per node buys fewer nodes: on correlated n = 16 problems the SDP
    search alone needs fewer nodes than the single-column search alone, for the same optimum."""
    X, w0 = instance(seed, n=16, m=60, correlated=1.0)
    monkeypatch.setattr(prune, "SDP_MIN_EIG", np.inf)
    single = bounds.solve_prune_exact(X, w0, 6)
    sdp_only(monkeypatch, min_eig=1e-7)
    sdp = bounds.solve_prune_exact(X, w0, 6)
    assert single.info["search"] == "single-column" and sdp.info["search"] == "sdp"
    assert single.status == sdp.status == "optimal"
    assert sdp.error == pytest.approx(single.error, rel=1e-12)
    assert sdp.info["sdp_nodes"] < single.info["nodes"]


@pytest.mark.parametrize("index", range(len(PROBLEMS)))
def test_any_multipliers_give_a_valid_node_bound(index):
    """certify is a lower bound for arbitrary (even bad or negative) multipliers, not only solved ones."""
    X, w0 = PROBLEMS[index]
    A, y = factor(X, w0)
    G = A.T @ A
    rng = np.random.default_rng(100 + index)
    for _ in range(6):
        cols, free, r = random_node(rng, A.shape[1])
        truth = node_optimum(A, y, cols, free, r)
        scale = rng.uniform(0, 2) * np.diag(G)[cols]
        lam = scale * rng.uniform(-0.2, 1, cols.size)
        q = rng.standard_normal(cols.size) * np.sqrt(scale) * np.abs(y).max()
        value = certify(A[:, cols], y, G[np.ix_(cols, cols)], free, r, lam, q)
        assert value <= truth * (1 + 1e-10)


@pytest.mark.parametrize("defects", [("duplicate",), ("combination",), ("zero",), ("scaled", "duplicate")])
def test_node_bound_on_singular_gram_is_never_above_the_optimum(defects):
    """With X^T X singular no multipliers make Q positive definite: certify refuses (-inf) rather
    than return a wrong number; on the nonsingular part of a wide X it still holds."""
    X, w0 = defective(7, 30, 8, defects)
    A, y = factor(X, w0)
    G = A.T @ A
    rng = np.random.default_rng(0)
    for _ in range(6):
        cols, free, r = random_node(rng, 8)
        truth = node_optimum(A, y, cols, free, r)
        lam = rng.uniform(0, 1, cols.size) * np.diag(G)[cols]
        value = certify(A[:, cols], y, G[np.ix_(cols, cols)], free, r, lam, rng.standard_normal(cols.size))
        assert value <= truth * (1 + 1e-10) + 1e-12
    everything = np.arange(8)
    assert certify(A, y, G, np.ones(8, bool), 3, 1e-3 * np.diag(G), np.zeros(8)) == -np.inf
    wide_A, wide_y = factor(*instance(3, n=8, m=5))
    assert certify(wide_A, wide_y, wide_A.T @ wide_A, np.ones(8, bool), 2, np.full(8, 1e-3), np.zeros(8)) == -np.inf
    assert node_optimum(A, y, everything, np.ones(8, bool), 3) >= 0


@pytest.mark.parametrize("index", range(len(PROBLEMS)))
def test_fixings_are_right(index):
    """At random nodes solved towards an incumbent at the node's optimum, a column fixed in must cost
    at least that much when dropped, and a column fixed out at least that much when kept (brute
    force on each branch); no column may have both branches certified at the optimum itself."""
    X, w0 = PROBLEMS[index]
    A, y = factor(X, w0)
    node_bound = NodeBound(A, y)
    rng = np.random.default_rng(index)
    fixed = 0
    for _ in range(8):
        cols, free, r = random_node(rng, A.shape[1])
        truth = node_optimum(A, y, cols, free, r)
        result = node_bound.solve(cols, free, r, node_bound.start(free), target=truth)
        fix_in, fix_out = prune_search._fixings(node_bound, cols, free, r, result, truth)
        assert fix_in is not None
        for p in fix_in:
            assert node_optimum(A, y, np.delete(cols, p), np.delete(free, p), r) >= truth * (1 - 1e-10)
        for p in fix_out:
            child = free.copy()
            child[p] = False
            assert node_optimum(A, y, cols, child, r - 1) >= truth * (1 - 1e-10)
        fixed += len(fix_in) + len(fix_out)
    assert fixed > 0 or index >= 6  # not vacuous: every well-conditioned problem fixes something


@pytest.mark.parametrize("index", range(len(PROBLEMS)))
@pytest.mark.parametrize("keep", [2, 4, 6])
def test_sdp_search_equals_brute_force(monkeypatch, index, keep):
    """The SDP search alone (no single-column nodes) finds and certifies the brute-force optimum,
    on well and badly conditioned X (min eigenvalue ~1e-8 of the mean diagonal: the SDP threshold
    is lowered so that these go through it too)."""
    sdp_only(monkeypatch, min_eig=1e-12)
    X, w0 = PROBLEMS[index]
    truth = brute_prune(X, w0, keep)
    exact = bounds.solve_prune_exact(X, w0, keep)
    assert exact.info["search"] == "sdp"
    assert exact.status == "optimal"
    assert exact.error == pytest.approx(truth, rel=1e-8)
    assert exact.lower_bound <= truth * (1 + 1e-8)
    assert np.count_nonzero(exact.weights) <= keep


@pytest.mark.parametrize("defects", [("duplicate",), ("collinear",), ("zero", "combination")])
def test_singular_gram_never_goes_to_the_sdp_search(monkeypatch, defects):
    """X^T X singular (or 1e-18 from it): the search stays on the single-column bound, exact."""
    sdp_only(monkeypatch)
    X, w0 = defective(11, 30, 8, defects)
    truth = brute_prune(X, w0, 3)
    exact = bounds.solve_prune_exact(X, w0, 3)
    assert exact.info["search"] == "single-column"
    assert exact.status == "optimal" and exact.error == pytest.approx(truth, rel=1e-8, abs=1e-12)


@pytest.mark.parametrize("limit", [0.0, 0.02, 0.1])
def test_stopped_sdp_search_keeps_a_valid_bound(monkeypatch, limit):
    """A search stopped anywhere reports a lower bound at or below the brute-force optimum."""
    sdp_only(monkeypatch)
    X, w0 = instance(5, n=14, m=60, correlated=1.0)
    truth = brute_prune(X, w0, 6)
    result = bounds.solve_prune_exact(X, w0, 6, time_limit=limit)
    assert result.lower_bound <= truth * (1 + 1e-9)
    assert result.error >= truth * (1 - 1e-9)
    if result.status == "optimal":
        assert result.error == pytest.approx(truth, rel=1e-8)
    else:
        assert result.status == "time_limit"


QUANT_CASES = ([(instance(seed, n=7), bits) for seed in range(4) for bits in (2, 3)]
               + [(defective(seed, 30, 7, defects), 2)
                  for seed, defects in enumerate([("duplicate",), ("combination",), ("collinear",)])]
               + [(instance(seed, n=7, m=4), 2) for seed in range(2)])


@pytest.mark.parametrize("index", range(len(QUANT_CASES)))
def test_native_quantization_sdp_is_a_bound_and_matches_cvxpy(index):
    """The barrier solution's certified bound lies below the brute-force integer optimum (singular
    X^T X included), within 1 % of the same SDP's certified bound through cvxpy + Clarabel, and
    never above the relaxation's value (Clarabel's objective)."""
    (X, w0), bits = QUANT_CASES[index]
    delta = np.max(np.abs(w0)) / (2 ** (bits - 1) - 0.5)
    truth = brute_quant(X, w0, delta, bits)
    ours = bounds.quant_sdp_bound(X, w0, delta, bits)
    reference = bounds.quant_sdp_bound(X, w0, delta, bits, solver="CLARABEL")
    assert ours.info["solver"] == "barrier"
    assert ours.lower_bound <= truth * (1 + 1e-12)
    assert ours.lower_bound >= reference.lower_bound - 0.01 * abs(reference.lower_bound)
    assert ours.lower_bound <= reference.info["solver_objective"] * (1 + 1e-6) + 1e-12
    s = _shift(X, w0, delta, bits)
    recomputed, _ = certify_dual(s.P, s.r, s.low, s.high, ours.info["lam"], ours.info["mu"])
    assert max(recomputed, 0.0) == pytest.approx(ours.lower_bound, rel=1e-12, abs=1e-15)
