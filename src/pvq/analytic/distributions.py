"""Weight distributions with closed-form incomplete moments, so expected errors need no sampling.

Each distribution is symmetric with zero mean and exposes ``partial_moments(a, b)``: the integrals
int_a^b w^k p(w) dw for k = 0, 1, 2, vectorised over interval arrays. Expected squared errors of
quantization and pruning are sums of such integrals (paper App. A, eq. 13-15).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special


@dataclass(frozen=True)
class Normal:
    """Standard normal N(0, 1)."""

    name = "normal"
    lower = -np.inf
    upper = np.inf

    def pdf(self, w):
        return np.exp(-0.5 * np.square(w)) / np.sqrt(2.0 * np.pi)

    def partial_moments(self, a, b):
        a, b = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float))
        # Mass from the upper tail where both ends are positive: no 1 - 1 cancellation.
        m0 = np.where(a > 0, special.ndtr(-a) - special.ndtr(-b), special.ndtr(b) - special.ndtr(a))
        pa, pb = self.pdf(a), self.pdf(b)
        m1 = pa - pb
        # int w^2 phi = Phi - w phi; w phi -> 0 at +-inf.
        m2 = m0 + _times_pdf(a, pa) - _times_pdf(b, pb)
        return m0, m1, m2

    def second_moment(self) -> float:
        return 1.0

    def fourth_moment(self) -> float:
        return 3.0

    def magnitude_quantile(self, fraction: float) -> float:
        """Threshold t with P(|W| <= t) = fraction."""
        return float(special.ndtri(0.5 + 0.5 * fraction))


@dataclass(frozen=True)
class TruncatedStudentT2:
    """Student's t with nu = 2, truncated to [-r, r].

    With nu = 2 the density is (2 + w^2)^(-3/2) and every incomplete moment up to the fourth has an
    elementary antiderivative; scale does not matter for SNR, so the unit-variance rescaling of the
    paper's App. B is omitted.
    """

    r: float
    name = "student_t"

    def __post_init__(self):
        if not self.r > 0:
            raise ValueError(f"truncation range r must be > 0, got {self.r}")

    @property
    def lower(self) -> float:
        return -self.r

    @property
    def upper(self) -> float:
        return self.r

    @property
    def _mass(self) -> float:
        return 2.0 * _t2_antiderivative(self.r, 0)

    def pdf(self, w):
        w = np.asarray(w, float)
        return np.where(np.abs(w) <= self.r, (2.0 + w * w) ** -1.5 / self._mass, 0.0)

    def partial_moments(self, a, b):
        a = np.clip(np.asarray(a, float), -self.r, self.r)
        b = np.clip(np.asarray(b, float), -self.r, self.r)
        b = np.maximum(a, b)
        return tuple((_t2_antiderivative(b, k) - _t2_antiderivative(a, k)) / self._mass
                     for k in range(3))

    def second_moment(self) -> float:
        return 2.0 * float(_t2_antiderivative(self.r, 2)) / self._mass

    def fourth_moment(self) -> float:
        return 2.0 * float(_t2_antiderivative(self.r, 4)) / self._mass

    def magnitude_quantile(self, fraction: float) -> float:
        """Threshold t with P(|W| <= t) = fraction: invert t / (2 sqrt(2 + t^2)) = fraction * mass / 2."""
        y = 0.5 * fraction * self._mass
        return float(np.sqrt(8.0 * y * y / (1.0 - 4.0 * y * y)))


def kurtosis(dist) -> float:
    """Plain kurtosis E[W^4] / E[W^2]^2 (the distributions are zero-mean)."""
    return dist.fourth_moment() / dist.second_moment() ** 2


def _times_pdf(w, pdf_w):
    """w * pdf(w) with the 0 * inf at infinite w taken as its limit 0."""
    finite = np.isfinite(w)
    return np.where(finite, np.where(finite, w, 0.0) * pdf_w, 0.0)


def _t2_antiderivative(x, k: int):
    """Antiderivative of x^k (2 + x^2)^(-3/2) (nu = 2 t density up to normalisation), zero at 0."""
    x = np.asarray(x, float)
    root = np.sqrt(2.0 + x * x)
    if k == 0:
        return x / (2.0 * root)
    if k == 1:
        return 1.0 / np.sqrt(2.0) - 1.0 / root
    if k == 2:
        return np.arcsinh(x / np.sqrt(2.0)) - x / root
    if k == 4:
        return (x**3 + 6.0 * x) / (2.0 * root) - 3.0 * np.arcsinh(x / np.sqrt(2.0))
    raise ValueError(f"no closed form wired for k = {k}")
