"""Analytic errors against independent computations: quadrature, Monte Carlo, dense scans, the paper."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from pvq.analytic.distributions import Normal, TruncatedStudentT2, kurtosis
from pvq.analytic.errors import optimal_delta, prune_mse, quant_mse, step_bracket_holds
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
    hi = dist.upper if np.isfinite(dist.upper) else 40.0  # the normal's mass beyond 40 is below 1e-300
    lo = -hi
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


HEAVY = TruncatedStudentT2(100.0)  # kurtosis 159.7: the optimal INT8 clipping range is near 29 sigma


def quad_snr_db(dist, delta, bits):
    """SNR of the grid delta * i by quadrature over every cell (scipy; independent of the closed forms)."""
    nodes = delta * np.arange(-(2 ** (bits - 1)), 2 ** (bits - 1))
    error = quad_error(dist, lambda w: quantize_symmetric(w, delta, bits), 0.5 * (nodes[1:] + nodes[:-1]))
    power = integrate.quad(lambda w: w**2 * density(dist)(w), dist.lower, dist.upper, limit=200)[0]
    return 10 * np.log10(power / error)


@pytest.mark.parametrize("bits", range(2, 9))
def test_heavy_tail_optimum_beats_a_dense_scan_to_the_support_end(bits):
    """r = 100: the step is searched up to twice the support's end (all of it rounds to zero there),
    and the SNR at the optimum is confirmed by quadrature. A 12-sigma cap gave INT8 17.47 dB."""
    found = optimal_delta(HEAVY, bits)
    scan = np.geomspace(1e-4, 2.0 * HEAVY.r, 40_000)
    best = min(scan, key=lambda d: quant_mse(HEAVY, d, bits))
    assert found.mse <= quant_mse(HEAVY, best, bits) * (1 + 1e-9)
    assert found.delta == pytest.approx(best, rel=2e-3)
    reached = 10 * np.log10(HEAVY.second_moment() / found.mse)
    assert reached == pytest.approx(quad_snr_db(HEAVY, found.delta, bits), abs=1e-6)
    assert step_bracket_holds(HEAVY, bits, found.span, found.mse)


def test_heavy_tail_int8_is_the_known_optimum():
    """NOTES.md: at r = 100 INT8's optimal step is 0.6395, 23.07 dB (clipping near 29 sigma)."""
    found = optimal_delta(HEAVY, 8)
    assert found.delta == pytest.approx(0.6395, abs=1e-4)
    assert 10 * np.log10(HEAVY.second_moment() / found.mse) == pytest.approx(23.07, abs=0.01)
    assert found.delta * 127 / np.sqrt(HEAVY.second_moment()) > 25


@pytest.mark.parametrize("bits", [7, 8])
def test_no_kinks_along_the_kurtosis_grid(bits):
    """On the default run's 25 truncation ranges, each optimum equals a dense scan up to 2r, so the
    SNR-vs-kurtosis curve has no bend where a capped search would stop short."""
    table = student_t_table(np.geomspace(2.0, 100.0, 25), [bits])
    for r, snr in zip(table["r"], table["quant_snr_db"]):
        dist = TruncatedStudentT2(r)
        scan = np.geomspace(1e-4 * r, 2.0 * r, 5_000)
        best = min(quant_mse(dist, d, bits) for d in scan)
        assert snr >= 10 * np.log10(dist.second_moment() / best) - 1e-6
    assert table["quant_snr_db"].is_monotonic_decreasing


@pytest.mark.parametrize("dist", DISTRIBUTIONS + [HEAVY], ids=lambda d: f"{d.name}-{getattr(d, 'r', '')}")
@pytest.mark.parametrize("bits", [1, 2, 5, 8])
def test_the_bracket_bounds_are_lower_bounds_of_the_error_outside_it(dist, bits):
    """step_bracket_holds rests on two bounds; check them on steps well outside a span."""
    found = optimal_delta(dist, bits, scan_points=200)
    small, large = found.span
    outside = [*np.geomspace(small * 1e-3, small, 50), *np.geomspace(large, large * 1e3, 50)]
    assert min(quant_mse(dist, d, bits) for d in outside) >= found.mse * (1 - 1e-12)
    assert not step_bracket_holds(dist, bits, (found.delta, found.delta), found.mse * 1.5)


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
