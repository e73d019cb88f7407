"""The exact quantizer's search: sphere decoders over the same integer box, run side by side.

The problem (pvq.bounds.quant, shifted): min error(u) = (u - r)^T P (u - r), u integer in [low, high].
Each decoder fixes the coordinates v of one basis u = Z v from the last down and prunes a node by a
partial sum D that no completion of it can go below:
- plain: P = R^T R in V-BLAST order (Z a permutation), D = sum over fixed levels (R_kk (v_k - c_k))^2;
- dual: for multipliers lam, mu >= 0 (the SDP relaxation's, pvq.bounds.quant_sdp) error(u) >=
  D0 + (u - x)^T A (u - x) + sum_i t_i(u_i), A = P - diag(lam) + diag(mu), t_i(u) = lam_i u (u - 1) +
  mu_i (u - low_i)(high_i - u) >= 0 on the box's integers: the root starts at the SDP bound D0, not 0,
  which decides the 2- and 3-bit problems whose box binds;
- lattice: Z unimodular from LLL (pvq.bounds.lattice): ill-conditioned P (the stem conv's raw pixels)
  gets a flat diagonal; the box is then no per-level interval, so a node is also pruned by the cost of
  moving the free coordinates' continuous optimum back inside each violated face of the box.
No decoder dominates on real Lite0 chunks (benchmarks/bench_bounds.py), so they take turns (the one with
the least work so far, counted in candidate children: deterministic and close to CPU time) and share one
incumbent; the first to finish certifies the optimum, so the search costs at most about as many times the
best decoder's own time as there are decoders. A stopped search reports the largest of their bounds.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.linalg

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


class Decoder:
    """Depth-first enumeration, in batches, of the integer v with D(v) < incumbent.best, u = Z v.

    R: n x n upper triangular, centre: the continuous optimum in v, D0: the constant of the partial
    sums, Z: v -> u (integer). ``clip``: (low, high) per level when Z is a permutation (the box is a
    per-level interval); ``terms``: (lam, mu, low, high) per level for the dual decoder; ``box``:
    (low, high) in u, pruned through the free coordinates' continuous optimum (lattice decoder).
    A batch entry at level k holds per node its partial sum D, fixed levels V (k+1..n-1 set), the
    offsets R[:k+1, k+1:] @ (V - centre)[k+1:] of the open levels and, with ``box``, the continuous
    optimum in u given the fixed levels.
    """

    def __init__(self, name: str, R, centre, D0: float, Z, batch: int, clip=None, terms=None, box=None):
        self.name, self.R, self.centre, self.Z = name, R, np.asarray(centre, float), Z
        self.batch, self.clip, self.terms, self.box = max(int(batch), 1), clip, terms, box
        n = self.centre.size
        self.rdiag = np.diag(R).copy()
        # pivots at most this are numerically zero (singular P): their level enumerates the box
        self.flat = RANK_RTOL * (self.rdiag.max() if n else 0.0)
        if box is not None:
            self._shift, self._reach = _box_geometry(R, Z)
        self.nodes = 0
        self.work = 0  # candidate children generated, pruned or not (the scheduler's clock)
        self.stack = [(n - 1, np.array([float(D0)]), np.zeros((1, n)), np.zeros((1, n)),
                       (Z @ self.centre)[None] if box is not None else None)]

    def lower(self, incumbent: Incumbent) -> float:
        """No point of the box has a smaller error than this (the incumbent's or an open node's)."""
        return float(min([incumbent.value, *(entry[1].min() for entry in self.stack if entry[1].size)]))

    def step(self, incumbent: Incumbent) -> bool:
        """Expand one batch; False once the enumeration is complete."""
        if not self.stack:
            return False
        k, D, V, A, U = self.stack.pop()
        alive = D < incumbent.best
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
                order = np.argsort(D, kind="stable")
                for chunk in reversed(np.array_split(order, -(-order.size // self.batch) or 1)):
                    self.stack.append((k - 1, D[chunk], V[chunk], A[chunk], U[chunk] if U is not None else None))
        return bool(self.stack)

    def _children(self, k: int, D, V, A, U, best: float):
        """Every child (v_k = value) of the level-k nodes whose bound stays below ``best``."""
        rkk = self.rdiag[k]
        if rkk > self.flat:
            centre = self.centre[k] - A[:, k] / rkk
            radius = np.sqrt(np.maximum(best - D, 0.0)) / rkk
            slack = SLACK * (1 + np.abs(centre) + radius)  # widened against rounding
            first, last = np.ceil(centre - radius - slack), np.floor(centre + radius + slack)
            if self.clip is not None:
                first, last = np.maximum(first, self.clip[0][k]), np.minimum(last, self.clip[1][k])
        else:  # no curvature along v_k given the later levels: every value in the box
            first, last = np.full(D.size, self.clip[0][k]), np.full(D.size, self.clip[1][k])
        count = np.maximum(last - first + 1, 0).astype(np.int64)
        parent = np.repeat(np.arange(D.size), count)
        self.work += parent.size * (2 if U is not None else 1)  # the box penalty about doubles a child's cost
        value = first[parent] + (np.arange(parent.size) - np.repeat(np.cumsum(count) - count, count))
        if rkk > self.flat:
            partial = D[parent] + (rkk * (value - centre[parent])) ** 2
        else:
            partial = D[parent] + (rkk * (value - self.centre[k]) + A[parent, k]) ** 2
        if self.terms is not None:
            lam, mu, low, high = (t[k] for t in self.terms)
            partial = partial + lam * value * (value - 1) + mu * (value - low) * (high - value)
        keep = partial < best  # the interval was widened: decide exactly here
        parent, value, partial = parent[keep], value[keep], partial[keep]
        optimum = None
        if U is not None:
            optimum = U[parent] + np.outer(value - centre[parent], self._shift[k])
            penalty = self._box_penalty(optimum, self._reach[k])
            keep = partial + penalty < best
            parent, value, partial, optimum = parent[keep], value[keep], partial[keep], optimum[keep]
        self.nodes += value.size
        children = V[parent]
        children[:, k] = value
        offsets = A[parent, :k] + np.outer(value - self.centre[k], self.R[:k, k])
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


def run(decoders: list[Decoder], incumbent: Incumbent, deadline: float) -> tuple[float, str]:
    """One batch at a time of the decoder with the least work, until one completes ('optimal') or the
    clock passes ``deadline`` ('time_limit'); returns (lower bound, status). The incumbent holds the
    best point."""
    while True:
        if time.perf_counter() > deadline:
            return max(d.lower(incumbent) for d in decoders), "time_limit"
        decoder = min(decoders, key=lambda d: d.work)
        decoder.work += 1
        if not decoder.step(incumbent):
            return incumbent.value, "optimal"
