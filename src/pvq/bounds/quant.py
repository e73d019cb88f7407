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

from pvq.bounds.problem import RANK_RTOL, BoundResult, check_inputs, compress_rows, error_of, live_columns
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


def certify_dual(P, r, low, high, lam, mu) -> tuple[float, dict]:
    """A rigorous lower bound from multipliers lam, mu >= 0 (any values, e.g. a solver's duals).

    For integer u in [low, high]: u_i (u_i - 1) >= 0 and (u_i - low_i)(high_i - u_i) >= 0, so
    error(u) >= L(u) = (u - r)^T P (u - r) - sum lam_i u_i (u_i - 1) - sum mu_i (u_i - low_i)(high_i - u_i)
    = u^T A u - 2 b^T u + e with A = P - diag(lam) + diag(mu), b = P r - lam/2 + mu (low+high)/2,
    e = r^T P r + mu^T (low high). A must be positive definite: where it is not, mu is raised
    (any mu >= 0 stays valid). Then min L = L(x) - res^T A^-1 res >= L(x) - ||res||^2 / eig_min(A)
    for any x (res = A x - b), which stays valid whatever the accuracy of the solve x = A^-1 b;
    L(x) and res are evaluated in extended precision.
    """
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
    b = P @ r - lam / 2 + mu * (low + high) / 2
    x = scipy.linalg.cho_solve(scipy.linalg.cho_factor(A), b)
    ld = np.longdouble
    Al, bl, xl = A.astype(ld), b.astype(ld), x.astype(ld)
    e = r.astype(ld) @ P.astype(ld) @ r.astype(ld) + mu.astype(ld) @ (low.astype(ld) * high.astype(ld))
    value = xl @ Al @ xl - 2 * bl @ xl + e
    res = Al @ xl - bl
    slack = (res @ res) / ld(0.5 * eig[0])
    rounding = 64 * np.finfo(ld).eps * (abs(xl) @ abs(Al) @ abs(xl) + 2 * abs(bl) @ abs(xl) + abs(e))
    bound = float(value - slack - rounding)
    return bound, {"cond": float(eig[-1] / eig[0]), "margin": float(slack + rounding)}


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


def solve_quant_exact(X, w0, delta: float, bits: int, time_limit: float = 10.0,
                      upper: BoundResult | None = None, batch: int = 4096) -> BoundResult:
    """Exact optimum by a box-constrained sphere decoder, enumerating whole batches of nodes in numpy.

    With P = R^T R (R upper triangular, V-BLAST column order) error(u) = sum_k (R_kk (u_k - c_k))^2,
    c_k depending on u_{k+1..n-1}. Levels are fixed from the last down; a node at level k with partial
    sum D only has children v in the box with D + (R_kk (v - c_k))^2 < incumbent, an integer interval
    around c_k (Fincke-Pohst). Up to ``batch`` nodes are expanded per numpy step, best first, depth
    first across batches, so the incumbent improves early and memory stays bounded. The incumbent
    starts from ``upper`` (a feasible result, e.g. :func:`quant_heuristic`) or round-to-nearest.
    Status 'optimal' when enumeration finishes (lower_bound = the optimum), else 'time_limit' with
    the smallest partial sum of the open nodes as lower_bound (no completion can go below it).
    """
    start = time.perf_counter()
    s = _shift(X, w0, delta, bits)
    n = s.r.size
    if upper is not None and upper.codes is not None:
        best_u = (upper.codes[s.live] - s.floor[s.live]).astype(np.float64)
    else:
        best_u = np.clip(np.round(s.r), s.low, s.high)
    if n == 0:
        return s.result(best_u, 0.0, "optimal", start)
    order = _vblast_order(s.P)
    R = _triangular_root(s.root[:, order])
    search = _Enumeration(R, s.r[order], s.low[order], s.high[order], batch)
    incumbent, lower, status = search.run(best_u[order], s.value(best_u) * (1 + 1e-12),
                                          start + time_limit)
    solution = np.empty(n)
    solution[order] = incumbent
    if status == "optimal":
        lower = s.value(solution)
    return s.result(solution, lower, status, start, nodes=search.nodes)


class _Enumeration:
    """Depth-first enumeration, in batches, of the integer points inside the incumbent's ellipsoid.

    A batch at level k holds, per node, its partial sum D, its fixed levels U (k+1..n-1 set) and
    A[:, :k+1] = R[:k+1, k+1:] @ (U - r)[k+1:], the a_i of every level still open; fixing u_k = v
    adds (v - r_k) R[:k, k] to the rest.
    """

    def __init__(self, R: np.ndarray, r: np.ndarray, low: np.ndarray, high: np.ndarray, batch: int):
        self.R, self.r, self.low, self.high, self.batch = R, r, low, high, max(int(batch), 1)
        self.rdiag = np.diag(R)
        # pivots at most this are numerically zero (singular P): their level enumerates the box
        self.flat = RANK_RTOL * (self.rdiag.max() if self.rdiag.size else 0.0)
        self.nodes = 0

    def run(self, incumbent: np.ndarray, best: float, deadline: float) -> tuple[np.ndarray, float, str]:
        """(best point, lower bound, status) starting from ``incumbent`` with value ``best``."""
        n = self.r.size
        stack = [(n - 1, np.zeros(1), np.zeros((1, n)), np.zeros((1, n)))]
        while stack:
            if time.perf_counter() > deadline:
                open_sums = [D.min() for _, D, _, _ in stack if D.size]
                return incumbent, float(min([best, *open_sums])), "time_limit"
            k, D, U, A = stack.pop()
            alive = D < best
            D, U, A = D[alive], U[alive], A[alive]
            if not D.size:
                continue
            D, U, A = self._children(k, D, U, A, best)
            if k == 0:
                if D.size and D.min() < best:
                    i = int(np.argmin(D))
                    best, incumbent = float(D[i]), U[i].copy()
                continue
            order = np.argsort(D, kind="stable")
            for chunk in reversed(np.array_split(order, -(-order.size // self.batch) or 1)):
                stack.append((k - 1, D[chunk], U[chunk], A[chunk]))
        return incumbent, best, "optimal"

    def _children(self, k: int, D, U, A, best: float):
        """Every child (u_k = v in the box) of the level-k nodes whose partial sum stays below ``best``."""
        rkk = self.rdiag[k]
        if rkk > self.flat:
            centre = self.r[k] - A[:, k] / rkk
            radius = np.sqrt(best - D) / rkk
            slack = 1e-9 * (1 + np.abs(centre) + radius)  # widened against rounding
            first = np.maximum(np.ceil(centre - radius - slack), self.low[k])
            last = np.minimum(np.floor(centre + radius + slack), self.high[k])
        else:  # no curvature along u_k given the later levels: every value in the box
            first, last = np.full(D.size, self.low[k]), np.full(D.size, self.high[k])
        count = np.maximum(last - first + 1, 0).astype(np.int64)
        parent = np.repeat(np.arange(D.size), count)
        value = first[parent] + (np.arange(parent.size) - np.repeat(np.cumsum(count) - count, count))
        if rkk > self.flat:
            partial = D[parent] + (rkk * (value - centre[parent])) ** 2
        else:
            partial = D[parent] + (rkk * (value - self.r[k]) + A[parent, k]) ** 2
        keep = partial < best  # the interval was widened: decide exactly here
        parent, value, partial = parent[keep], value[keep], partial[keep]
        self.nodes += value.size
        children = U[parent]
        children[:, k] = value
        offsets = A[parent, :k] + np.outer(value - self.r[k], self.R[:k, k])
        return partial, children, offsets
