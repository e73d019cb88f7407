"""The exact quantizer's search: sphere decoders over the same integer box, run side by side.

The problem (pvq.bounds.quant, shifted): min error(u) = (u - r)^T P (u - r), u integer in [low, high].
Each decoder fixes the coordinates v of one basis u = Z v from the last down and prunes a node by a
partial sum D that no completion of it can go below:
- plain: P = R^T R in V-BLAST order (Z a permutation), D = sum over fixed levels (R_kk (v_k - c_k))^2;
- dual: for multipliers lam, mu >= 0 (the SDP relaxation's, pvq.bounds.quant_sdp) error(u) >=
  D0 + (u - x)^T A (u - x) + sum_i t_i(u_i), A = P - diag(lam) + diag(mu), t_i(u) = lam_i u (u - 1) +
  mu_i (u - low_i)(high_i - u) >= 0 on the box's integers: the root starts at the SDP bound D0, not 0,
  which decides the 2- and 3-bit problems whose box binds;
- combined: the plain and the dual partial sums on one tree (V-BLAST order of P), a node pruned when
  either reaches the incumbent, so it keeps only nodes that plain keeps too; each prunes nodes the
  other keeps (the dual's starts at the SDP bound, but its multipliers are the root's): on n = 64
  Lite0 chunks it visited 2-4x fewer nodes than plain alone at about twice the cost per node;
- lattice: Z unimodular from LLL (pvq.bounds.lattice): ill-conditioned P (the stem conv's raw pixels)
  gets a flat diagonal; the box is then no per-level interval, so a node is also pruned by the cost of
  moving the free coordinates' continuous optimum back inside each violated face of the box.
Neither combined nor lattice dominates (lattice decides the raw pixels), so the decoders take turns (the
one with the least work so far, counted in candidate children times bounds evaluated: deterministic
and close to CPU time) and share one incumbent; the first to finish certifies the optimum, so the
search costs at most about as many times the best decoder's own time as there are decoders. A stopped
search reports the largest of their bounds.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from pvq.bounds.clock import Deadline
from pvq.bounds.problem import RANK_RTOL

# Relative widening of intervals and of the box against floating-point rounding.
SLACK = 1e-9
# Box penalties are scaled down by this much: their reach comes from triangular solves whose relative
# error grows with the basis' condition (at most ~1e6 here, pvq.bounds.quant.LATTICE_MIN_PIVOT).
PENALTY_SHRINK = 1e-6


class Incumbent:
    """The best point found by any decoder (u coordinates) and the pruning threshold ``best``."""

    def __init__(self, P: np.ndarray, r: np.ndarray, u: np.ndarray):
        self.P, self.r = P, r
        self.u = np.asarray(u, dtype=np.float64).copy()
        self.value = self.values(self.u[None])[0]
        self.best = self.value * (1 + 1e-12)  # the start point itself stays reachable

    def values(self, U: np.ndarray) -> np.ndarray:
        D = U - self.r
        return np.einsum("ij,jk,ik->i", D, self.P, D)

    def offer(self, U: np.ndarray) -> None:
        """Take the best of the rows of U (complete points inside the box) if it beats the incumbent."""
        values = self.values(U)
        i = int(np.argmin(values))
        if values[i] < self.value:
            self.u, self.value = U[i].copy(), float(values[i])
            self.best = min(self.best, self.value)


class Part:
    """One lower bound on the error of a node's completions, as a partial sum over its fixed levels:
    D0 + sum_k (R_kk (v_k - c_k))^2 (+ sum_k t_k(v_k) with ``terms`` = (lam, mu, low, high) per level),
    c_k the centre given the later levels. R: n x n upper triangular, centre: the continuous optimum."""

    def __init__(self, R, centre, D0: float, terms=None):
        self.R, self.centre, self.D0, self.terms = R, np.asarray(centre, float), float(D0), terms
        self.rdiag = np.diag(R).copy()
        # pivots at most this are numerically zero (singular P): their level enumerates the box
        self.flat = RANK_RTOL * (self.rdiag.max() if self.rdiag.size else 0.0)


class Decoder:
    """Depth-first enumeration, in batches, of the integer v with D(v) < incumbent.best, u = Z v.

    ``parts``: the bounds (:class:`Part`) on one tree, all in the basis Z; a node's bound D is the
    largest of them, so two parts prune every node either would ('combined': plain and dual). Z: v -> u
    (integer). ``clip``: (low, high) per level when Z is a permutation (the box is a per-level
    interval); ``box``: (low, high) in u, pruned through the free coordinates' continuous optimum
    (lattice decoder, one part). A batch entry at level k holds per node its partial sums D (one per
    part), fixed levels V (k+1..n-1 set), each part's offsets R[:k+1, k+1:] @ (V - centre)[k+1:] of the
    open levels and, with ``box``, the continuous optimum in u given the fixed levels.
    """

    def __init__(self, name: str, parts, Z, batch: int, clip=None, box=None):
        self.name, self.parts, self.Z = name, list(parts), Z
        self.batch, self.clip, self.box = max(int(batch), 1), clip, box
        n = Z.shape[1]
        if box is not None:
            if len(self.parts) != 1:
                raise ValueError("the box penalty is derived for one part")
            self._shift, self._reach = _box_geometry(self.parts[0].R, Z)
        self.nodes = 0
        self.work = 0  # candidate children generated, pruned or not, times the parts (the scheduler's clock)
        self.stack = [(n - 1, np.array([[part.D0 for part in self.parts]]), np.zeros((1, n)),
                       np.zeros((1, len(self.parts), n)),
                       (Z @ self.parts[0].centre)[None] if box is not None else None)]

    def lower(self, incumbent: Incumbent) -> float:
        """No point of the box has a smaller error than this (the incumbent's or an open node's)."""
        return float(min([incumbent.value, *(entry[1].max(axis=1).min() for entry in self.stack if entry[1].size)]))

    def step(self, incumbent: Incumbent) -> bool:
        """Expand one batch; False once the enumeration is complete."""
        if not self.stack:
            return False
        k, D, V, A, U = self.stack.pop()
        alive = np.all(D < incumbent.best, axis=1)
        D, V, A = D[alive], V[alive], A[alive]
        U = U[alive] if U is not None else None
        if D.size:
            D, V, A, U = self._children(k, D, V, A, U, incumbent.best)
            if k == 0:
                if D.size:
                    points = np.rint(V @ self.Z.T)
                    inside = np.all((points >= self.low_u) & (points <= self.high_u), axis=1)
                    if inside.any():
                        incumbent.offer(points[inside])
            else:
                order = np.argsort(D.max(axis=1), kind="stable")
                for chunk in reversed(np.array_split(order, -(-order.size // self.batch) or 1)):
                    self.stack.append((k - 1, D[chunk], V[chunk], A[chunk], U[chunk] if U is not None else None))
        return bool(self.stack)

    def _children(self, k: int, D, V, A, U, best: float):
        """Every child (v_k = value) of the level-k nodes whose bounds all stay below ``best``: the
        values in the intersection of the parts' intervals (and of the clip), each part's partial sum
        then decided exactly."""
        first, last = np.full(D.shape[0], -np.inf), np.full(D.shape[0], np.inf)
        if self.clip is not None:
            first, last = np.maximum(first, self.clip[0][k]), np.minimum(last, self.clip[1][k])
        centres = []
        for j, part in enumerate(self.parts):
            rkk = part.rdiag[k]
            if rkk > part.flat:
                centre = part.centre[k] - A[:, j, k] / rkk
                radius = np.sqrt(np.maximum(best - D[:, j], 0.0)) / rkk
                slack = SLACK * (1 + np.abs(centre) + radius)  # widened against rounding
                first = np.maximum(first, np.ceil(centre - radius - slack))
                last = np.minimum(last, np.floor(centre + radius + slack))
            else:  # no curvature along v_k given the later levels: every value in the box (clip)
                centre = None
            centres.append(centre)
        count = np.maximum(last - first + 1, 0).astype(np.int64)
        parent = np.repeat(np.arange(D.shape[0]), count)
        # the box penalty about doubles a child's cost
        self.work += parent.size * len(self.parts) * (2 if U is not None else 1)
        value = first[parent] + (np.arange(parent.size) - np.repeat(np.cumsum(count) - count, count))
        partial = np.empty((parent.size, len(self.parts)))
        for j, (part, centre) in enumerate(zip(self.parts, centres)):
            rkk = part.rdiag[k]
            if centre is not None:
                partial[:, j] = D[parent, j] + (rkk * (value - centre[parent])) ** 2
            else:
                partial[:, j] = D[parent, j] + (rkk * (value - part.centre[k]) + A[parent, j, k]) ** 2
            if part.terms is not None:
                lam, mu, low, high = (t[k] for t in part.terms)
                partial[:, j] += lam * value * (value - 1) + mu * (value - low) * (high - value)
        keep = np.all(partial < best, axis=1)  # the intervals were widened: decide exactly here
        parent, value, partial = parent[keep], value[keep], partial[keep]
        optimum = None
        if U is not None:
            optimum = U[parent] + np.outer(value - centres[0][parent], self._shift[k])
            penalty = self._box_penalty(optimum, self._reach[k])
            keep = partial[:, 0] + penalty < best
            parent, value, partial, optimum = parent[keep], value[keep], partial[keep], optimum[keep]
        self.nodes += value.size
        children = V[parent]
        children[:, k] = value
        offsets = np.empty((parent.size, len(self.parts), k))
        for j, part in enumerate(self.parts):
            offsets[:, j] = A[parent, j, :k] + np.outer(value - part.centre[k], part.R[:k, k])
        return partial, children, offsets, optimum

    @property
    def low_u(self):
        return self.box[0] if self.box is not None else self.clip[0] @ self.Z.T

    @property
    def high_u(self):
        return self.box[1] if self.box is not None else self.clip[1] @ self.Z.T

    def _box_penalty(self, optimum: np.ndarray, reach: np.ndarray) -> np.ndarray:
        """Per node, a lower bound on the extra error of any completion inside the box: moving u_i by t
        through the free coordinates costs at least (t / reach_i)^2; reach_i = 0 means u_i is fixed."""
        low, high = self.box
        excess = np.maximum(optimum - high, low - optimum) - SLACK * (1 + np.abs(optimum))
        excess = np.maximum(excess, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            cost = np.where(excess > 0, np.where(reach > 0, (excess / np.where(reach > 0, reach, 1.0)) ** 2, np.inf),
                            0.0)
        return cost.max(axis=1) * (1 - PENALTY_SHRINK) if cost.shape[1] else np.zeros(cost.shape[0])


def _box_geometry(R: np.ndarray, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per level k (levels k..n-1 just fixed, 0..k-1 free): shift[k], how the free levels' continuous
    optimum in u moves per unit of v_k away from its centre, and reach[k][i] = ||R_{<k}^-T Z[i, <k]||,
    the distance u_i moves per unit of error's square root spent on the free levels."""
    n = R.shape[0]
    shift, reach = np.zeros((n, n)), np.zeros((n, n))
    for k in range(n):
        shift[k] = Z[:, k]
        if k:
            top = R[:k, :k]
            shift[k] -= Z[:, :k] @ scipy.linalg.solve_triangular(top, R[:k, k])
            reach[k] = np.linalg.norm(scipy.linalg.solve_triangular(top, Z[:, :k].T, trans="T"), axis=0)
    return shift, reach


def run(decoders: list[Decoder], incumbent: Incumbent, deadline: Deadline) -> tuple[float, str]:
    """One batch at a time of the decoder with the least work, until one completes ('optimal') or the
    CPU clock passes ``deadline`` ('time_limit'); returns (lower bound, status). The incumbent holds the
    best point."""
    while True:
        if deadline.passed():
            return max(d.lower(incumbent) for d in decoders), "time_limit"
        decoder = min(decoders, key=lambda d: d.work)
        decoder.work += 1
        if not decoder.step(incumbent):
            return incumbent.value, "optimal"
