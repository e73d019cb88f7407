"""Analytic errors against independent computations: quadrature, Monte Carlo, dense scans, the paper."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from pvq.analytic.distributions import Normal, TruncatedStudentT2, kurtosis
from pvq.analytic.errors import optimal_delta, prune_mse, quant_mse
from pvq.analytic.study import normal_table, student_t_table
from pvq.quantize import quantize_symmetric

DISTRIBUTIONS = [Normal(), TruncatedStudentT2(3.0), TruncatedStudentT2(40.0)]


def t2_pdf(w, r):
    """Truncated nu = 2 t density from scipy (independent of our closed forms)."""
    t = stats.t(df=2)
    return np.where(np.abs(w) <= r, t.pdf(w) / (t.cdf(r) - t.cdf(-r)), 0.0)


def density(dist):
    return Normal().pdf if isinstance(dist, Normal) else (lambda w: t2_pdf(w, dist.r))


def quad_error(dist, f, breakpoints):
    """int (w - f(w))^2 p(w) dw by adaptive quadrature between the discontinuities of f."""
    lo, hi = max(dist.lower, -40.0), min(dist.upper, 40.0)
    points = np.unique(np.clip(np.concatenate(([lo], breakpoints, [hi])), lo, hi))
    pdf = density(dist)
    return sum(integrate.quad(lambda w: (w - f(w)) ** 2 * pdf(w), a, b, epsabs=1e-14, epsrel=1e-12)[0]
               for a, b in zip(points[:-1], points[1:]))


@pytest.mark.parametrize("dist", DISTRIBUTIONS, ids=lambda d: d.name)
@pytest.mark.parametrize("a, b", [(-np.inf, -1.0), (-0.3, 0.7), (0.5, 2.5), (1.0, np.inf), (-np.inf, np.inf)])
def test_partial_moments_match_quadrature(dist, a, b):
    pdf = density(dist)
    lo, hi = max(a, dist.lower), min(b, dist.upper)
    expected = [integrate.quad(lambda w: w**k * pdf(w), lo, hi, epsabs=1e-13)[0] if lo < hi else 0.0
                for k in range(3)]
    np.testing.assert_allclose(dist.partial_moments(a, b), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dist", DISTRIBUTIONS, ids=lambda d: d.name)
@pytest.mark.parametrize("bits, delta", [(2, 0.9), (3, 0.55), (4, 0.31), (8, 0.03)])
def test_quant_mse_matches_quadrature(dist, bits, delta):
    nodes = delta * np.arange(-(2 ** (bits - 1)), 2 ** (bits - 1))
    midpoints = 0.5 * (nodes[1:] + nodes[:-1])
    expected = quad_error(dist, lambda w: quantize_symmetric(w, delta, bits), midpoints)
    assert quant_mse(dist, delta, bits) == pytest.approx(expected, rel=1e-8, abs=1e-14)


def test_quant_mse_matches_monte_carlo_on_the_truncated_t():
    dist, bits, delta = TruncatedStudentT2(10.0), 3, 0.8
    rng = np.random.default_rng(0)
    draws = rng.standard_t(2, size=4_000_000)
    w = draws[np.abs(draws) <= dist.r]
    errors = (w - quantize_symmetric(w, delta, bits)) ** 2
    # Five standard errors of the Monte Carlo mean.
    assert abs(quant_mse(dist, delta, bits) - errors.mean()) < 5 * errors.std() / np.sqrt(w.size)


@pytest.mark.parametrize("dist", DISTRIBUTIONS, ids=lambda d: d.name)
@pytest.mark.parametrize("bits", [2, 3, 4, 6])
def test_optimal_delta_is_at_least_as_good_as_a_dense_scan(dist, bits):
    found = optimal_delta(dist, bits, scan_points=400)
    scan = np.linspace(1e-3, 2.0 * min(dist.upper, 8.0) / 2 ** (bits - 1), 20_000)
    best_scanned = min(quant_mse(dist, d, bits) for d in scan)
    assert found.mse <= best_scanned * (1 + 1e-9)
    assert quant_mse(dist, found.delta, bits) == pytest.approx(found.mse, rel=1e-12)


@pytest.mark.parametrize("dist", DISTRIBUTIONS, ids=lambda d: d.name)
@pytest.mark.parametrize("sparsity", [0.0, 0.5, 0.75, 0.875])
def test_pruning_threshold_and_error_match_quadrature(dist, sparsity):
    cut = prune_mse(dist, sparsity)
    pdf = density(dist)
    mass = integrate.quad(pdf, -cut.threshold, cut.threshold, epsabs=1e-13)[0]
    assert mass == pytest.approx(sparsity, abs=1e-9)
    error = quad_error(dist, lambda w: np.where(np.abs(w) > cut.threshold, w, 0.0),
                       [-cut.threshold, cut.threshold])
    assert cut.mse == pytest.approx(error, rel=1e-8, abs=1e-14)


@pytest.mark.parametrize("r", [2.0, 10.0, 100.0])
def test_truncated_t_kurtosis_matches_quadrature(r):
    pdf = lambda w: t2_pdf(w, r)  # noqa: E731
    m2 = integrate.quad(lambda w: w**2 * pdf(w), -r, r, epsabs=1e-13, limit=200)[0]
    m4 = integrate.quad(lambda w: w**4 * pdf(w), -r, r, epsabs=1e-12, limit=200)[0]
    assert kurtosis(TruncatedStudentT2(r)) == pytest.approx(m4 / m2**2, rel=1e-9)


def test_normal_kurtosis_is_three():
    assert kurtosis(Normal()) == 3.0


def test_normal_matches_the_paper():
    """§3.3: INT4 about 19.1 dB (19.26 with the -8..7 grid), 75% pruning about 5.6 dB."""
    table = normal_table([4]).iloc[0]
    assert 19.1 <= table["quant_snr_db"] <= 19.3
    assert table["prune_snr_db"] == pytest.approx(5.58, abs=0.01)
    assert table["sparsity"] == 0.75


def test_quantization_beats_pruning_on_the_normal_and_loses_on_heavy_tails_at_two_bits():
    normal = normal_table([2, 4, 8])
    assert (normal["quant_snr_db"] > normal["prune_snr_db"]).all()
    t = student_t_table([2.0, 100.0], [2])
    assert t["winner"].tolist() == ["quant", "prune"]
    assert t["kurtosis"].is_monotonic_increasing
