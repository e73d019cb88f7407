"""N:M pruning of one output channel: min ||X (w - w0)||^2 over w that keeps n of every group of m.

The groups are sets of features (by default m consecutive ones, the last possibly shorter; the
per-layer stage passes the real tensor's groups, :mod:`pvq.methods.layout`): a group of size s keeps
exactly min(n, s) features. For a support S the best weights are the least-squares fit on S (error
E(S), as in :mod:`pvq.bounds.prune`); E only grows as columns are dropped, so keeping at most n of
a group is never better than keeping exactly n. Returned weights are the minimum-norm fit on the
kept columns (unique even where they are linearly dependent).

The certified optimum (:func:`solve_prune_nm_exact`) branches on whole groups. At a node some groups
are fixed; A = every column not dropped so far, and each free group g must still drop d_g of its
columns. Any completion drops a set D_g from every free group, so its error is at least
max_g min_{D_g} E(A \\ D_g): the node bound enumerates each group's choices exactly (C(4, 2) = 6 for
2:4), from one factorisation of A: E(A \\ D) - E(A) = beta_D^T [(A^T A)^-1]_DD^-1 beta_D for
columns of full rank (a direct fit of A \\ D otherwise).
"""

from __future__ import annotations

import itertools
import math
import numbers
import time

import numpy as np
import scipy.linalg
from scipy.linalg import lapack

from pvq.bounds.clock import Deadline
from pvq.bounds.obs import greedy_obs
from pvq.bounds.problem import RANK_RTOL, BoundResult, check_inputs, error_of, live_columns
from pvq.bounds.prune import _Subsets
from pvq.bounds.prune_search import PRUNE_RTOL
from pvq.bounds.wanda import wanda_scores

# A group's ways to choose its kept features are enumerated at every node: C(m, n) must stay small.
MAX_CHOICES = 5000


def _check_pattern(n, m) -> tuple[int, int]:
    for name, value in (("n", n), ("m", m)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if not 0 <= n <= m or m < 1:
        raise ValueError(f"need 0 <= n <= m and m >= 1 (keep n of every m), got {n}:{m}")
    return int(n), int(m)


def nm_groups(features: int, m: int) -> np.ndarray:
    """Group label of each of ``features`` consecutive features: groups of m, the last one shorter."""
    return np.arange(features) // m


def _labels(groups, features: int, m: int) -> np.ndarray:
    """``groups`` as labels 0..G-1 (in order of first appearance), checked: one per feature, each
    group at most m features."""
    if groups is None:
        return nm_groups(features, m)
    groups = np.asarray(groups).ravel()
    if groups.shape != (features,) or not np.issubdtype(groups.dtype, np.integer):
        raise ValueError(f"groups must hold one integer label per feature ({features}), got "
                         f"{groups.dtype} of shape {groups.shape}")
    _, first, labels = np.unique(groups, return_index=True, return_inverse=True)
    labels = np.argsort(np.argsort(first))[labels]  # relabel in order of first appearance
    sizes = np.bincount(labels)
    if sizes.max(initial=0) > m:
        raise ValueError(f"a group of {int(sizes.max())} features is larger than m = {m}: the groups "
                         f"must be the m-feature groups of the N:M pattern")
    return labels


def _magnitude_support(w0: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:
    """Sorted indices kept by N:M magnitude: the n largest |w0| of each group, the earlier on ties."""
    return _top_per_group(np.abs(w0), labels, n)


def _top_per_group(scores: np.ndarray, labels: np.ndarray, n: int) -> np.ndarray:
    """Sorted indices of the n largest scores of each group, the earlier on ties."""
    order = np.lexsort((np.arange(scores.size), -scores, labels))  # by group, then score down, then index
    rank = np.arange(order.size) - np.searchsorted(labels[order], labels[order])
    return np.sort(order[rank < n])


def _min_norm_weights(A: np.ndarray, w0: np.ndarray, support: np.ndarray) -> np.ndarray:
    """Length-n weights: the minimum-norm least-squares fit of A w0 on the columns ``support``
    (singular values below RANK_RTOL of the largest count as zero), zero elsewhere."""
    weights = np.zeros_like(w0)
    if support.size:
        columns = A[:, support]
        if np.any(columns):
            weights[support] = scipy.linalg.lstsq(columns, A @ w0, cond=RANK_RTOL, check_finite=False)[0]
    return weights


def _kept_weights(A: np.ndarray, w0: np.ndarray, support: np.ndarray, refit: bool) -> np.ndarray:
    """w0 on ``support`` (zero elsewhere), or with ``refit`` the minimum-norm least-squares fit there."""
    if refit:
        return _min_norm_weights(A, w0, support)
    weights = np.zeros_like(w0)
    weights[support] = w0[support]
    return weights


def prune_nm_heuristic(X, w0, n: int, m: int, groups=None, refit: bool = True) -> BoundResult:
    """N:M magnitude pruning (the n largest |w0| of every group, earlier on ties, as pvq.methods'
    NM pattern); with ``refit`` the kept weights are the minimum-norm least-squares fit on X."""
    start = time.perf_counter()
    A, w0 = check_inputs(X, w0)
    n, m = _check_pattern(n, m)
    support = _magnitude_support(w0, _labels(groups, w0.size, m), n)
    weights = _kept_weights(A, w0, support, refit)
    return BoundResult(error_of(A, weights, w0), weights, 0.0, "heuristic", time.perf_counter() - start,
                       info={"support": support})


def wanda_prune_nm(X, w0, n: int, m: int, groups=None, refit: bool = False) -> BoundResult:
    """Wanda with an N:M pattern (as its paper does for 2:4): the n largest |w_i| ||X_i|| of every
    group, earlier on ties; kept weights w0, or with ``refit`` the minimum-norm least-squares fit."""
    start = time.perf_counter()
    A, w0 = check_inputs(X, w0)
    n, m = _check_pattern(n, m)
    scores = wanda_scores(A, w0)
    support = _top_per_group(scores, _labels(groups, w0.size, m), n)
    weights = _kept_weights(A, w0, support, refit)
    return BoundResult(error_of(A, weights, w0), weights, 0.0, "heuristic", time.perf_counter() - start,
                       info={"support": support, "scores": scores})


def obs_prune_nm(X, w0, n: int, m: int, groups=None, damp: float = 0.01) -> BoundResult:
    """Greedy OBS (pvq.bounds.obs_prune) with an N:M pattern: at each step the candidates are the
    weights of the groups that still hold more than n live ones. Dead columns (all zero in X) count
    as removed first, at no cost, so a group may end with fewer than n nonzero weights."""
    start = time.perf_counter()
    A, w0 = check_inputs(X, w0)
    n, m = _check_pattern(n, m)
    labels = _labels(groups, w0.size, m)[live_columns(A)]

    def removable(active):
        crowded = np.bincount(labels[active], minlength=labels.max(initial=-1) + 1) > n
        return active & crowded[labels]

    return greedy_obs(A, w0, damp, removable, start)


class _GroupDrops:
    """Each free group's possible drops at a node and their exact error increases."""

    def __init__(self, sub: _Subsets, labels: np.ndarray, keep: np.ndarray):
        self.sub, self.labels = sub, labels
        members = [np.flatnonzero(labels == g) for g in range(keep.size)]
        # per group: every set of columns it may drop, as a (choices, d) array of column indices
        for cols, k in zip(members, keep):
            if math.comb(cols.size, k) > MAX_CHOICES:
                raise ValueError(f"a group of {cols.size} features keeping {k} has {math.comb(cols.size, k)} "
                                 f"choices (more than {MAX_CHOICES}): the exact N:M search is for small m (2:4, 4:8)")
        self.choices = [np.array(list(itertools.combinations(cols, cols.size - k)), dtype=int).reshape(
                            math.comb(cols.size, k), cols.size - k) for cols, k in zip(members, keep)]

    def increases(self, cols: np.ndarray, free: list[int]) -> tuple[float, list[np.ndarray]]:
        """(E(cols), per free group the increase E(cols \\ D) - E(cols) of each of its choices D)."""
        fit = self.sub.fit(cols)
        position = np.full(self.labels.size, -1)
        position[cols] = np.arange(cols.size)
        R = np.linalg.qr(self.sub.A[:, cols], mode="r") if cols.size else np.zeros((0, 0))
        full_rank = R.shape[0] >= cols.size and (cols.size == 0 or np.abs(R.diagonal()).min() > self.sub.tol)
        if not full_rank:  # exact fits of every choice (only on rank-deficient inputs)
            out = []
            for g in free:
                out.append(np.array([max(self.sub.error(np.setdiff1d(cols, drop, assume_unique=True)) - fit.error, 0.0)
                                     for drop in self.choices[g]]))
            return fit.error, out
        Rinv = lapack.dtrtri(R)[0]
        out = []
        for g in free:
            idx = position[self.choices[g]]  # (choices, d)
            rows = Rinv[idx]  # (choices, d, k): H_DD = rows rows^T, H = (A^T A)^-1
            H = rows @ rows.transpose(0, 2, 1)
            beta = fit.coef[idx]
            try:
                gain = np.einsum("cd,cd->c", beta, np.linalg.solve(H, beta[..., None])[..., 0])
            except np.linalg.LinAlgError:  # nearly collinear columns: some H_DD is singular in floating point
                gain = np.full(len(idx), np.nan)
            if not np.all(np.isfinite(gain)):  # then the exact fits of this group's choices
                gain = np.array([self.sub.error(np.setdiff1d(cols, drop, assume_unique=True)) - fit.error
                                 for drop in self.choices[g]])
            out.append(np.maximum(gain, 0.0))
        return fit.error, out


def solve_prune_nm_exact(X, w0, n: int, m: int, groups=None, time_limit: float = 60.0) -> BoundResult:
    """Certified best N:M support (keep min(n, size) of every group) by depth-first branch and bound.

    ``groups``: one integer label per feature (default: m consecutive features per group). Each node
    bounds its subtree by E(A) + max over free groups of that group's cheapest drop (module
    docstring), branches on the group that sets the bound (one child per choice, cheapest first), and
    tries the completion that takes every group's cheapest drop. The incumbent starts from N:M
    magnitude + refit. Zero columns are kept only to fill a group's count (they never change the
    error). Status 'optimal' when the tree is exhausted (up to PRUNE_RTOL and RANK_RTOL), else
    'time_limit' (after ``time_limit`` CPU seconds, :mod:`pvq.bounds.clock`) with the smallest open
    bound as lower_bound.
    """
    start, deadline = time.perf_counter(), Deadline.after(time_limit)
    A, w0 = check_inputs(X, w0)
    n, m = _check_pattern(n, m)
    labels = _labels(groups, w0.size, m)
    count = int(labels.max()) + 1 if labels.size else 0
    keep = np.minimum(n, np.bincount(labels, minlength=count))

    live = np.flatnonzero(live_columns(A))
    live_labels = labels[live]
    keep_live = np.minimum(keep, np.bincount(live_labels, minlength=count))
    sub = _Subsets(A[:, live], w0[live])
    drops = _GroupDrops(sub, live_labels, keep_live)

    best_cols = _magnitude_support(w0[live], live_labels, n)  # N:M magnitude among the live columns
    best = sub.error(best_cols)

    root_free = [g for g in range(count) if drops.choices[g].shape[1] > 0]
    stack = [(np.zeros(live.size, bool), root_free, -np.inf)]  # (excluded, free groups, parent bound)
    nodes, pruned_bound, status = 0, np.inf, "optimal"
    while stack:
        if deadline.passed():
            status = "time_limit"
            break
        excluded, free, parent = stack.pop()
        if parent >= best * (1 - PRUNE_RTOL) - sub.atol:
            pruned_bound = min(pruned_bound, parent)
            continue
        nodes += 1
        cols = np.flatnonzero(~excluded)
        error, gains = drops.increases(cols, free)
        if not free:
            if error < best:
                best, best_cols = error, cols
            continue
        cheapest = np.array([g.min() for g in gains])
        bound = max(error + cheapest.max(), parent)
        if bound >= best * (1 - PRUNE_RTOL) - sub.atol:
            pruned_bound = min(pruned_bound, bound)
            continue
        completion = excluded.copy()
        for g, gain in zip(free, gains):
            completion[drops.choices[g][np.argmin(gain)]] = True
        completion = np.flatnonzero(~completion)
        completion_error = sub.error(completion)
        if completion_error < best:
            best, best_cols = completion_error, completion
        pick = int(np.argmax(cheapest))
        g, rest = free[pick], free[:pick] + free[pick + 1:]
        others = error + (np.delete(cheapest, pick).max() if rest else 0.0)
        for choice in np.argsort(gains[pick], kind="stable")[::-1]:  # cheapest popped first
            child = excluded.copy()
            child[drops.choices[g][choice]] = True
            stack.append((child, rest, max(others, error + gains[pick][choice], parent)))

    open_bound = min((b for _, _, b in stack), default=np.inf)
    lower = min(best, pruned_bound, max(open_bound, 0.0))
    support = live[np.sort(best_cols)]
    dead = np.setdiff1d(np.arange(w0.size), live)
    fill = [dead[labels[dead] == g][: keep[g] - keep_live[g]] for g in range(count)]
    support = np.sort(np.concatenate([support, *fill])).astype(int)
    weights = _min_norm_weights(A, w0, support)
    error = error_of(A, weights, w0)
    return BoundResult(error, weights, float(min(max(lower, 0.0), error)), status, time.perf_counter() - start,
                       info={"nodes": nodes, "support": support})
