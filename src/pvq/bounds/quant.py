"""Integer least squares of one output channel: min ||X (delta z - w0)||^2, z integer in the b-bit box.

Shifting the origin to f = floor(w0 / delta) (Park & Boyd 2018) writes z = f + u, r = w0/delta - f in
[0, 1), P = delta^2 X^T X and error(u) = (u - r)^T P (u - r), u integer in [l, h] = box - f.
P may be singular (fewer rows than features, duplicated columns): the box keeps every problem bounded,
the SDP certificate never needs P invertible, and the sphere decoder enumerates the box at the levels
where P gives no curvature.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from pvq.bounds import quant_search
from pvq.bounds.clock import Deadline
from pvq.bounds.lattice import lll_reduce
from pvq.bounds.problem import BoundResult, check_inputs, compress_rows, error_of, live_columns
from pvq.bounds.quant_sdp import solve_dual

# Random samples of the relaxation's Gaussian that the Park & Boyd heuristic rounds.
HEURISTIC_SAMPLES = 64


@dataclass(frozen=True)
class _Shifted:
    """The problem in shifted integer coordinates (live columns only), plus how to map back."""

    P: np.ndarray      # delta^2 G on live columns
    root: np.ndarray   # delta A on live columns (root^T root = P), for the sphere decoder's factor
    r: np.ndarray      # w0/delta - f on live columns
    low: np.ndarray    # box in u: [low, high]
    high: np.ndarray
    floor: np.ndarray  # f for every column
    live: np.ndarray   # live column indices
    A: np.ndarray      # square-root factor of X^T X (every column), for the returned errors
    w0: np.ndarray
    delta: float
    bits: int

    def codes(self, u: np.ndarray) -> np.ndarray:
        """Full code vector z: live columns from u, dead ones rounded to nearest (their error is 0)."""
        lo, hi = _grid(self.bits)
        z = np.clip(np.round(self.w0 / self.delta), lo, hi)
        z[self.live] = self.floor[self.live] + u
        return z.astype(np.int64)

    def result(self, u, lower_bound, status, start, **info) -> BoundResult:
        codes = self.codes(np.asarray(u))
        weights = self.delta * codes.astype(np.float64)
        return BoundResult(error_of(self.A, weights, self.w0), weights, float(max(lower_bound, 0.0)),
                           status, time.perf_counter() - start, codes=codes, info=info)

    def value(self, u) -> float:
        d = np.asarray(u, dtype=np.float64) - self.r
        return float(d @ self.P @ d)


def _grid(bits: int) -> tuple[int, int]:
    if bits < 1:
        raise ValueError(f"bits must be >= 1, got {bits}")
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def _shift(X, w0, delta: float, bits: int) -> _Shifted:
    if not delta > 0:
        raise ValueError(f"delta must be positive, got {delta}")
    A, w0 = check_inputs(X, w0)
    lo, hi = _grid(bits)
    live = np.flatnonzero(live_columns(A))
    root = delta * compress_rows(A[:, live])
    scaled = w0 / delta
    floor = np.floor(scaled)
    return _Shifted(P=root.T @ root, root=root, r=(scaled - floor)[live],
                    low=(lo - floor)[live], high=(hi - floor)[live], floor=floor, live=live,
                    A=A, w0=w0, delta=float(delta), bits=int(bits))


def quant_rtn(X, w0, delta: float, bits: int) -> BoundResult:
    """Round to nearest and clip: z = clip(round(w0 / delta)) (the data-free reference)."""
    start = time.perf_counter()
    s = _shift(X, w0, delta, bits)
    return s.result(np.clip(np.round(s.r), s.low, s.high), 0.0, "heuristic", start)


def _one_opt(s: _Shifted, U: np.ndarray) -> np.ndarray:
    """Greedy 1-opt on each row of U (samples x n): repeatedly apply the single-coordinate integer
    move with the largest decrease of (u - r)^T P (u - r) until no move helps (Park & Boyd)."""
    U = U.astype(np.float64).copy()
    grad = (U - s.r) @ s.P  # rows: P (u - r)
    pdiag = np.diag(s.P)
    rows = np.arange(U.shape[0])
    for _ in range(100 * max(s.r.size, 1)):
        step = np.clip(np.round(-grad / pdiag), s.low - U, s.high - U)
        gain = pdiag * step**2 + 2 * step * grad  # change of the objective
        best = np.argmin(gain, axis=1)
        improve = gain[rows, best] < -1e-15 * np.abs(grad).sum(axis=1).clip(min=1e-300)
        if not improve.any():
            break
        i, j = rows[improve], best[improve]
        t = step[i, j]
        U[i, j] += t
        grad[i] += t[:, None] * s.P[j]
    return U


def quant_heuristic(X, w0, delta: float, bits: int, samples: int = HEURISTIC_SAMPLES, seed: int = 0,
                    relaxation: BoundResult | None = None) -> BoundResult:
    """Park & Boyd: round samples of N(u*, Z* - u* u*^T) from the SDP relaxation (clipped to the box),
    plus round-to-nearest and the rounded relaxation mean, improve each by greedy 1-opt, keep the best.
    ``relaxation`` is a :func:`quant_sdp_bound` result to reuse (it is solved here otherwise)."""
    start = time.perf_counter()
    s = _shift(X, w0, delta, bits)
    relaxation = relaxation if relaxation is not None else quant_sdp_bound(X, w0, delta, bits)
    mean, cov = relaxation.info.get("mean"), relaxation.info.get("cov")
    starts = [np.round(s.r)]
    if mean is not None:
        starts.append(np.round(mean))
        vals, vecs = np.linalg.eigh(0.5 * (cov + cov.T))
        root = vecs * np.sqrt(np.clip(vals, 0, None))
        noise = np.random.default_rng(seed).standard_normal((samples, s.r.size))
        starts.extend(np.round(mean + noise @ root.T))
    U = _one_opt(s, np.clip(np.array(starts), s.low, s.high))
    values = np.einsum("ij,jk,ik->i", U - s.r, s.P, U - s.r)
    return s.result(U[int(np.argmin(values))], 0.0, "heuristic", start)


def _dual_quadratic(P, r, low, high, lam, mu):
    """(A, b, e, lam, mu, smallest eigenvalue of A, drift) of the Lagrangian below, mu raised until A is
    positive definite (any mu >= 0 stays valid).

    A is float64 (the decoders' partial sums use it), b and e extended precision; drift bounds
    |u^T A u - 2 b^T u + e - L(u)| over the box, L the Lagrangian of exact arithmetic: the rounding of A's
    diagonal (about eps64 |A_ii| u_i^2, which a 1e-16 bound would otherwise exceed) and of b and e."""
    lam = np.clip(np.asarray(lam, float), 0, None)
    mu = np.clip(np.asarray(mu, float), 0, None)
    n = r.size
    floor_eig = 1e-9 * np.trace(P) / max(n, 1)
    for _ in range(60):
        A = P - np.diag(lam) + np.diag(mu)
        eig = np.linalg.eigvalsh(A)
        if eig[0] >= floor_eig:
            break
        mu = mu + (floor_eig - eig[0]) * 2.0
    ld = np.longdouble
    Pl, rl, laml, mul, lowl, highl = (np.asarray(v, ld) for v in (P, r, lam, mu, low, high))
    b = Pl @ rl - laml / 2 + mul * (lowl + highl) / 2
    e = rl @ Pl @ rl + mul @ (lowl * highl)
    eps = (n + 4) * np.finfo(ld).eps
    diagonal = np.abs(np.diag(Pl)) + laml + mul
    error_A = np.abs(np.diag(Pl) - laml + mul - np.diag(A)) + eps * diagonal
    error_b = eps * (np.abs(Pl) @ np.abs(rl) + laml / 2 + mul * (np.abs(lowl) + np.abs(highl)) / 2)
    error_e = eps * (np.abs(rl) @ np.abs(Pl) @ np.abs(rl) + mul @ np.abs(lowl * highl))
    reach = np.maximum(np.abs(lowl), np.abs(highl))
    drift = 2 * (error_A @ reach**2 + 2 * error_b @ reach + error_e)
    return A, b, e, lam, mu, eig, drift


def _lagrangian_at(A, b, e, x):
    """L(x) = x^T A x - 2 b^T x + e, the residual A x - b (both in extended precision) and a bound on
    the rounding of L(x)."""
    ld = np.longdouble
    Al, bl, xl = A.astype(ld), b.astype(ld), x.astype(ld)
    value = xl @ Al @ xl - 2 * bl @ xl + e
    rounding = 64 * np.finfo(ld).eps * (abs(xl) @ abs(Al) @ abs(xl) + 2 * abs(bl) @ abs(xl) + abs(e))
    return value, Al @ xl - bl, rounding


def certify_dual(P, r, low, high, lam, mu) -> tuple[float, dict]:
    """A rigorous lower bound from multipliers lam, mu >= 0 (any values, e.g. a solver's duals).

    For integer u in [low, high]: u_i (u_i - 1) >= 0 and (u_i - low_i)(high_i - u_i) >= 0, so
    error(u) >= L(u) = (u - r)^T P (u - r) - sum lam_i u_i (u_i - 1) - sum mu_i (u_i - low_i)(high_i - u_i)
    = u^T A u - 2 b^T u + e with A = P - diag(lam) + diag(mu), b = P r - lam/2 + mu (low+high)/2,
    e = r^T P r + mu^T (low high). A must be positive definite: where it is not, mu is raised
    (any mu >= 0 stays valid). Then min L = L(x) - res^T A^-1 res >= L(x) - ||res||^2 / eig_min(A)
    for any x (res = A x - b), which stays valid whatever the accuracy of the solve x = A^-1 b;
    L(x) and res are evaluated in extended precision, less the drift of A's float64 rounding.
    """
    A, b, e, lam, mu, eig, drift = _dual_quadratic(P, r, low, high, lam, mu)
    x = scipy.linalg.cho_solve(scipy.linalg.cho_factor(A), b.astype(float))
    value, res, rounding = _lagrangian_at(A, b, e, x)
    slack = (res @ res) / np.longdouble(0.5 * eig[0])
    bound = float(value - slack - rounding - drift)
    return bound, {"cond": float(eig[-1] / eig[0]), "margin": float(slack + rounding + drift)}


def dual_split(P, r, low, high, lam, mu):
    """(A, x, lam, mu, D0) with error(u) >= D0 + (u - x)^T A (u - x) + sum_i t_i(u_i) for every integer
    u in [low, high], t_i(u) = lam_i u (u - 1) + mu_i (u - low_i)(high_i - u) >= 0 there (the dual
    decoder of pvq.bounds.quant_search). Exactly error(u) = L(x) + (u - x)^T A (u - x) + 2 res^T (u - x)
    + sum t_i(u_i) for any x; |2 res^T (u - x)| <= 2 sum |res_i| max(|low_i - x_i|, |high_i - x_i|) in the
    box, so D0 is L(x) less that, its rounding and A's (the drift), whatever the accuracy of x."""
    A, b, e, lam, mu, _, drift = _dual_quadratic(P, r, low, high, lam, mu)
    x = scipy.linalg.cho_solve(scipy.linalg.cho_factor(A), b.astype(float))
    value, res, rounding = _lagrangian_at(A, b, e, x)
    width = np.maximum(np.abs(low - x), np.abs(high - x)).astype(np.longdouble)
    return A, x, lam, mu, float(value - 2 * np.abs(res) @ width - rounding - drift)


def quant_sdp_bound(X, w0, delta: float, bits: int, solver: str = "barrier") -> BoundResult:
    """Lower bound from the SDP relaxation (Park & Boyd, with the box), certified from its duals.

    Relaxation: Y = [[Z, u], [u^T, 1]] >= 0, minimise tr(P Z) - 2 r^T P u + r^T P r subject to
    Z_ii >= u_i (from u_i (u_i - 1) >= 0) and Z_ii <= (l_i + h_i) u_i - l_i h_i (from the box).
    ``solver``: 'barrier' (ours, :func:`pvq.bounds.quant_sdp.solve_dual`: its dual in numpy,
    milliseconds) or a cvxpy solver name (e.g. 'CLARABEL', the reference it is checked against).
    The bound is never a solver's objective but :func:`certify_dual` of its multipliers; weights
    are the relaxation mean rounded to the box (feasible); info keeps mean and covariance for
    :func:`quant_heuristic`.
    """
    start = time.perf_counter()
    s = _shift(X, w0, delta, bits)
    n = s.r.size
    if n == 0:
        return s.result(np.zeros(0), 0.0, "optimal", start)
    if solver == "barrier":
        solution = solve_dual(s.P, s.r, s.low, s.high,
                              lambda lam, mu: certify_dual(s.P, s.r, s.low, s.high, lam, mu)[0])
        mean, cov = solution.mean, 0.5 * (solution.cov + solution.cov.T)
        rounded = np.clip(np.round(mean), s.low, s.high)
        return s.result(rounded, solution.bound, "bound", start, solver="barrier", solver_objective=solution.value,
                        newton_steps=solution.newton_steps, gap=solution.gap, mean=mean, cov=cov,
                        lam=solution.lam, mu=solution.mu)
    return _cvxpy_bound(s, solver, start)


def _cvxpy_bound(s: "_Shifted", solver: str, start: float) -> BoundResult:
    """The same relaxation through cvxpy and ``solver``, certified from its duals."""
    import cvxpy as cp

    n = s.r.size
    scale = float(np.trace(s.P) / n) or 1.0
    Ps = s.P / scale
    Y = cp.Variable((n + 1, n + 1), symmetric=True)
    Z, u = Y[:n, :n], Y[:n, n]
    objective = cp.trace(Ps @ Z) - 2 * (Ps @ s.r) @ u + float(s.r @ Ps @ s.r)
    integer = cp.diag(Z) - u >= 0
    box = cp.multiply(s.low + s.high, u) - cp.diag(Z) - s.low * s.high >= 0
    problem = cp.Problem(cp.Minimize(objective), [Y >> 0, Y[n, n] == 1, integer, box])
    try:
        problem.solve(solver=solver)
    except cp.error.SolverError as error:
        rtn = np.clip(np.round(s.r), s.low, s.high)
        return s.result(rtn, 0.0, "failed", start, solver_error=str(error))
    if integer.dual_value is None or Y.value is None:
        rtn = np.clip(np.round(s.r), s.low, s.high)
        return s.result(rtn, 0.0, "failed", start, solver_status=problem.status)
    bound, cert = certify_dual(s.P, s.r, s.low, s.high, scale * np.reshape(integer.dual_value, n),
                               scale * np.reshape(box.dual_value, n))  # cvxpy gives a scalar for n = 1
    mean = np.asarray(Y.value[:n, n])
    cov = np.asarray(Y.value[:n, :n]) - np.outer(mean, mean)
    rounded = np.clip(np.round(mean), s.low, s.high)
    return s.result(rounded, bound, "bound", start, solver=solver, solver_status=problem.status,
                    solver_objective=float(problem.value) * scale, mean=mean, cov=cov, **cert)


def _vblast_order(P: np.ndarray) -> np.ndarray:
    """Column order for the sphere decoder: the level decided first (last position) gets the
    largest conditional precision 1 / (P_SS^-1)_jj, recursively (V-BLAST ordering). A ridge of
    1e-12 of the mean diagonal keeps the inverses defined for singular P; the order only steers the
    search (every order gives the same optimum), and it puts columns in the span of others last."""
    ridge = 1e-12 * np.trace(P) / max(P.shape[0], 1) * np.eye(P.shape[0])
    remaining = list(range(P.shape[0]))
    order = []
    while remaining:
        inv_diag = np.diag(np.linalg.inv((P + ridge)[np.ix_(remaining, remaining)]))
        order.append(remaining.pop(int(np.argmin(inv_diag))))
    return np.array(order[::-1])


def _triangular_root(root: np.ndarray) -> np.ndarray:
    """n x n upper triangular R with R^T R = root^T root and R_kk >= 0 (QR of root, zero rows
    added when root has fewer rows than columns): singular P gives zeros on the diagonal."""
    n = root.shape[1]
    R = np.zeros((n, n))
    top = np.linalg.qr(root, mode="r")[:n]
    R[: top.shape[0]] = top * np.where(np.diag(top) < 0, -1.0, 1.0)[:, None]
    return R


# The decoders of pvq.bounds.quant_search that solve_quant_exact can run side by side, and the default.
ROUTES = ("plain", "dual", "combined", "lattice")
DEFAULT_ROUTES = ("combined", "lattice")
# The lattice decoder needs a well-determined P: pivots (V-BLAST order) within this ratio of the largest
# (the stem conv's raw pixels: 0.04); nearer-singular problems are left to the other decoders.
LATTICE_MIN_PIVOT = 1e-6


def solve_quant_exact(X, w0, delta: float, bits: int, time_limit: float = 10.0,
                      upper: BoundResult | None = None, batch: int = 4096,
                      relaxation: BoundResult | None = None, routes: tuple = DEFAULT_ROUTES) -> BoundResult:
    """Exact optimum by box-constrained sphere decoders (pvq.bounds.quant_search), batched in numpy.

    Decoders take turns on the same problem and share the incumbent: 'plain' (P = R^T R, V-BLAST
    column order, Fincke-Pohst intervals clipped to the box), 'dual' (started at the SDP relaxation's
    certified bound: ``relaxation``, a :func:`quant_sdp_bound` result of the same problem, solved here
    when missing), 'combined' (both bounds on one tree in plain's order, a node pruned by the larger) and
    'lattice' (LLL-reduced basis, where P is well determined). ``routes`` picks which run
    (DEFAULT_ROUTES: 'combined', which prunes every node plain would, and 'lattice' where LLL swaps a
    pair of columns; each alone is exact; where none of them applies, 'plain' runs). The incumbent
    starts from ``upper`` (a feasible result, e.g. :func:`quant_heuristic`) or round-to-nearest. Status
    'optimal' when one decoder's enumeration finishes (lower_bound = the optimum), else 'time_limit'
    after ``time_limit`` CPU seconds of the calling thread (:mod:`pvq.bounds.clock`) with the largest
    of the decoders' bounds (the smallest, over each one's open nodes, of a node's largest partial sum).
    """
    unknown = set(routes) - set(ROUTES)
    if unknown or not routes:
        raise ValueError(f"routes must be a non-empty subset of {ROUTES}, got {routes}")
    start, deadline = time.perf_counter(), Deadline.after(time_limit)
    s = _shift(X, w0, delta, bits)
    n = s.r.size
    if upper is not None and upper.codes is not None:
        best_u = (upper.codes[s.live] - s.floor[s.live]).astype(np.float64)
    else:
        best_u = np.clip(np.round(s.r), s.low, s.high)
    if n == 0:
        return s.result(best_u, 0.0, "optimal", start)
    incumbent = quant_search.Incumbent(s.P, s.r, best_u)
    decoders = [decoder for route in routes
                if (decoder := _decoder(route, s, batch, relaxation, X, w0)) is not None]
    decoders = decoders or [_decoder("plain", s, batch, relaxation, X, w0)]  # the one that always applies
    lower, status = quant_search.run(decoders, incumbent, deadline)
    if status == "optimal":
        lower = s.value(incumbent.u)
    return s.result(incumbent.u, lower, status, start, nodes=sum(d.nodes for d in decoders),
                    routes={d.name: d.nodes for d in decoders})


def _decoder(route: str, s: _Shifted, batch: int, relaxation, X, w0):
    """The decoder of ``route`` on the shifted problem, or None where it does not apply (no
    multipliers for 'dual' and 'combined'; for 'lattice', a numerically singular P, or an LLL reduction
    without a swap: Z is then unit upper triangular, so u_k = v_k + an integer fixed by the levels
    above, and the reduced tree is plain's node for node, with the box only as a penalty where plain
    clips to it. It would keep at least the nodes combined keeps, at a higher cost per node.)"""
    n = s.r.size
    if route in ("dual", "combined"):
        dual = _dual_part(s, relaxation, X, w0, None if route == "dual" else _vblast_order(s.P))
        if dual is None:
            return None
        part, order = dual
        box = (s.low[order], s.high[order])
        parts = [part] if route == "dual" else [_plain_part(s, order), part]
        return quant_search.Decoder(route, parts, np.eye(n)[:, order], batch, clip=box)
    order = _vblast_order(s.P)
    perm = np.eye(n)[:, order]
    if route == "plain":
        return quant_search.Decoder("plain", [_plain_part(s, order)], perm, batch, clip=(s.low[order], s.high[order]))
    R = _triangular_root(s.root[:, order])
    pivots = np.diag(R)
    if n < 2 or pivots.min() <= LATTICE_MIN_PIVOT * pivots.max():
        return None
    reduced = lll_reduce(R)
    if reduced is None or not np.tril(reduced[0], -1).any():
        return None  # no swap (Z unit upper triangular): plain's tree, with the box as a mere penalty
    Z, Z_inv = perm @ reduced[0], reduced[1] @ perm.T
    R = _triangular_root(s.root @ Z)  # fresh factor of the reduced basis (exact Z, no drift)
    return quant_search.Decoder("lattice", [quant_search.Part(R, Z_inv @ s.r, 0.0)], Z, batch, box=(s.low, s.high))


def _plain_part(s: _Shifted, order: np.ndarray) -> quant_search.Part:
    """error(u) itself as partial sums: P = R^T R in ``order``, centre r, from 0."""
    return quant_search.Part(_triangular_root(s.root[:, order]), s.r[order], 0.0)


def _dual_part(s: _Shifted, relaxation, X, w0, order):
    """(the dual split of :func:`dual_split` as partial sums in ``order``, the order), with the
    relaxation's multipliers; ``order`` None: the V-BLAST order of its A. None without multipliers."""
    n = s.r.size
    if relaxation is None:
        relaxation = quant_sdp_bound(X, w0, s.delta, s.bits)
    lam, mu = relaxation.info.get("lam"), relaxation.info.get("mu")
    if lam is None or mu is None:
        return None
    if np.shape(lam) != (n,) or np.shape(mu) != (n,):
        raise ValueError(f"relaxation has multipliers for {np.size(lam)} columns, the problem has {n} "
                         "live columns: pass quant_sdp_bound of the same problem")
    A, x, lam, mu, D0 = dual_split(s.P, s.r, s.low, s.high, lam, mu)
    order = _vblast_order(A) if order is None else order
    try:
        R = np.linalg.cholesky(A[np.ix_(order, order)]).T
    except np.linalg.LinAlgError:
        return None
    terms = (lam[order], mu[order], s.low[order], s.high[order])
    return quant_search.Part(R, x[order], D0, terms), order
