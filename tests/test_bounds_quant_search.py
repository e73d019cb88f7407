"""The exact quantizer's decoders (pvq.bounds.quant_search, pvq.bounds.lattice) against brute force.

Each decoder alone must find the brute-force optimum, on ill-conditioned inputs like the stem conv's raw
pixels, on singular X and with ties; the dual decoder's split of the error must lie below the error at
every point of the box for any multipliers; LLL's change of basis must be unimodular and reduced; a
search stopped part way must still bracket the optimum.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pvq import bounds
from pvq.bounds import clock, quant, quant_search
from pvq.bounds.lattice import LOVASZ_DELTA, lll_reduce
from pvq.bounds.quant import _shift, dual_split
from test_bounds import LOADED, brute_quant, error, instance
from test_bounds_singular import DEFECTS, defective, quant_tolerance

ROUTES = [("plain",), ("dual",), ("combined",), ("lattice",), quant.DEFAULT_ROUTES, quant.ROUTES]


def pixels(seed: int, n: int = 6, m: int = 40, spread: float = 0.03):
    """Raw-pixel-like inputs: every column a shared brightness plus a few per cent of its own signal
    (the stem conv's im2col), so X^T X has one huge eigenvalue and a cluster of tiny ones."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, (m, 1)) + spread * rng.standard_normal((m, n))
    w0 = rng.standard_normal(n)
    return X, w0


def box_points(bits: int, n: int) -> np.ndarray:
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return np.array(list(itertools.product(range(lo, hi + 1), repeat=n)), float)


@pytest.mark.parametrize("routes", ROUTES, ids="+".join)
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("bits", [2, 3])
def test_every_decoder_alone_equals_brute_force_on_pixels(routes, seed, bits):
    X, w0 = pixels(seed)
    delta = np.max(np.abs(w0)) / (2 ** (bits - 1) - 0.5) * (0.6 if seed % 2 else 1.0)
    assert np.linalg.cond(X) > 50  # the regime the lattice decoder is for
    truth = brute_quant(X, w0, delta, bits)
    for batch in (1, 4096):
        exact = bounds.solve_quant_exact(X, w0, delta, bits, batch=batch, routes=routes, time_limit=LOADED)
        assert exact.status == "optimal"
        assert exact.error == pytest.approx(truth, rel=1e-9)
        assert exact.lower_bound == pytest.approx(exact.error, rel=1e-12)
        assert exact.error == pytest.approx(error(X, exact.weights, w0), rel=1e-12)
        assert -(2 ** (bits - 1)) <= exact.codes.min() and exact.codes.max() <= 2 ** (bits - 1) - 1


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), wide=st.booleans(), bits=st.sampled_from([2, 3]),
       defects=st.lists(st.sampled_from(DEFECTS), min_size=1, max_size=2),
       routes=st.sampled_from(ROUTES), step=st.floats(0.3, 1.5))
def test_every_decoder_alone_equals_brute_force_on_singular_x(seed, wide, bits, defects, routes, step):
    """Dead, duplicated, collinear and tiny columns, and fewer rows than features: the lattice
    decoder steps aside (P singular), the others enumerate the flat levels' whole box."""
    n = 5
    X, w0 = defective(seed, 3 if wide else 12, n, defects)
    delta = step * np.max(np.abs(w0)) / (2 ** (bits - 1) - 0.5)
    truth = brute_quant(X, w0, delta, bits)
    tol = quant_tolerance(X, w0, delta, bits, truth)
    exact = bounds.solve_quant_exact(X, w0, delta, bits, batch=3, routes=routes, time_limit=LOADED)
    assert exact.status == "optimal" and abs(exact.error - truth) <= tol
    assert truth - tol <= exact.lower_bound <= truth + tol


@pytest.mark.parametrize("routes", ROUTES, ids="+".join)
def test_ties_every_decoder_returns_one_of_the_optima(routes):
    """X = I and w0 halfway between grid points: 2^n codes share the optimum (each coordinate rounds
    up or down at equal cost), plus a duplicated column pair whose sum is all that counts."""
    X = np.eye(5)
    w0 = np.array([0.5, -0.5, 1.5, -1.5, 0.5])
    truth = brute_quant(X, w0, 1.0, 3)
    assert truth == pytest.approx(5 * 0.25)
    exact = bounds.solve_quant_exact(X, w0, 1.0, 3, routes=routes, time_limit=LOADED)
    assert exact.status == "optimal" and exact.error == pytest.approx(truth, rel=1e-12)
    Xd = np.random.default_rng(0).standard_normal((20, 5))
    Xd[:, 4] = Xd[:, 3]
    truth = brute_quant(Xd, w0, 0.7, 2)
    exact = bounds.solve_quant_exact(Xd, w0, 0.7, 2, routes=routes, time_limit=LOADED)
    assert exact.status == "optimal" and exact.error == pytest.approx(truth, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), bits=st.sampled_from([2, 3]), scale=st.floats(0.0, 5.0),
       kind=st.sampled_from(["random", "pixels", "wide"]))
def test_dual_split_lies_below_the_error_at_every_point_of_the_box(seed, bits, scale, kind):
    """D0 + (u - x)^T A (u - x) + sum t_i(u_i) <= error(u) for every integer u in the box, for any
    multipliers (the dual decoder's partial sums rest on nothing else), singular P included."""
    n = 4
    X, w0 = {"random": lambda: instance(seed % 1000, n=n), "pixels": lambda: pixels(seed % 1000, n=n),
             "wide": lambda: instance(seed % 1000, n=n, m=2)}[kind]()
    delta = np.max(np.abs(w0)) / 2 ** (bits - 1)
    s = _shift(X, w0, delta, bits)
    rng = np.random.default_rng(seed)
    lam = scale * rng.uniform(0, 1, n) * np.diag(s.P).max()
    mu = scale * rng.uniform(0, 1, n) * np.diag(s.P).max()
    A, x, lam, mu, D0 = dual_split(s.P, s.r, s.low, s.high, lam, mu)
    U = box_points(bits, n) - s.floor  # every code, shifted
    assert np.all(U >= s.low - 1e-12) and np.all(U <= s.high + 1e-12)
    # In long double: D0 and the quadratic can be thousands while error(u) is below one, and a float64
    # sum of them is off by more than the margin D0 keeps; the slack allowed is that of this evaluation
    # (a D0 that ignored A's float64 rounding failed here at seed 737822, bits 3, scale 4.8e-4, pixels).
    U, P, r, A, x, lam, mu = (np.asarray(v, np.longdouble) for v in (U, s.P, s.r, A, x, lam, mu))
    d = U - r
    exact = np.einsum("ij,jk,ik->i", d, P, d)
    e = U - x
    quadratic = np.einsum("ij,jk,ik->i", e, A, e)
    terms = lam * U * (U - 1) + mu * (U - s.low) * (s.high - U)
    split = D0 + quadratic + terms.sum(1)
    magnitude = abs(D0) + quadratic + np.abs(terms).sum(1) + exact
    assert np.all(split <= exact + 64 * np.finfo(np.longdouble).eps * magnitude)
    assert np.all(terms >= 0)  # the terms the decoder adds


def test_dual_decoder_starts_at_the_sdp_bound():
    """With the relaxation's own multipliers the root's partial sum is the SDP bound (to its margin)."""
    X, w0 = pixels(3, n=6)
    delta = np.max(np.abs(w0)) / 1.5
    sdp = bounds.quant_sdp_bound(X, w0, delta, 2)
    s = _shift(X, w0, delta, 2)
    D0 = dual_split(s.P, s.r, s.low, s.high, sdp.info["lam"], sdp.info["mu"])[-1]
    assert D0 == pytest.approx(sdp.lower_bound, rel=1e-6) and D0 <= brute_quant(X, w0, delta, 2)
    with pytest.raises(ValueError, match="quant_sdp_bound of the same problem"):
        bounds.solve_quant_exact(X[:, :5], w0[:5], delta, 2, relaxation=sdp)


@pytest.mark.parametrize("seed", range(6))
def test_lll_is_unimodular_and_reduced(seed):
    X, _ = pixels(seed, n=8, spread=0.01)
    R = np.linalg.qr(X, mode="r")
    R *= np.where(np.diag(R) < 0, -1.0, 1.0)[:, None]
    Z, Z_inv = lll_reduce(R)
    assert np.array_equal(Z, np.round(Z)) and np.array_equal(Z_inv, np.round(Z_inv))
    np.testing.assert_array_equal(Z @ Z_inv, np.eye(8))
    assert round(abs(np.linalg.det(Z))) == 1
    T = np.linalg.qr(X @ Z, mode="r")
    T *= np.where(np.diag(T) < 0, -1.0, 1.0)[:, None]
    mu = T / np.diag(T)[:, None]
    assert np.all(np.abs(np.triu(mu, 1)) <= 0.5 + 1e-9)  # size reduced
    diag = np.diag(T)
    assert np.all(LOVASZ_DELTA * diag[:-1] ** 2 <= np.diag(T, 1) ** 2 + diag[1:] ** 2 + 1e-9 * diag[0] ** 2)
    rdiag = np.abs(np.diag(R))
    assert diag.max() / diag.min() < rdiag.max() / rdiag.min()  # flatter than before


@pytest.mark.parametrize("seed", range(4))
def test_a_reduction_without_swaps_enumerates_the_same_tree(seed):
    """With equal pivots LLL never swaps, only size-reduces: Z is unit upper triangular, and the
    lattice decoder's tree on R Z is the plain decoder's on R node for node (why the quantizer leaves
    the lattice decoder out there)."""
    rng = np.random.default_rng(seed)
    n = 7
    R = np.eye(n) + np.triu(rng.uniform(-3, 3, (n, n)), 1)
    r = rng.uniform(-2, 2, n)
    Z, Z_inv = lll_reduce(R)
    assert not np.tril(Z, -1).any() and np.all(np.diag(Z) == 1) and np.abs(Z).max() > 1
    nodes = []
    for basis, inverse in ((np.eye(n), np.eye(n)), (Z, Z_inv)):
        incumbent = quant_search.Incumbent(R.T @ R, r, np.round(r))
        decoder = quant_search.Decoder("tree", [quant_search.Part(R @ basis, inverse @ r, 0.0)], basis, 3,
                                       box=(np.full(n, -1e6), np.full(n, 1e6)))  # a box that never binds
        assert quant_search.run([decoder], incumbent, clock.Deadline.after(LOADED))[1] == "optimal"
        nodes.append((decoder.nodes, incumbent.value))
    assert nodes[0][0] == nodes[1][0] > n
    assert nodes[0][1] == pytest.approx(nodes[1][1], rel=1e-12)


def test_the_lattice_decoder_runs_only_where_lll_swaps():
    """Raw pixels: LLL swaps, and the lattice decoder is what certifies them. Orthogonal inputs: LLL
    leaves the basis alone, and only the combined decoder runs; both still exact."""
    for (X, w0), decoders in ((pixels(1, n=6), {"combined", "lattice"}),
                              (instance(0, n=6, correlated=0.0), {"combined"})):
        if decoders == {"combined"}:
            X = np.linalg.qr(X)[0] * 3.0  # orthogonal columns of equal length
        delta = np.max(np.abs(w0)) / 3.5
        sdp = bounds.quant_sdp_bound(X, w0, delta, 3)
        exact = bounds.solve_quant_exact(X, w0, delta, 3, relaxation=sdp, time_limit=LOADED)
        assert set(exact.info["routes"]) == decoders
        assert exact.status == "optimal" and exact.error == pytest.approx(brute_quant(X, w0, delta, 3), rel=1e-9)


def test_lll_refuses_a_singular_basis():
    R = np.triu(np.ones((3, 3)))
    R[2, 2] = 0.0
    assert lll_reduce(R) is None


@pytest.mark.parametrize("routes", [("dual",), ("combined",), ("lattice",), quant.DEFAULT_ROUTES, quant.ROUTES],
                         ids="+".join)
@pytest.mark.parametrize("stop_after", [2, 4, 8, 16, 32])
def test_stopped_decoders_keep_a_valid_bound(monkeypatch, routes, stop_after):
    """Stopped part way (a clock that ticks once per look) on pixel inputs, the reported bound (the
    largest of the decoders' open partial sums with box penalties) is below the brute-force optimum."""
    X, w0 = pixels(5, n=7)
    delta = np.max(np.abs(w0)) / 3.5
    truth = brute_quant(X, w0, delta, 3)
    sdp = bounds.quant_sdp_bound(X, w0, delta, 3)
    ticks = itertools.count()
    monkeypatch.setattr(clock, "now", lambda: float(next(ticks)))
    result = bounds.solve_quant_exact(X, w0, delta, 3, time_limit=stop_after, batch=1, routes=routes,
                                      relaxation=sdp)
    assert result.status in ("time_limit", "optimal")
    assert 0 <= result.lower_bound <= truth * (1 + 1e-12) and truth <= result.error * (1 + 1e-12)
    if stop_after <= 8:
        assert result.status == "time_limit"


def test_unknown_route_is_refused():
    X, w0 = instance(0)
    with pytest.raises(ValueError, match="routes must be"):
        bounds.solve_quant_exact(X, w0, 0.3, 2, routes=("lll",))


@pytest.mark.parametrize("kind", ["random", "pixels", "singular"])
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("bits", [2, 3])
def test_combined_keeps_only_nodes_plain_keeps(kind, seed, bits):
    """With the incumbent at the optimum (nothing can improve it), the combined decoder's tree is plain's
    tree less the nodes the dual's partial sums prune: never more nodes than plain; and all return the brute-force optimum. Singular X: plain's flat levels
    enumerate the box while the dual's part (A positive definite) still bounds them."""
    n = 6
    X, w0 = {"random": lambda: instance(seed, n=n), "pixels": lambda: pixels(seed, n=n),
             "singular": lambda: defective(seed, 4, n, ("duplicate", "zero"))}[kind]()
    delta = np.max(np.abs(w0)) / (2 ** (bits - 1) - 0.5) * (0.6 if seed % 2 else 1.0)
    truth = brute_quant(X, w0, delta, bits)
    sdp = bounds.quant_sdp_bound(X, w0, delta, bits)
    first = bounds.solve_quant_exact(X, w0, delta, bits, routes=("plain",), time_limit=LOADED)
    runs = {route: bounds.solve_quant_exact(X, w0, delta, bits, routes=(route,), upper=first, relaxation=sdp,
                                            time_limit=LOADED, batch=2)
            for route in ("plain", "dual", "combined")}
    for result in runs.values():
        assert result.status == "optimal"
        assert abs(result.error - truth) <= quant_tolerance(X, w0, delta, bits, truth)
    nodes = {route: result.info["routes"][route] for route, result in runs.items()}
    assert nodes["combined"] <= nodes["plain"]


def test_two_part_decoder_prunes_by_the_larger_partial_sum():
    """A decoder with two parts whose bounds are the same error (one of them shifted by a constant
    below it) visits exactly the nodes of the tighter part alone, and a part that starts at or above
    the incumbent prunes everything (a decoder's bound is the largest of its parts')."""
    X, w0 = instance(4, n=5)
    s = _shift(X, w0, 0.4, 3)
    order = quant._vblast_order(s.P)
    tight = quant._plain_part(s, order)
    loose = quant_search.Part(tight.R, tight.centre, -1.0)
    box = (s.low[order], s.high[order])
    perm = np.eye(5)[:, order]

    def nodes(parts, start):
        incumbent = quant_search.Incumbent(s.P, s.r, start)
        decoder = quant_search.Decoder("test", parts, perm, 2, clip=box)
        while decoder.step(incumbent):
            pass
        return decoder.nodes, incumbent.value

    rtn = np.clip(np.round(s.r), s.low, s.high)
    alone, best = nodes([tight], rtn)
    assert best == pytest.approx(brute_quant(X, w0, 0.4, 3), rel=1e-9)  # s.value is the error
    assert nodes([loose, tight], rtn) == (alone, best) and nodes([tight, loose], rtn) == (alone, best)
    above = quant_search.Part(tight.R, tight.centre, 2 * s.value(rtn) + 1.0)
    assert nodes([tight, above], rtn)[0] == 0
