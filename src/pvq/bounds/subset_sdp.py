"""Lower bounds for best-subset pruning from the SDP relaxation, at any node of a branch and bound.

A node keeps the columns A (the others are excluded, weight 0), forces some of them in and lets at most
r of the free ones F stay. With G = X^T X and g = G w0 on A and c0 = ||X w0||^2, every w of such a
support has error w^T G w - 2 g^T w + c0. For a diagonal Lambda >= 0 on F (0 elsewhere) with
Q = G - Lambda positive definite and any q on F (0 elsewhere),

    error(w) = w^T Q w - 2 (g + q)^T w + c0 + sum_i (Lambda_i w_i^2 + 2 q_i w_i)
             >= c0 - (g + q)^T Q^-1 (g + q) - (sum of the r largest q_i^2 / Lambda_i over F),

since the last sum runs over the at most r free columns w uses and Lambda_i t^2 + 2 q_i t >= -q_i^2 /
Lambda_i. This dual function D(Lambda, q) is the dual of the Shor SDP relaxation with the perspective
constraints W_ii z_i >= w_i^2, sum_F z <= r (a much stronger bound than any single-column argument:
within 3-25 % of the optimum on real Lite0 chunks at the root, and exact after a few branchings).
:class:`NodeBound` maximises it by a barrier method (Newton steps on Lambda, q and the variables s, nu
that smooth the top-r sum: D = c0 - (g+q)^T Q^-1 (g+q) - sum_F s_i + (|F| - r) nu over
s_i Lambda_i >= q_i^2, s_i >= nu >= 0), warm-started from the parent node and stopped as soon as
the bound prunes the node or cannot; :func:`certify` recomputes the bound of the multipliers in
extended precision, so the search prunes only on a rigorous bound, whatever the accuracy of the steps.
G must be positive definite (X of full column rank on the live columns); the caller falls back to
cheaper bounds otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import lapack

# tau shrinks by this factor once an iterate is near the barrier's centre
TAU_FACTOR = 0.2
# certify: Q's smallest eigenvalue (as computed) must be at least this share of G's mean diagonal
EIG_RTOL = 1e-9
# a Newton decrement below this times tau counts as centred: tau then shrinks
CENTRED = 1e-1


def _cholesky(A: np.ndarray):
    chol, info = lapack.dpotrf(A, lower=1, clean=0)
    return chol if info == 0 else None


def _top_sum(values: np.ndarray, count: int) -> float:
    """Sum of the ``count`` largest entries (0 for count <= 0)."""
    if count <= 0 or values.size == 0:
        return 0.0
    if count >= values.size:
        return float(values.sum())
    return float(np.partition(values, values.size - count)[values.size - count:].sum())


def _least_extra(c: np.ndarray, a: np.ndarray, b: np.ndarray, r: int) -> float:
    """min over z in (0, 1]^f with sum z <= r of sum_i c_i max(0, a_i / z_i - a_i - b_i) (c, a, b >= 0):
    the diagonal a primal point must add so that W_ii z_i >= w_i^2 (a_i = w_i^2, b_i = what W's
    diagonal already has beyond w_i^2). The optimum is z_i = min(e_i, t sqrt(c_i a_i)) with
    e_i = a_i / (a_i + b_i) and t where sum z = r: piecewise linear in t, found by sorting the
    breakpoints e_i / sqrt(c_i a_i)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        enough = np.where(a + b > 0, a / (a + b), 0.0)
        if enough.sum() <= r:
            return 0.0
        weight = np.sqrt(c * a)
        breaks = np.where(weight > 0, enough / weight, np.inf)
        order = np.argsort(breaks)
        capped = np.concatenate([[0.0], np.cumsum(enough[order])])        # sum of e over the first k
        slope = np.concatenate([np.cumsum(weight[order][::-1])[::-1], [0.0]])  # sum of weight after k
        # with the first k capped, sum z = capped[k] + t slope[k] for t in [breaks[k-1], breaks[k]]
        t = (r - capped) / np.where(slope > 0, slope, np.inf)
        lows = np.concatenate([[0.0], breaks[order]])
        k = int(np.argmax((t >= lows) & (t <= np.concatenate([breaks[order], [np.inf]]))))
        z = np.minimum(enough, t[k] * weight)
        extra = np.where(z > 0, c * np.maximum(a / z - a - b, 0.0), np.where(a > 0, np.inf, 0.0))
    return float(extra.sum())


def certify(A: np.ndarray, y: np.ndarray, G: np.ndarray, free: np.ndarray, r: int, lam: np.ndarray,
            q: np.ndarray, eig_min: float | None = None) -> float:
    """A rigorous lower bound D(lam, q) on ||A w - y||^2 over every w supported on the node's columns
    (A's columns) that keeps the forced ones (~free) and at most r free ones (module docstring).
    G: A^T A as computed (float64), for the eigenvalue and the solve. lam, q: length |A|, used on the
    free columns only (0 elsewhere); -inf if no valid bound comes out.

    With h(w) = ||A w - y||^2 - sum lam_i w_i^2 - 2 q^T w (a convex quadratic with Hessian 2Q,
    Q = A^T A - diag(lam)), min h >= h(x) - ||grad h(x) / 2||^2 / eig_min(Q) for any x (x = Q^-1 b
    in float64). h(x) and the gradient are evaluated from A and y themselves (not from the rounded
    G) in extended precision, with bounds on their rounding; eig_min is half the computed smallest
    eigenvalue of G - diag(lam), which must be at least EIG_RTOL of the mean diagonal of G (lam
    shrinks until it is, as :func:`pvq.bounds.quant.certify_dual` raises mu): far above the error of
    forming G, so the halving covers it. ``eig_min``: a smallest eigenvalue of Q known already (e.g.
    a parent's: excluding a column or forcing one, which adds lam_j e_j e_j^T, never lowers it)."""
    lam = np.where(free, np.clip(lam, 0, None), 0.0)
    p, a = A.shape
    floor = EIG_RTOL * float(np.trace(G)) / max(a, 1)
    for _ in range(30):
        Q = G - np.diag(lam)
        eig = float(np.linalg.eigvalsh(Q)[0]) if eig_min is None else eig_min
        if eig >= floor:
            break
        if eig_min is not None or not lam.any():
            return -np.inf
        lam = np.where(free, np.clip(lam - 2 * (floor - eig), 0, None), 0.0)
    else:
        return -np.inf
    q = np.where(free & (lam > 0), q, 0.0)
    chol = _cholesky(Q)
    if chol is None:
        return -np.inf
    x = lapack.dpotrs(chol, A.T @ y + q, lower=1)[0]
    ld = np.longdouble
    eps = np.finfo(ld).eps
    Al, yl, xl, laml, ql = (v.astype(ld) for v in (A, y, x, lam, q))
    residual = Al @ xl - yl
    half_grad = Al.T @ residual - laml * xl - ql
    h = residual @ residual - laml @ (xl * xl) - 2 * ql @ xl
    # rounding of the extended-precision sums (p + a + 4 terms each, eps each, widely over-counted)
    size = abs(Al) @ abs(xl) + abs(yl)
    grad_error = (p + a + 4) * eps * (abs(Al).T @ size + laml * abs(xl) + abs(ql))
    h_error = 4 * (p + a + 4) * eps * (size @ size + laml @ (xl * xl) + 2 * abs(ql) @ abs(xl))
    slack = (np.sqrt(half_grad @ half_grad) + np.sqrt(grad_error @ grad_error)) ** 2 / ld(0.5 * eig)
    mask = free & (lam > 0)
    ratios = np.sort(ql[mask] ** 2 / laml[mask])[::-1][:max(r, 0)]
    top = ratios.sum() * (1 + 64 * eps) if ratios.size else ld(0)
    return float(h - h_error - slack - top)


@dataclass(frozen=True)
class NodeState:
    """A barrier iterate of one node, on the node's columns (lam, q, s are 0 on forced columns):
    what the node's children start from."""

    lam: np.ndarray
    q: np.ndarray
    s: np.ndarray
    nu: float
    tau: float

    def excluding(self, positions, tau_factor: float = 1.0) -> "NodeState":
        keep = np.ones(self.lam.size, bool)
        keep[positions] = False
        return NodeState(self.lam[keep], self.q[keep], self.s[keep], self.nu, self.tau * tau_factor)

    def forcing(self, positions, tau_factor: float = 1.0) -> "NodeState":
        lam, q, s = self.lam.copy(), self.q.copy(), self.s.copy()
        lam[positions] = q[positions] = s[positions] = 0.0
        return NodeState(lam, q, s, self.nu, self.tau * tau_factor)


@dataclass(frozen=True)
class NodeResult:
    """What a node's solve found (errors unscaled)."""

    bound: float          # the best float64 value of D met (not certified)
    certified: float      # certified lower bound of the best multipliers met (-inf if none)
    relaxation: float     # the relaxation's objective at a primal point: nothing above it prunes
    z: np.ndarray         # the relaxation's z on the node's columns (1 on forced ones)
    state: NodeState      # the last iterate
    children: tuple       # (bound excluding, bound forcing) per free column, from the last iterate


class NodeBound:
    """The SDP bound at the nodes of one best-subset problem min ||A w - y||^2 (A: a square-root
    factor of X^T X with full column rank, y = A w0): G = A^T A, g = A^T y, c0 = ||y||^2; the barrier
    works in units of the mean diagonal of G, the certificate on A and y themselves."""

    def __init__(self, A: np.ndarray, y: np.ndarray):
        G, g, c0 = A.T @ A, A.T @ y, float(y @ y)
        self.A, self.y = A, y
        self.scale = float(np.trace(G) / G.shape[0]) or 1.0
        self.G, self.g, self.c0 = G / self.scale, g / self.scale, c0 / self.scale
        self.G_raw = G
        self.eig_min = float(np.linalg.eigvalsh(self.G)[0])

    def start(self, free: np.ndarray) -> NodeState:
        """A strictly feasible point (cold start): Lambda = eig_min(G) / 2 on the free columns."""
        return NodeState(lam=np.where(free, 0.5 * self.eig_min, 0.0), q=np.zeros(free.size),
                         s=np.where(free, 1.0, 0.0), nu=0.5, tau=1.0)

    def solve(self, cols: np.ndarray, free: np.ndarray, r: int, state: NodeState, target: float,
              max_steps: int = 80, gap_rtol: float = 1e-7) -> NodeResult:
        """Improve the bound of the node (columns ``cols``, ``free`` a mask on them, at most r free
        kept) from ``state`` until it reaches ``target`` (an error), shows it cannot (the relaxation
        lies below target), converges or takes ``max_steps``; certify the best multipliers met."""
        node = _Node(self.G[np.ix_(cols, cols)], self.g[cols], self.c0, free, r)
        F = node.F
        x = (state.lam[F], state.q[F], state.s[F], float(state.nu))
        tau = state.tau
        point = node.evaluate(x, tau)
        if point is None:  # the warm start is not strictly feasible here: cold start
            cold = self.start(free)
            x, tau = (cold.lam[F], cold.q[F], cold.s[F], cold.nu), cold.tau
            point = node.evaluate(x, tau)
        target_s = target / self.scale
        best = point
        steps = 0
        while True:
            if point.dual > best.dual:
                best = point
            if best.dual >= target_s or steps >= max_steps:
                break
            node.derive(point, tau, target_s)
            if point.primal < target_s or point.primal - best.dual <= gap_rtol * abs(best.dual):
                break  # the relaxation lies below target (or is solved): no bound will prune
            direction, decrement = node.newton(point)
            if direction is None:
                break
            if decrement < CENTRED * tau:
                tau *= TAU_FACTOR
                point = node.evaluate(point.x, tau)
                steps += 1
                continue
            t = node.step_length(point.x, direction)
            while t > 1e-10:
                trial = node.evaluate(tuple(xi + t * di for xi, di in zip(point.x, direction)), tau)
                if trial is not None and trial.value >= point.value + 0.25 * t * decrement:
                    break
                t *= 0.5
            else:
                break
            point = trial
            steps += 1
        if point.grad is None:
            node.derive(point, tau, target_s)
        a = cols.size
        x = point.x
        lam, q, s = np.zeros(a), np.zeros(a), np.zeros(a)
        lam[F], q[F], s[F] = x[0], x[1], x[2]
        lam_b, q_b = np.zeros(a), np.zeros(a)
        lam_b[F], q_b[F] = best.x[0], best.x[1]
        certified = certify(self.A[:, cols], self.y, self.G_raw[np.ix_(cols, cols)], free, r,
                            lam_b * self.scale, q_b * self.scale)
        z = np.ones(a)
        z[F] = point.z
        return NodeResult(bound=best.dual * self.scale, certified=certified,
                          relaxation=point.primal * self.scale, z=z, state=NodeState(lam, q, s, x[3], tau),
                          children=self._children(node, point, r))

    def eig_at(self, cols: np.ndarray, state: NodeState) -> float:
        """Smallest eigenvalue of Q = G - diag(lam) at a node's iterate (unscaled), for certifying
        its children with :func:`certify` (``eig_min``)."""
        return float(np.linalg.eigvalsh(self.G_raw[np.ix_(cols, cols)] - np.diag(state.lam * self.scale))[0])

    def _children(self, node: "_Node", point: "_Point", r: int) -> tuple[np.ndarray, np.ndarray]:
        """D of each child (exclude or force one free column) at this iterate's multipliers, by rank-one
        formulas: excluding j, T loses v_j^2 / M_jj; forcing j sets lam_j = q_j = 0 (Sherman-Morrison)."""
        lam, q = point.x[0], point.x[1]
        vF, mF = point.v[node.F], point.mdiag[node.F]
        ratio = q * q / lam
        order = np.argsort(-ratio, kind="stable")
        rank = np.empty(ratio.size, int)
        rank[order] = np.arange(ratio.size)
        ranked = ratio[order]
        top = ranked[:r].sum()
        after = ranked[r] if r < ranked.size else 0.0
        last = ranked[r - 1] if r >= 1 else 0.0
        inside = rank < r
        T = point.T
        t_exclude = T - vF**2 / mF
        bmb, mb = T - 2 * q * vF + q * q * mF, vF - q * mF
        t_force = bmb - lam * mb**2 / (1 + lam * mF)
        exclude = self.c0 - t_exclude - np.where(inside, top - ratio + after, top)
        force = self.c0 - t_force - np.where(inside, top - ratio, top - last)
        return exclude * self.scale, force * self.scale


class _Point:
    """The barrier function at one iterate x = (lam, q, s, nu) (on the free columns), with its
    derivatives once :meth:`_Node.derive` has run."""

    __slots__ = ("x", "chol", "v", "T", "value", "objective", "dual", "delta", "gamma", "grad", "matrix",
                 "coupling", "mdiag", "z", "primal")

    def __init__(self, x, chol, v, T, value, objective, dual, delta, gamma):
        self.x, self.chol, self.v, self.T = x, chol, v, T
        self.value, self.objective, self.dual = value, objective, dual
        self.delta, self.gamma = delta, gamma
        self.grad = self.matrix = self.coupling = self.mdiag = self.z = None
        self.primal = np.inf


class _Node:
    """Barrier function of one node's dual and its Newton steps (s and nu eliminated by block
    elimination: each step solves a 2|F| system in (Lambda, q))."""

    def __init__(self, G, g, c0, free, r):
        self.G, self.g, self.c0, self.r = G, g, c0, r
        self.F = np.flatnonzero(free)
        self.f = self.F.size
        self.all_free = self.f == G.shape[0]
        self.weight = G.shape[0] + 3 * self.f + 2  # barrier parameter: gap <= tau * weight at the centre
        self.gdiag = np.diag(G)[self.F]
        f = self.f
        self._matrix = np.empty((2 * f, 2 * f))
        self._diag = [np.arange(f) * (2 * f + 1) + offset for offset in (0, f, 2 * f * f, 2 * f * f + f)]

    def evaluate(self, x, tau):
        """The barrier function at x, or None outside its domain."""
        lam, q, s, nu = x
        if nu <= 0 or lam.min() <= 0:
            return None
        delta = lam * s - q * q
        gamma = s - nu
        if delta.min() <= 0 or gamma.min() <= 0:
            return None
        Q = self.G.copy()
        if self.all_free:
            Q.flat[:: Q.shape[0] + 1] -= lam
        else:
            Q[self.F, self.F] -= lam
        chol, info = lapack.dpotrf(Q, lower=1, clean=1, overwrite_a=1)
        if info != 0:
            return None
        b = self.g.copy()
        b[self.F] += q
        v = lapack.dpotrs(chol, b, lower=1)[0]
        T = float(b @ v)
        objective = self.c0 - T - float(s.sum()) + (self.f - self.r) * nu
        logdet = 2 * float(np.log(chol.diagonal()).sum())
        value = objective + tau * (logdet + float(np.log(delta).sum() + np.log(gamma).sum()) + np.log(nu))
        dual = self.c0 - T - _top_sum(q * q / lam, self.r)
        return _Point(x, chol, v, T, value, objective, dual, delta, gamma)

    def derive(self, point: _Point, tau: float, target: float) -> None:
        """Gradient, the reduced Newton matrix, the relaxation's z and (when it could fall below
        ``target``: it is only used to stop) a primal upper bound on the relaxation."""
        lam, q, s, nu = point.x
        delta, gamma, f, r = point.delta, point.gamma, self.f, self.r
        inverse = lapack.dtrtri(point.chol, lower=1)[0]
        M = inverse.T @ inverse
        MF = M if self.all_free else M[np.ix_(self.F, self.F)]
        vF = point.v if self.all_free else point.v[self.F]
        mF = MF.diagonal().copy()
        point.mdiag = M.diagonal().copy()
        ratio = tau / delta
        point.grad = (-vF**2 - tau * mF + ratio * s, -2 * vF - 2 * ratio * q,
                      -1 + ratio * lam + tau / gamma, (f - r) - tau * float(np.sum(1 / gamma)) + tau / nu)
        c_lam, c_q = ratio * q * q / delta, -2 * ratio * q * lam / delta  # couplings of s_i with lam_i, q_i
        e = tau / gamma**2
        d = ratio * lam * lam / delta + e
        sigma = float(e.sum() + tau / nu**2 - np.sum(e * e / d))
        u = e / d
        # S0 = H11 - C D^-1 C^T (lower triangle: all Cholesky reads): H11 from -T and log det Q
        # (dense) and the 2x2 barriers (diagonal blocks), C the couplings with s (block elimination
        # of s); eliminating nu subtracts p p^T / sigma, p = C u, applied by Sherman-Morrison
        S = self._matrix
        top = S[:f, :f]
        np.outer(vF, vF, out=top)
        top *= 2.0
        top += tau * MF
        top *= MF
        np.multiply(MF, 2 * vF, out=S[f:, :f])
        np.multiply(MF, 2.0, out=S[f:, f:])
        flat = S.ravel()
        flat[self._diag[0]] += ratio * s * s / delta - c_lam * c_lam / d
        flat[self._diag[2]] += -2 * ratio * s * q / delta - c_lam * c_q / d
        flat[self._diag[3]] += 4 * ratio * q * q / delta + 2 * ratio - c_q * c_q / d
        point.matrix = S
        point.coupling = (c_lam, c_q, d, u, sigma, np.concatenate([c_lam * u, c_q * u]))
        point.z = np.clip(ratio * lam, 1e-12, 1.0)
        # a primal point of the relaxation: w = v, W = w w^T + tau M plus what its diagonal needs for
        # W_ii z_i >= w_i^2, with the z (sum at most r) that needs least; its objective bounds the
        # relaxation above (the extra diagonal only adds: skipped when the rest reaches target)
        primal = (self.c0 + float(q @ vF) - float(self.g @ point.v) + float(lam @ vF**2)
                  + tau * (M.shape[0] + float(lam @ mF)))
        if primal < target:
            primal += _least_extra(self.gdiag, vF**2, tau * mF, r)
        point.primal = primal

    def newton(self, point: _Point):
        """(direction (dlam, dq, ds, dnu), Newton decrement) maximising the barrier function."""
        f = self.f
        g_lam, g_q, g_s, g_nu = point.grad
        c_lam, c_q, d, u, sigma, p = point.coupling
        kappa = (u @ g_s + g_nu) / sigma
        t = g_s / d + u * kappa
        rhs = np.concatenate([g_lam - c_lam * t, g_q - c_q * t])
        chol, info = lapack.dpotrf(point.matrix, lower=1, clean=0, overwrite_a=1)
        if info != 0:
            return None, 0.0
        # (S0 - p p^T / sigma)^-1 rhs by Sherman-Morrison
        solved = lapack.dpotrs(chol, np.column_stack([rhs, p]), lower=1)[0]
        x_rhs, x_p = solved[:, 0], solved[:, 1]
        denominator = sigma - float(p @ x_p)
        if not denominator > 0:
            return None, 0.0
        step = x_rhs + x_p * (float(p @ x_rhs) / denominator)
        g_s2 = g_s - (c_lam * step[:f] + c_q * step[f:])
        kappa2 = (u @ g_s2 + g_nu) / sigma
        ds = g_s2 / d + u * kappa2
        direction = (step[:f], step[f:], ds, kappa2)
        decrement = float(g_lam @ step[:f] + g_q @ step[f:] + g_s @ ds + g_nu * kappa2)
        return direction, decrement

    @staticmethod
    def step_length(x, direction) -> float:
        """At most 1, and within 0.99 of where lam or nu would reach 0."""
        lam, _, _, nu = x
        dlam, _, _, dnu = direction
        t = 1.0
        down = dlam < 0
        if down.any():
            t = min(t, 0.99 * float(np.min(-lam[down] / dlam[down])))
        if dnu < 0:
            t = min(t, 0.99 * -nu / dnu)
        return t
