"""Best-subset pruning of one output channel: min ||X (w - w0)||^2 s.t. ||w||_0 <= keep (paper eq. 7-8).

For a support S the best weights are the least-squares refit w_S = G_SS^-1 G_S: w0 (G = X^T X) and
the error is E(S) = T - g_S^T G_SS^-1 g_S with g = G w0, T = w0^T G w0. E only grows as columns are
dropped, which is what the branch and bound's node bound rests on.
"""

from __future__ import annotations

import numbers
import time

import numpy as np

from pvq.bounds.problem import BoundResult, check_inputs, error_of, live_columns

# Nodes whose bound is within this relative distance of the incumbent are not explored: the
# certified optimum is exact up to this relative slack (far below what an SNR in dB can show).
PRUNE_RTOL = 1e-9


def _refit(G: np.ndarray, w0: np.ndarray, support: np.ndarray) -> np.ndarray:
    """Least-squares weights on ``support`` (indices; live columns), zero elsewhere."""
    w = np.zeros_like(w0)
    if support.size:
        w[support] = np.linalg.solve(G[np.ix_(support, support)], G[support] @ w0)
    return w


def _check_keep(keep: int, n: int) -> int:
    """``keep`` as an int in [0, n]; a float or text (4.5, 4.0, "4") is refused, never truncated."""
    if isinstance(keep, bool) or not isinstance(keep, numbers.Integral):
        raise TypeError(f"keep must be an integer number of weights, got {keep!r} ({type(keep).__name__})")
    keep = int(keep)
    if not 0 <= keep <= n:
        raise ValueError(f"keep must lie in [0, {n}], got {keep}")
    return keep


def prune_heuristic(X, w0, keep: int, refit: bool = True) -> BoundResult:
    """Magnitude pruning: keep the ``keep`` largest |w0| (ties by index); with ``refit`` the kept
    weights are re-fitted by least squares on X (the paper's heuristic), else kept as they are."""
    start = time.perf_counter()
    G, w0 = check_inputs(X, w0)
    keep = _check_keep(keep, w0.size)
    order = np.argsort(-np.abs(w0), kind="stable")
    support = np.sort(order[:keep])
    if refit:
        live = support[live_columns(G)[support]]
        weights = _refit(G, w0, live)
    else:
        weights = np.where(np.isin(np.arange(w0.size), support), w0, 0.0)
    return BoundResult(error_of(G, weights, w0), weights, 0.0, "heuristic",
                       time.perf_counter() - start, info={"support": support})


class _Subsets:
    """Least-squares errors of column subsets of one (G, w0), on the live columns only."""

    def __init__(self, G: np.ndarray, w0: np.ndarray):
        self.G, self.g = G, G @ w0
        self.total = float(w0 @ self.g)

    def fit(self, cols: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """(E(cols), refit coefficients beta, diag of G_cols^-1)."""
        if cols.size == 0:
            return self.total, np.zeros(0), np.zeros(0)
        inv = np.linalg.inv(self.G[np.ix_(cols, cols)])
        beta = inv @ self.g[cols]
        return self.total - float(self.g[cols] @ beta), beta, np.diag(inv)

    def error(self, cols: np.ndarray) -> float:
        return self.fit(cols)[0]

    def backward_greedy(self, cols: np.ndarray, keep: int) -> np.ndarray:
        """Drop, one at a time, the column whose removal raises the error least."""
        cols = cols.copy()
        while cols.size > keep:
            _, beta, hdiag = self.fit(cols)
            cols = np.delete(cols, int(np.argmin(beta**2 / hdiag)))
        return cols


def solve_prune_exact(X, w0, keep: int, time_limit: float = 60.0) -> BoundResult:
    """Certified best subset of size ``keep`` by depth-first branch and bound.

    A node fixes some columns in (forced) and some out (excluded); A = all non-excluded columns and
    d = |A| - keep columns must still go. Any completion drops a set D of d free columns, and
    E(A \\ D) >= E(A \\ {i}) = E(A) + beta_i^2 / (G_AA^-1)_ii for each i in D, so
    E(A) + (d-th smallest single-drop increase over the free columns) bounds the whole subtree.
    The incumbent starts from magnitude + refit and backward greedy; every node also tries dropping
    its d cheapest free columns. Status 'optimal' when the tree is exhausted, else 'time_limit' with
    the smallest open bound as lower_bound.
    """
    start = time.perf_counter()
    G, w0 = check_inputs(X, w0)
    keep = _check_keep(keep, w0.size)
    live = np.flatnonzero(live_columns(G))
    keep_live = min(keep, live.size)
    sub = _Subsets(G[np.ix_(live, live)], w0[live])
    n = live.size

    magnitude = prune_heuristic(X, w0, keep)
    start_cols = np.flatnonzero(np.isin(live, magnitude.info["support"]))[:keep_live]
    greedy = sub.backward_greedy(np.arange(n), keep_live)
    candidates = [start_cols, greedy] if start_cols.size == keep_live else [greedy]
    best_cols = min(candidates, key=sub.error)
    best = sub.error(best_cols)

    nodes, pruned_bound = 0, np.inf
    stack = [(np.zeros(n, bool), np.zeros(n, bool), -np.inf)]  # (forced, excluded, parent bound)
    status = "optimal"
    while stack:
        if time.perf_counter() - start > time_limit:
            status = "time_limit"
            break
        forced, excluded, _ = stack.pop()
        nodes += 1
        cols = np.flatnonzero(~excluded)
        drop = cols.size - keep_live
        err, beta, hdiag = sub.fit(cols)
        if drop <= 0:
            if err < best:
                best, best_cols = err, cols
            continue
        free = np.flatnonzero(~forced[cols])  # positions within cols
        increase = beta[free] ** 2 / hdiag[free]
        order = np.argsort(increase, kind="stable")
        bound = err + increase[order[drop - 1]]
        if bound >= best * (1 - PRUNE_RTOL):
            pruned_bound = min(pruned_bound, bound)
            continue
        completion = np.delete(cols, free[order[:drop]])
        completion_err = sub.error(completion)
        if completion_err < best:
            best, best_cols = completion_err, completion
        if drop == free.size:
            continue
        j = cols[free[order[-1]]]  # the free column that is costliest to drop: decide it first
        keep_j, drop_j = forced.copy(), excluded.copy()
        keep_j[j], drop_j[j] = True, True
        stack.append((forced, drop_j, bound))
        stack.append((keep_j, excluded, bound))

    open_bound = min((b for _, _, b in stack), default=np.inf)
    lower = min(best, pruned_bound, max(open_bound, 0.0))
    weights = np.zeros_like(w0)
    support = live[np.sort(best_cols)]
    weights[support] = np.linalg.solve(G[np.ix_(support, support)], G[support] @ w0) if support.size else 0
    error = error_of(G, weights, w0)
    return BoundResult(error, weights, float(min(max(lower, 0.0), error)), status,
                       time.perf_counter() - start, info={"nodes": nodes, "support": support})


def big_m(G: np.ndarray, w0: np.ndarray, upper: float) -> np.ndarray:
    """|w_i| <= |w0_i| + sqrt(upper * (G^-1)_ii) for every w with (w - w0)^T G (w - w0) <= upper
    (Cauchy-Schwarz in the G-norm), so these bounds cut off no solution better than ``upper``."""
    return np.abs(w0) + np.sqrt(max(upper, 0.0) * np.diag(np.linalg.inv(G)))


def solve_prune_mip(X, w0, keep: int, time_limit: float = 120.0) -> BoundResult:
    """The MIQP of paper eq. 8 solved by SCIP (PySCIPOpt): binaries m_i, |w_i| <= M_i m_i with the
    valid big-M of :func:`big_m`, sum m = keep, objective ||R (w - w0)||^2 with R^T R = G.
    The upper bound behind M is the better of magnitude + refit and backward greedy (heuristics, not
    the branch and bound this cross-checks), and SCIP starts from the greedy support; the objective
    is scaled by that bound for SCIP's tolerances. lower_bound is SCIP's dual bound (trusting its tolerances);
    status is SCIP's, mapped to ours."""
    from pyscipopt import Model, quicksum

    start = time.perf_counter()
    G, w0 = check_inputs(X, w0)
    keep = _check_keep(keep, w0.size)
    live = np.flatnonzero(live_columns(G))
    keep_live = min(keep, live.size)
    Gl, wl = G[np.ix_(live, live)], w0[live]
    greedy_cols = _Subsets(Gl, wl).backward_greedy(np.arange(live.size), keep_live)
    greedy = _refit(G, w0, live[greedy_cols])
    heuristic = min(prune_heuristic(X, w0, keep).weights, greedy, key=lambda v: error_of(G, v, w0))
    upper = error_of(G, heuristic, w0)
    scale = upper if upper > 0 else 1.0
    R = np.linalg.cholesky(Gl / scale).T
    bounds = big_m(Gl, wl, upper)

    model = Model("prune_miqp")
    model.hideOutput()
    model.setParam("limits/time", float(time_limit))
    model.setParam("randomization/randomseedshift", 0)
    w = [model.addVar(lb=-b, ub=b, name=f"w{i}") for i, b in enumerate(bounds)]
    m = [model.addVar(vtype="B", name=f"m{i}") for i in range(live.size)]
    for wi, mi, b in zip(w, m, bounds):
        model.addCons(wi <= b * mi)
        model.addCons(-wi <= b * mi)
    model.addCons(quicksum(m) == keep_live)
    Rw0 = R @ wl
    r = [model.addVar(lb=None, name=f"r{j}") for j in range(live.size)]
    for j in range(live.size):
        model.addCons(r[j] == quicksum(float(R[j, i]) * w[i] for i in range(j, live.size)) - float(Rw0[j]))
    t = model.addVar(lb=0.0, name="t")
    model.addCons(quicksum(rj * rj for rj in r) <= t)
    model.setObjective(t, "minimize")
    start_sol = model.createSol()
    residual = R @ (greedy[live] - wl)
    for var, value in [*zip(w, greedy[live]), *zip(m, np.isin(np.arange(live.size), greedy_cols)),
                       *zip(r, residual), (t, float(residual @ residual))]:
        model.setSolVal(start_sol, var, float(value))
    model.addSol(start_sol)
    model.optimize()

    scip_status = model.getStatus()
    status = {"optimal": "optimal", "timelimit": "time_limit"}.get(scip_status, "failed")
    weights = heuristic
    if model.getNSols() > 0:
        sol = model.getBestSol()
        chosen = np.array([model.getSolVal(sol, mi) > 0.5 for mi in m])
        support = live[chosen]
        refit = np.zeros_like(w0)
        if support.size:
            refit[support] = np.linalg.solve(G[np.ix_(support, support)], G[support] @ w0)
        if error_of(G, refit, w0) <= upper:
            weights = refit
    elif status == "optimal":
        status = "failed"
    dual = model.getDualbound() * scale if status != "failed" else 0.0
    return BoundResult(error_of(G, weights, w0), weights, float(max(dual, 0.0)), status,
                       time.perf_counter() - start,
                       info={"scip_status": scip_status, "gap": model.getGap(),
                             "nodes": model.getNNodes()})
