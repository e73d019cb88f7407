"""Best-subset pruning of one output channel: min ||X (w - w0)||^2 s.t. ||w||_0 <= keep (paper eq. 7-8).

For a support S the best weights are the least-squares fit of y = X w0 on the columns S, with error
E(S) = ||y - P_S y||^2 (P_S the projection on their span). E only grows as columns are dropped, which
is what the branch and bound's node bound rests on. A column in the span of the others (a duplicate,
more columns than rows, ...) adds nothing to the span: fits give it weight 0 (a basic least-squares
solution). Every fit is a QR of the columns of a square-root factor A of X^T X (see
:mod:`pvq.bounds.problem`), never a solve with the Gram matrix, which may be singular.
"""

from __future__ import annotations

import numbers
import time
from dataclasses import dataclass

import numpy as np
import scipy.linalg
from scipy.linalg import lapack

from pvq.bounds.clock import Deadline
from pvq.bounds.problem import RANK_RTOL, BoundResult, check_inputs, compress_rows, error_of, live_columns
from pvq.bounds.prune_search import sdp_search, single_column_search

# Nodes of the single-column search before a problem goes to the SDP search (n = 32 problems of real
# Lite0 chunks need 70-1500; its nodes cost about 0.1 ms, the SDP search's 10-40 ms).
SINGLE_COLUMN_NODES = 3000

# The SDP bound is used only where the smallest eigenvalue of X^T X (live columns) is at least this
# share of its mean diagonal: it certifies only with Q = X^T X - diag(Lambda) well away from singular.
SDP_MIN_EIG = 1e-7

# The big-M MIQP is only posed when cond(X) (live columns) is at most this: beyond it the constants
# of :func:`big_m` (and the weights SCIP must represent) grow past what its feasibility tolerance
# (1e-6) can hold, and for singular X^T X no constant is valid at all.
BIG_M_MAX_COND = 1e6

# SCIP's objective is only as exact as its feasibility tolerance (1e-6 on each row of the scaled
# residual, which adds up over the rows): its dual bound is a few 1e-6 below our exact refit even when
# right. A refit of SCIP's support above its dual bound by more than this share of the objective
# scale means SCIP's answer did not hold up (e.g. a big-M leak).
MIP_RTOL = 1e-4


def _check_keep(keep: int, n: int) -> int:
    """``keep`` as an int in [0, n]; a float or text (4.5, 4.0, "4") is refused, never truncated."""
    if isinstance(keep, bool) or not isinstance(keep, numbers.Integral):
        raise TypeError(f"keep must be an integer number of weights, got {keep!r} ({type(keep).__name__})")
    keep = int(keep)
    if not 0 <= keep <= n:
        raise ValueError(f"keep must lie in [0, {n}], got {keep}")
    return keep


@dataclass(frozen=True)
class _Fit:
    """Least-squares fit of y on some columns (in the order given).

    error: E(columns). coef: the weight of each column (0 on columns in the span of the others).
    increase: per column, a lower bound on E(columns without it) - E(columns); exact
    (beta_i^2 / (G^-1)_ii) for a column outside the span of the others, 0 for one inside it.
    """

    error: float
    coef: np.ndarray
    increase: np.ndarray


def _residual(T: np.ndarray, k: int) -> float:
    """E = rho^2 from the triangle of [A_S, y] (0 when the k columns already span all p rows)."""
    return float(T[k, k] ** 2) if T.shape[0] > k else 0.0


class _Subsets:
    """Least-squares fits of y = A w0 on column subsets of A (p x n), rank revealing.

    A column whose distance to the span of the other chosen columns is at most ``tol`` (RANK_RTOL
    times the largest column norm) counts as inside that span. Errors within ``atol`` (residual
    norms within RANK_RTOL ||y||) are ties.
    """

    def __init__(self, A: np.ndarray, w0: np.ndarray):
        self.A, self.y = A, A @ w0
        self.total = float(self.y @ self.y)
        norms = np.linalg.norm(A, axis=0)
        self.tol = RANK_RTOL * (float(norms.max()) if norms.size else 0.0)
        self.atol = RANK_RTOL**2 * self.total
        p, n = A.shape
        self._work = np.empty((p, n + 1), order="F")  # [A[:, cols], y], overwritten by each QR
        self._upper = np.triu(np.ones((n + 1, n + 1)))

    def _triangle(self, cols: np.ndarray) -> np.ndarray:
        """The R of a Householder QR of [A[:, cols], y] (min(p, k+1) x k+1)."""
        k = cols.size
        M = self._work[:, : k + 1]
        np.take(self.A, cols, axis=1, out=M[:, :k])
        M[:, k] = self.y
        qr = lapack.dgeqrf(M, overwrite_a=True)[0]
        rows = min(M.shape)
        return qr[:rows] * self._upper[:rows, : k + 1]

    @staticmethod
    def _solve(T: np.ndarray, k: int) -> tuple[float, np.ndarray, np.ndarray]:
        """(E, beta, diag (A_S^T A_S)^-1) from the triangle of k independent columns (k <= p):
        R1 beta = z, E = rho^2 (no cancellation against ||y||^2), (G_SS^-1)_ii = ||row i of R1^-1||^2."""
        inverse = lapack.dtrtri(T[:k, :k])[0]
        return _residual(T, k), inverse @ T[:k, k], np.einsum("ij,ij->i", inverse, inverse)

    def _independent(self, T: np.ndarray, k: int) -> bool:
        """Whether the k columns behind T have full column rank (every pivot above tol)."""
        return T.shape[0] >= k and np.abs(T.diagonal()[:k]).min() > self.tol

    def fit(self, cols: np.ndarray) -> _Fit:
        k = cols.size
        if k == 0:
            return _Fit(self.total, np.zeros(0), np.zeros(0))
        T = self._triangle(cols)
        if self._independent(T, k):  # the common, fast case
            error, beta, hdiag = self._solve(T, k)
            return _Fit(error, beta, beta**2 / hdiag)
        return self._fit_rank_deficient(cols)

    def _fit_rank_deficient(self, cols: np.ndarray) -> _Fit:
        """Column-pivoted QR splits cols into a basis (pivots above tol) and columns within tol of
        its span. E and the weights come from the basis; dropping an inside column changes nothing,
        and neither does dropping a basis column that some inside column depends on (that column
        takes its place), so both get increase 0; the other basis columns keep the exact formula."""
        k = cols.size
        R, pivots = scipy.linalg.qr(self.A[:, cols], mode="r", pivoting=True, check_finite=False)
        small = np.abs(np.diag(R)) <= self.tol
        rank = int(np.argmax(small)) if small.any() else min(R.shape)
        coef, increase = np.zeros(k), np.zeros(k)
        if rank == 0:
            return _Fit(self.total, coef, increase)
        basis = pivots[:rank]
        error, beta, hdiag = self._solve(self._triangle(cols[basis]), rank)
        # inside column j = sum_i C_ij a_i (basis i): it needs basis column i when its part along
        # a_i's own direction, |C_ij| / sqrt(hdiag_i), is above tol
        C = lapack.dtrtrs(R[:rank, :rank], R[:rank, rank:])[0]
        needed = np.any(np.abs(C) > self.tol * np.sqrt(hdiag)[:, None], axis=1)
        coef[basis] = beta
        increase[basis] = np.where(needed, 0.0, beta**2 / hdiag)
        return _Fit(error, coef, increase)

    def error(self, cols: np.ndarray) -> float:
        if cols.size:
            T = self._triangle(cols)
            if self._independent(T, cols.size):
                return _residual(T, cols.size)
        return self.fit(cols).error

    def weights(self, cols: np.ndarray, n: int) -> np.ndarray:
        """Length-n weights: the least-squares fit on ``cols``, zero elsewhere."""
        w = np.zeros(n)
        w[cols] = self.fit(cols).coef
        return w

    def swap_search(self, cols: np.ndarray, max_rounds: int = 50) -> np.ndarray:
        """Local search: while some swap of a kept column for a dropped one lowers the error, make the
        best such swap (each kept column's removal refitted by QR, every candidate's gain
        (r^T a_j)^2 / ||P_perp a_j||^2 from the projections of all columns at once)."""
        n = self.A.shape[1]
        cols = np.sort(cols)
        if cols.size == 0 or cols.size == n:
            return cols
        best = self.error(cols)
        for _ in range(max_rounds):
            out = np.setdiff1d(np.arange(n), cols)
            gains = np.full((cols.size, out.size), -np.inf)
            for i in range(cols.size):
                rest = np.delete(cols, i)
                basis = np.linalg.qr(self.A[:, rest])[0] if rest.size else np.zeros((self.A.shape[0], 0))
                residual = self.y - basis @ (basis.T @ self.y)
                candidates = self.A[:, out]
                projected = candidates - basis @ (basis.T @ candidates)
                norms = np.einsum("ij,ij->j", projected, projected)
                ok = norms > self.tol**2
                gains[i, ok] = (residual @ projected[:, ok]) ** 2 / norms[ok] - float(residual @ residual)
            i, j = np.unravel_index(int(np.argmax(gains)), gains.shape)
            trial = np.sort(np.append(np.delete(cols, i), out[j]))
            value = self.error(trial)
            if not value < best * (1 - 1e-12):
                break
            cols, best = trial, value
        return cols

    def backward_greedy(self, cols: np.ndarray, keep: int) -> np.ndarray:
        """Drop, one at a time, the column whose removal raises the error least."""
        cols = cols.copy()
        while cols.size > keep:
            cols = np.delete(cols, int(np.argmin(self.fit(cols).increase)))
        return cols


def prune_heuristic(X, w0, keep: int, refit: bool = True) -> BoundResult:
    """Magnitude pruning: keep the ``keep`` largest |w0| (ties by index); with ``refit`` the kept
    weights are re-fitted by least squares on X (the paper's heuristic), else kept as they are."""
    start = time.perf_counter()
    A, w0 = check_inputs(X, w0)
    keep = _check_keep(keep, w0.size)
    order = np.argsort(-np.abs(w0), kind="stable")
    support = np.sort(order[:keep])
    if refit:
        weights = _Subsets(A, w0).weights(support[live_columns(A)[support]], w0.size)
    else:
        weights = np.where(np.isin(np.arange(w0.size), support), w0, 0.0)
    return BoundResult(error_of(A, weights, w0), weights, 0.0, "heuristic",
                       time.perf_counter() - start, info={"support": support})


def solve_prune_exact(X, w0, keep: int, time_limit: float = 60.0) -> BoundResult:
    """Certified best subset of size ``keep`` by branch and bound.

    The incumbent starts from the better of magnitude + refit and backward greedy, improved by
    best-improvement swaps (:meth:`_Subsets.swap_search`). A depth-first search on a cheap
    single-column bound (:func:`pvq.bounds.prune_search.single_column_search`) then runs for at most
    SINGLE_COLUMN_NODES nodes, which is enough for most problems up to n = 32; what it leaves
    unfinished goes to a best-first search on SDP bounds (:func:`pvq.bounds.prune_search.sdp_search`)
    when X has full column rank on its live columns (the SDP bound needs X^T X positive definite),
    else the single-column search runs on to the time limit (``time_limit`` CPU seconds of the calling
    thread, :mod:`pvq.bounds.clock`, counted from the call). Status 'optimal' when a search
    exhausts its tree (up to prune_search.PRUNE_RTOL and the rank tolerance RANK_RTOL), else
    'time_limit' with the smallest bound of the open nodes as lower_bound. info: nodes of each
    search, which finished.
    """
    start, deadline = time.perf_counter(), Deadline.after(time_limit)
    A, w0 = check_inputs(X, w0)
    keep = _check_keep(keep, w0.size)
    live = np.flatnonzero(live_columns(A))
    keep_live = min(keep, live.size)
    sub = _Subsets(A[:, live], w0[live])
    n = live.size

    magnitude = prune_heuristic(A, w0, keep)
    start_cols = np.flatnonzero(np.isin(live, magnitude.info["support"]))[:keep_live]
    greedy = sub.backward_greedy(np.arange(n), keep_live)
    candidates = [start_cols, greedy] if start_cols.size == keep_live else [greedy]
    best_cols = sub.swap_search(min(candidates, key=sub.error))

    sdp = 0 < keep_live < n and _positive_definite(sub.A)
    search = single_column_search(sub, keep_live, best_cols, deadline, SINGLE_COLUMN_NODES if sdp else None)
    info = {"nodes": search.nodes, "search": "single-column"}
    if search.status == "node_limit":
        search = sdp_search(sub, keep_live, search.support, search.error, deadline)
        info.update(search="sdp", sdp_nodes=search.nodes, nodes=info["nodes"] + search.nodes)
    weights = np.zeros_like(w0)
    weights[live] = sub.weights(search.support, n)
    error = error_of(A, weights, w0)
    return BoundResult(error, weights, float(min(max(search.lower, 0.0), error)), search.status,
                       time.perf_counter() - start, info={**info, "support": live[search.support]})


def _positive_definite(A: np.ndarray) -> bool:
    """Whether A^T A is safely positive definite for the SDP bound (smallest eigenvalue at least
    SDP_MIN_EIG of its mean diagonal)."""
    p, n = A.shape
    if p < n:
        return False
    singular = np.linalg.svd(A, compute_uv=False)
    return bool(singular[-1] ** 2 >= SDP_MIN_EIG * np.sum(A * A) / n)


def big_m(X, w0, upper: float) -> np.ndarray:
    """|w_i| <= |w0_i| + sqrt(upper * (G^-1)_ii) for every w with ||X (w - w0)||^2 <= upper
    (Cauchy-Schwarz in the G-norm, G = X^T X), so these bounds cut off no solution better than
    ``upper``. (G^-1)_ii is the squared norm of row i of R^-1 (R from a QR of X). X must have full
    column rank: otherwise such w are unbounded along its null space and no constant is valid."""
    A = compress_rows(X)
    n = A.shape[1]
    R = np.linalg.qr(A, mode="r") if A.shape[0] >= n else np.zeros((0, n))
    norms = np.linalg.norm(A, axis=0)
    if R.shape[0] < n or np.abs(np.diag(R)).min() <= RANK_RTOL * norms.max():
        raise ValueError(f"big_m needs X of full column rank: this X ({A.shape[0]} x {n} after "
                         f"compress_rows) has X^T X singular, so no big-M constant is valid "
                         f"(drop zero, duplicated or collinear columns first)")
    inverse = scipy.linalg.solve_triangular(R, np.eye(n), check_finite=False)
    return np.abs(w0) + np.sqrt(max(upper, 0.0) * np.einsum("ij,ij->i", inverse, inverse))


def solve_prune_mip(X, w0, keep: int, time_limit: float = 120.0) -> BoundResult:
    """The MIQP of paper eq. 8 solved by SCIP (PySCIPOpt): binaries m_i, |w_i| <= M_i m_i with the
    valid big-M of :func:`big_m`, sum m = keep, objective ||R (w - w0)||^2 with R^T R = G (live columns).

    The upper bound behind M is the better of magnitude + refit and backward greedy (heuristics, not
    the branch and bound this cross-checks; a bound that is zero to working precision is optimal as
    it stands), and SCIP starts from the greedy support; the objective is scaled by that bound for
    SCIP's tolerances. Big-M needs X (live columns) of full column rank with cond(X) at most
    BIG_M_MAX_COND: otherwise (fewer rows than columns, duplicated or collinear columns) no constant
    is valid, or none that SCIP's tolerances can hold, and the result is the heuristic with status
    'failed' and info['failed'] saying why (solve_prune_exact handles every X). SCIP's support is
    refitted exactly; if that error exceeds SCIP's dual bound by more than MIP_RTOL of the scale, or
    SCIP stops on an error (numerical trouble in its LP solver), the status is 'failed' too.
    lower_bound is SCIP's dual bound (trusting its tolerances); status is SCIP's, mapped to ours."""
    start = time.perf_counter()
    A, w0 = check_inputs(X, w0)
    keep = _check_keep(keep, w0.size)
    live = np.flatnonzero(live_columns(A))
    n = live.size
    keep_live = min(keep, n)
    Al, wl = compress_rows(A[:, live]), w0[live]
    sub = _Subsets(Al, wl)
    greedy_cols = sub.backward_greedy(np.arange(n), keep_live)
    greedy = np.zeros_like(w0)
    greedy[live] = sub.weights(greedy_cols, n)
    heuristic = min(prune_heuristic(A, w0, keep).weights, greedy, key=lambda v: error_of(A, v, w0))
    upper = error_of(A, heuristic, w0)

    def unsolved(**info) -> BoundResult:
        return BoundResult(upper, heuristic, 0.0, "failed", time.perf_counter() - start, info=info)

    if upper <= sub.atol:
        return BoundResult(upper, heuristic, 0.0, "optimal", time.perf_counter() - start,
                           info={"scip_status": "not_run"})
    problem = _why_no_big_m(Al, live)
    if problem is not None:
        return unsolved(scip_status="not_run", failed=problem)
    model, m = _miqp(Al / np.sqrt(upper), wl, keep_live, big_m(Al, wl, upper), greedy[live],
                     np.isin(np.arange(n), greedy_cols), time_limit)
    try:
        model.optimize()
    except Exception as error:  # SCIP raises a bare Exception when its LP solver gives up
        return unsolved(scip_status="error", failed=f"SCIP stopped: {error}")

    scip_status = model.getStatus()
    status = {"optimal": "optimal", "timelimit": "time_limit"}.get(scip_status, "failed")
    dual = max(model.getDualbound() * upper, 0.0) if status != "failed" else 0.0
    weights, info = heuristic, {}
    if model.getNSols() > 0:
        support = np.flatnonzero([model.getSolVal(model.getBestSol(), mi) > 0.5 for mi in m])
        refit = np.zeros_like(w0)
        refit[live] = sub.weights(support, n)
        if error_of(A, refit, w0) <= upper:
            weights = refit
    elif status == "optimal":
        status = "failed"
    error = error_of(A, weights, w0)
    if status == "optimal" and error > dual + MIP_RTOL * upper:
        status, info["failed"] = "failed", "SCIP's support refits above its dual bound"
    return BoundResult(error, weights, float(min(dual, error)), status, time.perf_counter() - start,
                       info={"scip_status": scip_status, "gap": model.getGap(), "nodes": model.getNNodes(),
                             **info})


def _why_no_big_m(A: np.ndarray, columns: np.ndarray) -> str | None:
    """None when A (p x n) has full column rank with cond(A) <= BIG_M_MAX_COND, else the reason in
    words, naming ``columns`` (A's columns in the caller's numbering) that are parallel."""
    p, n = A.shape
    singular = np.linalg.svd(A, compute_uv=False)
    if n == 0 or (p >= n and singular[-1] * BIG_M_MAX_COND >= singular[0]):
        return None
    rank = int(np.sum(singular > RANK_RTOL * singular[0]))
    unit = A / np.linalg.norm(A, axis=0)
    parallel = [f"{columns[i]} and {columns[j]}"
                for i, j in np.argwhere(np.triu(np.abs(unit.T @ unit) > 1 - 1e-9, k=1))]
    cond = singular[0] / singular[-1] if p >= n and singular[-1] > 0 else np.inf
    return (f"the big-M MIQP needs X of full column rank with cond(X) <= {BIG_M_MAX_COND:g}; these "
            f"{n} nonzero columns have rank {rank} ({p} rows), cond {cond:.3g}"
            + (f", parallel columns: {', '.join(parallel)}" if parallel else "")
            + ". Use solve_prune_exact (any X), or drop duplicated or collinear columns")


def _miqp(R: np.ndarray, w0: np.ndarray, keep: int, bounds: np.ndarray, start_w: np.ndarray,
          start_support: np.ndarray, time_limit: float):
    """(SCIP model, binaries m) of min ||R (w - w0)||^2 over w with at most ``keep`` nonzeros,
    |w_i| <= bounds_i m_i; SCIP starts from start_w on start_support."""
    from pyscipopt import Model, quicksum

    n = w0.size
    model = Model("prune_miqp")
    model.hideOutput()
    model.setParam("timing/clocktype", 1)  # CPU seconds, as pvq's own searches count (pvq.bounds.clock)
    model.setParam("limits/time", float(time_limit))
    model.setParam("randomization/randomseedshift", 0)
    w = [model.addVar(lb=-b, ub=b, name=f"w{i}") for i, b in enumerate(bounds)]
    m = [model.addVar(vtype="B", name=f"m{i}") for i in range(n)]
    for wi, mi, b in zip(w, m, bounds):
        model.addCons(wi <= b * mi)
        model.addCons(-wi <= b * mi)
    model.addCons(quicksum(m) == keep)
    Rw0 = R @ w0
    r = [model.addVar(lb=None, name=f"r{j}") for j in range(R.shape[0])]
    for j in range(R.shape[0]):
        model.addCons(r[j] == quicksum(float(R[j, i]) * w[i] for i in range(n) if R[j, i] != 0)
                      - float(Rw0[j]))
    t = model.addVar(lb=0.0, name="t")
    model.addCons(quicksum(rj * rj for rj in r) <= t)
    model.setObjective(t, "minimize")
    residual = R @ (start_w - w0)
    solution = model.createSol()
    for var, value in [*zip(w, start_w), *zip(m, start_support), *zip(r, residual),
                       (t, float(residual @ residual))]:
        model.setSolVal(solution, var, float(value))
    model.addSol(solution)
    return model, m
