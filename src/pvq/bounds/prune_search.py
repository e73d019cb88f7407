"""Best subset by a best-first branch and bound on SDP bounds (:mod:`pvq.bounds.subset_sdp`).

Each node fixes columns out (excluded) or in (forced); its bound is the certified dual bound of the
SDP relaxation, warm-started from its parent. Before branching, a node also fixes every free column
whose other branch the current multipliers already certify above the incumbent (the bound of a
child follows from the node's multipliers by rank-one formulas; excluding a column or forcing one
never lowers the smallest eigenvalue of Q, so the node's one eigenvalue certifies them all), and is
solved again. It then branches on the free column the relaxation most wants to keep (largest z
below 1). Every incumbent is an exact least-squares refit of a support (the relaxation's z rounded
to the r largest, or a leaf), so ``best`` is always an attained error.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field

import numpy as np

from pvq.bounds.clock import Deadline
from pvq.bounds.subset_sdp import NodeBound, NodeState, certify

# Nodes whose bound is within this relative distance of the incumbent are not explored: the
# certified optimum is exact up to this relative slack (far below what an SNR in dB can show).
PRUNE_RTOL = 1e-9

# Nodes with at most DEEP_FREE free columns first try the single-column search of their subtree,
# for at most DEEP_NODES nodes
DEEP_FREE = 24
DEEP_NODES = 1000

# A child starts from its parent's iterate with tau raised by this factor (back towards the centre).
TAU_RESTART = 25.0


@dataclass(order=True)
class _Open:
    bound: float                                   # certified lower bound inherited from the parent
    count: int
    excluded: np.ndarray = field(compare=False)
    forced: np.ndarray = field(compare=False)
    state: NodeState = field(compare=False)


@dataclass
class SearchResult:
    support: np.ndarray
    error: float
    lower: float
    status: str
    nodes: int


def sdp_search(sub, keep: int, support: np.ndarray, error: float, deadline: Deadline,
               rtol: float = PRUNE_RTOL) -> SearchResult:
    """Certified best subset of size ``keep`` of ``sub`` (a :class:`pvq.bounds.prune._Subsets` whose
    factor A has full column rank) from the incumbent ``support`` with ``error``, until
    ``deadline``. Nodes whose bound is within ``rtol`` (relative) or
    ``sub.atol`` of the incumbent are not explored."""
    n = sub.A.shape[1]
    bounds = NodeBound(sub.A, sub.y)
    best_cols, best = np.sort(support), float(error)
    counter = itertools.count()
    heap = [_Open(-np.inf, next(counter), np.zeros(n, bool), np.zeros(n, bool), bounds.start(np.ones(n, bool)))]
    pruned, nodes, status = np.inf, 0, "optimal"

    def target() -> float:
        return best * (1 - rtol) - sub.atol

    def offer(cols: np.ndarray, improve: bool = False) -> None:
        """A support to compare with the incumbent; with ``improve``, its swap search's result when
        it beats the incumbent."""
        nonlocal best, best_cols
        value = sub.error(cols)
        if value < best:
            if improve:
                cols = sub.swap_search(cols)
                value = sub.error(cols)
            best, best_cols = value, np.sort(cols)

    while heap:
        if deadline.passed():
            status = "time_limit"
            break
        node = heapq.heappop(heap)
        if node.bound >= target():
            pruned = min(pruned, node.bound)
            continue
        excluded, forced, state, inherited = node.excluded, node.forced, node.state, node.bound
        if (~excluded & ~forced).sum() <= DEEP_FREE:  # small enough for cheap nodes: try them first
            deep = single_column_search(sub, keep, best_cols, deadline, DEEP_NODES, forced, excluded)
            nodes += deep.nodes
            if deep.error < best:
                best, best_cols = deep.error, deep.support
            if deep.status == "optimal":
                continue
        while True:  # solve, fix what the multipliers decide, solve again
            cols = np.flatnonzero(~excluded)
            free = ~forced[cols]
            r = keep - int(forced.sum())
            if r < 0:  # fixings forced more than keep columns in: nothing better than target here
                pruned = min(pruned, target())
                result = None
                break
            if r == 0 or free.sum() <= r:  # a leaf: its support is decided
                offer(np.flatnonzero(forced) if r == 0 else cols)
                result = None
                break
            result = bounds.solve(cols, free, r, state, target())
            nodes += 1
            inherited = max(inherited, result.certified)
            if inherited >= target():
                pruned = min(pruned, inherited)
                result = None
                break
            F = np.flatnonzero(free)
            offer(np.concatenate([cols[~free], cols[F[np.argsort(-result.z[F], kind="stable")[:r]]]]), improve=True)
            fix_in, fix_out = _fixings(bounds, cols, free, r, result, target())
            if fix_in is None:  # both branches of some column are certified: nothing better here
                pruned = min(pruned, target())
                result = None
                break
            if not (fix_in.size or fix_out.size):
                break
            pruned = min(pruned, target())  # what the fixings cut off is certified at or above target
            forced, excluded = forced.copy(), excluded.copy()
            forced[cols[fix_in]] = True
            excluded[cols[fix_out]] = True
            state = result.state.forcing(fix_in).excluding(fix_out, TAU_RESTART)
        if result is None:
            continue
        F = np.flatnonzero(free)
        p = F[_branch(result, F)]
        j = cols[p]
        out, into = excluded.copy(), forced.copy()
        out[j], into[j] = True, True
        heapq.heappush(heap, _Open(inherited, next(counter), out, forced, result.state.excluding([p], TAU_RESTART)))
        heapq.heappush(heap, _Open(inherited, next(counter), excluded, into, result.state.forcing([p], TAU_RESTART)))

    open_bound = min((node.bound for node in heap), default=np.inf)
    lower = best if status == "optimal" else min(best, pruned, max(open_bound, 0.0))
    return SearchResult(best_cols, best, float(min(max(lower, 0.0), best)), status, nodes)


def _branch(result, F) -> int:
    """The free column (position in F) the relaxation most wants to keep among those it has not
    decided (largest z below 1)."""
    z = result.z[F]
    return int(np.argmax(np.where(z < 1 - 1e-6, z, -1.0)))


def single_column_search(sub, keep: int, best_cols: np.ndarray, deadline: Deadline, max_nodes: int | None,
                         forced: np.ndarray | None = None, excluded: np.ndarray | None = None) -> SearchResult:
    """Depth-first branch and bound on a cheap bound, from the incumbent ``best_cols``.

    A node fixes some columns in (forced) and some out (excluded); A = all non-excluded columns and
    d = |A| - keep columns must still go. Any completion drops a set D of d free columns, and
    E(A \\ D) >= E(A \\ {i}) >= E(A) + increase_i for each i in D (:class:`_Fit`: exact where column
    i is outside the span of the others, 0 where it is inside, as it always is when |A| exceeds the
    rank), so E(A) + (d-th smallest increase over the free columns) bounds the whole subtree.
    Every node also tries dropping its d cheapest free columns. The child that keeps the branching
    column has its parent's columns, fit and completion (the column kept was the costliest to drop, so
    the d cheapest are unchanged): it reuses them instead of refitting. Status 'optimal' when the tree is
    exhausted, 'node_limit' after ``max_nodes`` nodes, 'time_limit' at the deadline. ``forced`` and
    ``excluded`` (masks) restrict the search to one node's subtree.
    """
    n = sub.A.shape[1]
    best = sub.error(best_cols)
    nodes, pruned_bound = 0, np.inf
    start = (np.zeros(n, bool) if forced is None else forced, np.zeros(n, bool) if excluded is None else excluded)
    stack = [(*start, -np.inf, None)]  # (forced, excluded, parent bound, parent's fit if same columns)
    status = "optimal"
    while stack:
        if deadline.passed():
            status = "time_limit"
            break
        if max_nodes is not None and nodes >= max_nodes:
            status = "node_limit"
            break
        forced, excluded, _, same = stack.pop()
        nodes += 1
        cols = np.flatnonzero(~excluded)
        drop = cols.size - keep
        fit = same if same is not None else sub.fit(cols)
        if drop <= 0:
            if fit.error < best:
                best, best_cols = fit.error, cols
            continue
        free = np.flatnonzero(~forced[cols])  # positions within cols
        increase = fit.increase[free]
        order = np.argsort(increase, kind="stable")
        bound = fit.error + increase[order[drop - 1]]
        if bound >= best * (1 - PRUNE_RTOL) - sub.atol:
            pruned_bound = min(pruned_bound, bound)
            continue
        if same is None:  # else the parent tried this very completion
            completion = np.delete(cols, free[order[:drop]])
            completion_err = sub.error(completion)
            if completion_err < best:
                best, best_cols = completion_err, completion
        if drop == free.size:
            continue
        j = cols[free[order[-1]]]  # the free column that is costliest to drop: decide it first
        keep_j, drop_j = forced.copy(), excluded.copy()
        keep_j[j], drop_j[j] = True, True
        stack.append((forced, drop_j, bound, None))
        stack.append((keep_j, excluded, bound, fit))

    open_bound = min((b for _, _, b, _ in stack), default=np.inf)
    lower = min(best, pruned_bound, max(open_bound, 0.0))
    return SearchResult(np.sort(best_cols), best, lower, status, nodes)


def _fixings(bounds: NodeBound, cols, free, r, result, target):
    """(positions to force, positions to exclude) among the free columns whose other branch is
    certified at or above target with the node's last multipliers; (None, None) if some column
    has both branches certified."""
    F = np.flatnonzero(free)
    excluding, forcing = result.children
    force_candidates, exclude_candidates = F[excluding >= target], F[forcing >= target]
    if not (force_candidates.size or exclude_candidates.size):
        return np.zeros(0, int), np.zeros(0, int)
    eig = bounds.eig_at(cols, result.state)
    A, y, G = bounds.A, bounds.y, bounds.G_raw
    lam, q = result.state.lam * bounds.scale, result.state.q * bounds.scale
    fix_in, fix_out = [], []
    for p in force_candidates:  # excluding p is certified above target: p stays
        keep = np.arange(cols.size) != p
        sub_cols = cols[keep]
        if certify(A[:, sub_cols], y, G[np.ix_(sub_cols, sub_cols)], free[keep], r, lam[keep], q[keep],
                   eig) >= target:
            fix_in.append(p)
    node_A, node_G = A[:, cols], G[np.ix_(cols, cols)]
    for p in exclude_candidates:  # forcing p is certified above target: p goes
        child_free = free.copy()
        child_free[p] = False
        child_lam, child_q = lam.copy(), q.copy()
        child_lam[p] = child_q[p] = 0.0
        if certify(node_A, y, node_G, child_free, r - 1, child_lam, child_q, eig) >= target:
            fix_out.append(p)
    if set(fix_in) & set(fix_out):
        return None, None
    return np.array(fix_in, int), np.array(fix_out, int)
