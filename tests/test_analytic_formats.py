"""Every grid format on distributions: exact errors against quadrature and Monte Carlo, optimal
scales against dense scans, the integers unchanged (Fig. 1/2), the table behind the region map."""

from __future__ import annotations

import numpy as np
import pytest

from pvq.analytic.distributions import Normal, TruncatedStudentT2
from pvq.analytic.errors import levels, optimal_delta, quant_mse, quant_mses, step_bracket_holds
from pvq.analytic.formats import COLUMNS, formats_table
from pvq.methods import E2M1, E2M3, E3M2, E4M3, E5M2, Int
from test_analytic import quad_error

FP_GRIDS = [E2M1, E2M3, E3M2, E4M3, E5M2]
DISTRIBUTIONS = [Normal(), TruncatedStudentT2(3.0), TruncatedStudentT2(60.0)]


@pytest.mark.parametrize("dist", DISTRIBUTIONS, ids=lambda d: f"{d.name}{getattr(d, 'r', '')}")
@pytest.mark.parametrize("grid, scale", [(E2M1, 0.45), (E3M2, 0.15), (E2M3, 0.4), (E4M3, 0.02)], ids=str)
def test_fp_grid_error_matches_quadrature(dist, grid, scale):
    nodes = scale * grid.levels()
    expected = quad_error(dist, lambda w: scale * grid.quantize(np.asarray(w, float) / scale),
                          0.5 * (nodes[1:] + nodes[:-1]))
    assert quant_mse(dist, scale, grid) == pytest.approx(expected, rel=1e-7, abs=1e-14)


@pytest.mark.parametrize("grid", [E2M1, E4M3, E3M2, Int(4)], ids=str)
@pytest.mark.parametrize("dist", [Normal(), TruncatedStudentT2(20.0)], ids=lambda d: d.name)
def test_fp_snr_matches_monte_carlo(grid, dist):
    rng = np.random.default_rng(0)
    if isinstance(dist, Normal):
        w = rng.standard_normal(2_000_000)
    else:  # nu = 2 t by inversion of its CDF, truncated to [-r, r] by rejection
        w = rng.standard_t(2, 3_000_000)
        w = w[np.abs(w) <= dist.r]
    fit = optimal_delta(dist, grid, scan_points=600)
    errors = (w - fit.delta * grid.quantize(w / fit.delta)) ** 2
    assert abs(errors.mean() - fit.mse) < 5 * errors.std() / np.sqrt(w.size)


@pytest.mark.parametrize("grid", FP_GRIDS, ids=str)
@pytest.mark.parametrize("dist", DISTRIBUTIONS, ids=lambda d: f"{d.name}{getattr(d, 'r', '')}")
def test_optimal_scale_beats_a_dense_scan_and_its_bracket_holds(grid, dist):
    found = optimal_delta(dist, grid, scan_points=400)
    reach = dist.upper if np.isfinite(dist.upper) else 12.0
    scan = np.geomspace(1e-5 * reach / grid.top, 4.0 * reach / grid.top * 2 / grid.smallest, 20_000)
    assert found.mse <= quant_mses(dist, scan, grid).min() * (1 + 1e-9)
    assert step_bracket_holds(dist, grid, found.span, found.mse)
    small, large = found.span
    outside = np.concatenate((np.geomspace(small * 1e-3, small, 40), np.geomspace(large, large * 1e3, 40)))
    assert quant_mses(dist, outside, grid).min() >= found.mse * (1 - 1e-12)


def test_the_integer_grid_value_is_the_papers_grid():
    for bits in (2, 4, 8):
        assert levels(Int(bits)).tolist() == levels(bits).tolist()
        for dist in DISTRIBUTIONS:
            assert optimal_delta(dist, Int(bits), 300) == optimal_delta(dist, bits, 300)


def test_formats_table():
    grids = [Int(4), E2M1, E4M3]
    table = formats_table(grids, [2.0, 100.0], scan_points=300)
    assert list(table.columns) == COLUMNS
    assert table["distribution"].tolist() == ["normal"] * 3 + ["student_t"] * 6
    assert table["format"].tolist()[:3] == ["int4", "fp4-e2m1", "fp8-e4m3"]
    assert table.loc[0, "quant_snr_db"] == pytest.approx(19.26, abs=0.01)  # NOTES.md: INT4 on the normal
    assert table.loc[0, "prune_snr_db"] == pytest.approx(5.58, abs=0.01)
    assert (table["sparsity"] == 1 - table["bits"] / 16).all()
    assert (table["winner"] == np.where(table["quant_snr_db"] >= table["prune_snr_db"], "quant", "prune")).all()
    heavy = table[(table["r"] == 100.0) & (table["format"] == "int4")].iloc[0]
    assert heavy["winner"] == "prune"  # Fig. 2: at high kurtosis pruning wins at 4 bits
