"""The quantization SDP (Park & Boyd's relaxation with the box) solved in numpy by a dual barrier method.

For integer u in [l, h] (shifted codes, see :mod:`pvq.bounds.quant`) both u_i (u_i - 1) >= 0 and
(u_i - l_i)(h_i - u_i) >= 0 hold, so for multipliers lam, mu >= 0 the error (u - r)^T P (u - r) is at
least the concave dual function

    phi(lam, mu) = e - b^T A^-1 b,  A = P - diag(lam) + diag(mu) > 0,  b = P r - lam/2 + mu (l + h)/2,
    e = r^T P r + mu^T (l h),

whose maximum is the SDP relaxation's value (Lagrangian duality of a QCQP). We maximise
phi + tau (log det A + sum log lam + sum log mu) by damped Newton steps on the 2n multipliers while
tau falls geometrically (a path-following barrier method; each step costs a few n^3 dense operations,
milliseconds at n = 64, where an SDP through cvxpy takes seconds). At the barrier's centre the
primal point is u = x = A^-1 b with Z = x x^T + tau A^-1, feasible for the relaxation, and the duality
gap is at most tau (3n + 1); its covariance tau A^-1 is what Park & Boyd's randomised rounding samples.
The multipliers only steer: the bound is always recomputed from them by
:func:`pvq.bounds.quant.certify_dual` in extended precision, valid whatever the accuracy here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.linalg import lapack

# Stop when the barrier's duality gap tau (3n + 1) is below this share of |phi|.
GAP_RTOL = 1e-9
# Certify every centred iterate once the gap is below this share of |phi|.
CERTIFY_FROM = 1e-3
# tau shrinks by this factor once the Newton step is short (the iterate is near the barrier's centre).
TAU_FACTOR = 0.2
MAX_NEWTON = 300


@dataclass(frozen=True)
class DualSolution:
    """The best certified multipliers met (in P's units), the relaxation's mean and covariance at the
    last iterate, and how the solve went."""

    lam: np.ndarray
    mu: np.ndarray
    bound: float       # certify(lam, mu): a rigorous lower bound
    mean: np.ndarray
    cov: np.ndarray
    value: float       # phi at the last iterate (float64; not certified)
    gap: float         # tau (3n + 1) at the end: the barrier's bound on the duality gap there
    newton_steps: int


def _factor(A: np.ndarray):
    """Cholesky factor of A (lower), or None if A is not numerically positive definite."""
    chol, info = lapack.dpotrf(A, lower=1, clean=0)
    return chol if info == 0 else None


class _Barrier:
    """phi + tau (log det A + sum log theta) and its derivatives, theta = (lam, mu)."""

    def __init__(self, P, r, low, high):
        self.P, self.n = P, r.size
        self.low, self.high = low, high
        self.mid, self.lh = (low + high) / 2, low * high
        self.c, self.e0 = P @ r, float(r @ P @ r)

    def evaluate(self, theta, tau, derivatives: bool):
        n = self.n
        lam, mu = theta[:n], theta[n:]
        if np.any(theta <= 0):
            return None
        A = self.P.copy()
        A[np.diag_indices(n)] += mu - lam
        chol = _factor(A)
        if chol is None:
            return None
        b = self.c - lam / 2 + mu * self.mid
        x = lapack.dpotrs(chol, b, lower=1)[0]
        phi = self.e0 + float(mu @ self.lh) - float(b @ x)
        logdet = 2 * float(np.sum(np.log(np.diag(chol))))
        value = phi + tau * (logdet + float(np.sum(np.log(theta))))
        if not derivatives:
            return value, phi, x, None, None, None
        M = lapack.dpotri(chol, lower=1)[0]
        M = np.tril(M) + np.tril(M, -1).T
        mdiag = np.diag(M)
        grad = np.concatenate([x - x * x - tau * mdiag, (x - self.low) * (x - self.high) + tau * mdiag]) + tau / theta
        k = np.concatenate([x - 0.5, self.mid - x])
        MM = M * M
        hessian = np.empty((2 * n, 2 * n))  # minus the Hessian
        for (rows, cols), sign in (((slice(0, n), slice(0, n)), 1), ((slice(0, n), slice(n, None)), -1),
                                   ((slice(n, None), slice(0, n)), -1), ((slice(n, None), slice(n, None)), 1)):
            hessian[rows, cols] = 2 * np.outer(k[rows], k[cols]) * M + sign * tau * MM
        hessian[np.diag_indices(2 * n)] += tau / theta**2
        return value, phi, x, grad, hessian, M


def solve_dual(P: np.ndarray, r: np.ndarray, low: np.ndarray, high: np.ndarray,
               certify: Callable[[np.ndarray, np.ndarray], float], gap_rtol: float = GAP_RTOL) -> DualSolution:
    """Maximise the dual function phi(lam, mu) (module docstring) by the barrier method; ``certify``
    maps multipliers to a rigorous bound and the best certified multipliers are returned.

    Near the optimum A becomes nearly singular and certification (which needs A safely positive
    definite) costs more than the last digits gain: once the barrier's gap is below CERTIFY_FROM of
    |phi|, every centred iterate is certified, and the path stops when the certified bound has not
    improved for two of them or the gap is below ``gap_rtol``.
    """
    n = r.size
    scale = float(np.trace(P) / n) or 1.0
    barrier = _Barrier(P / scale, r, low, high)
    # mu ~ 1 / (half the box width)^2 keeps mu^T (l h) near the error scale for any bit width;
    # lam = mu / 2 makes A = P / scale + diag(mu) / 2 positive definite
    mu = 4.0 / np.maximum(high - low, 1.0) ** 2
    theta = np.concatenate([mu / 2, mu])
    tau, steps = 1.0, 0
    best, best_theta, stale = -np.inf, theta, 0
    state = barrier.evaluate(theta, tau, True)
    while steps < MAX_NEWTON:
        value, phi, x, grad, hessian, M = state
        chol = _factor(hessian)
        if chol is None:  # numerically singular: regularise the Newton system
            hessian[np.diag_indices(2 * n)] += 1e-12 * np.abs(np.diag(hessian)).max()
            chol = _factor(hessian)
            if chol is None:
                break
        step = lapack.dpotrs(chol, grad, lower=1)[0]
        decrement = float(grad @ step)
        negative = step < 0
        longest = float(np.min(-theta[negative] / step[negative])) if negative.any() else np.inf
        t = min(1.0, 0.99 * longest)
        while t > 1e-12:
            trial = barrier.evaluate(theta + t * step, tau, False)
            if trial is not None and trial[0] >= value + 0.25 * t * decrement:
                break
            t *= 0.5
        else:
            t = 0.0
        steps += 1
        if t > 0:
            theta = theta + t * step
        if decrement < 1e-2 * tau or t == 0:  # centred (or stuck): certify, then shrink tau
            gap = tau * (3 * n + 1)
            if gap <= CERTIFY_FROM * abs(phi) or t == 0:
                bound = certify(theta[:n] * scale, theta[n:] * scale)
                if bound > best:
                    best, best_theta, stale = bound, theta.copy(), 0
                else:
                    stale += 1
                if stale >= 2 or gap <= gap_rtol * abs(phi) or t == 0:
                    state = barrier.evaluate(theta, tau, True)
                    break
            tau *= TAU_FACTOR
        state = barrier.evaluate(theta, tau, True)
    value, phi, x, grad, hessian, M = state
    if best == -np.inf:
        best, best_theta = certify(theta[:n] * scale, theta[n:] * scale), theta
    return DualSolution(lam=best_theta[:n] * scale, mu=best_theta[n:] * scale, bound=best, mean=x, cov=tau * M,
                        value=phi * scale, gap=tau * (3 * n + 1) * scale, newton_steps=steps)
