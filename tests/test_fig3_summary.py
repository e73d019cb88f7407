"""Fig. 3 (right) reads its kernel density estimate from the zoo's summary (zoo/kurtosis_regions.csv):
the summary against scipy's own KDE, the boundary where that KDE crosses 1/2, and the figure drawing
exactly the summary's numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import QuadMesh
from scipy import stats

from pvq.plots import fig3_kurtosis_regions, fig3_kurtosis_regions_masked
from pvq.zoo.artifacts import ZOO_REGIONS
from pvq.zoo.regions import kurtosis_regions


def synthetic_zoo(seed: int = 0) -> pd.DataFrame:
    """Heavy-tailed kurtosis; pruning wins more often at high kurtosis, never at 8 bits; with the mask
    counted it wins less. Nasty rows: an undefined kurtosis, an infinite pruning SNR, a tie."""
    rng = np.random.default_rng(seed)
    rows = []
    for bits in (2, 4, 8):
        kurt = 1.5 + rng.pareto(1.2, size=90)
        x = np.log10(kurt)
        p_win = 0.0 if bits == 8 else 1 / (1 + np.exp(-6 * (x - 0.6 - 0.1 * bits)))
        wins = rng.random(kurt.size) < p_win
        quant = rng.normal(6 * bits, 2, kurt.size)
        prune = np.where(wins, quant + rng.uniform(0.1, 3, kurt.size), quant - rng.uniform(0.1, 3, kurt.size))
        rows.append(pd.DataFrame({"model": "m", "tensor": [f"t{i}" for i in range(kurt.size)], "bits": bits,
                                  "kurtosis": kurt, "quant_snr_db": quant, "prune_snr_db": prune,
                                  "prune_snr_db_masked": prune - 1.5}))
    zoo = pd.concat(rows, ignore_index=True)
    zoo.loc[0, "kurtosis"] = np.nan
    zoo.loc[1, "prune_snr_db"] = np.inf
    zoo.loc[2, "prune_snr_db"] = zoo.loc[2, "quant_snr_db"]  # a tie: quantization keeps it
    return zoo


def scipy_probability(zoo: pd.DataFrame, column: str, bits: int, grid_x: np.ndarray) -> np.ndarray:
    """P(prune wins | log10 kurtosis) from scipy's gaussian_kde with Scott's bandwidth of the bit
    width's pooled sample, each class's density weighted by its share."""
    ok = np.isfinite(zoo["kurtosis"]) & np.isfinite(zoo["quant_snr_db"]) & np.isfinite(zoo[column])
    rows = zoo[ok & (zoo["bits"] == bits)]
    x = np.log10(rows["kurtosis"].to_numpy())
    wins = (rows[column] > rows["quant_snr_db"]).to_numpy()
    h = np.std(x, ddof=1) * x.size ** -0.2
    joint = {}
    for side in (True, False):
        if not (wins == side).any():
            joint[side] = np.zeros_like(grid_x)
            continue
        kde = stats.gaussian_kde(x[wins == side], bw_method=h / np.std(x[wins == side], ddof=1))
        joint[side] = kde(grid_x) * np.mean(wins == side)
    return joint[True] / (joint[True] + joint[False])


@pytest.fixture(scope="module")
def zoo():
    return synthetic_zoo()


@pytest.fixture(scope="module")
def regions(zoo, tmp_path_factory):
    """The summary as the figure reads it: written and read back through its contract."""
    path = tmp_path_factory.mktemp("zoo") / "kurtosis_regions.csv"
    ZOO_REGIONS.write(kurtosis_regions(zoo), path)
    return ZOO_REGIONS.read(path)


@pytest.mark.parametrize("masked", [False, True])
def test_summary_probability_matches_scipys_kde(zoo, regions, masked):
    column = "prune_snr_db_masked" if masked else "prune_snr_db"
    mine = regions[regions["mask_counted"] == masked]
    assert sorted(mine["bits"].unique()) == [2, 4, 8]
    for bits, rows in mine.groupby("bits"):
        grid_x = np.log10(rows["kurtosis"].to_numpy())
        np.testing.assert_allclose(rows["p_prune"], scipy_probability(zoo, column, bits, grid_x), rtol=1e-9, atol=1e-12)
    assert (mine.loc[mine["bits"] == 8, "p_prune"] == 0).all()
    assert mine.loc[mine["bits"] == 8, "kurtosis_boundary"].isna().all()  # pruning never wins at 8 bits


@pytest.mark.parametrize("masked", [False, True])
def test_boundary_is_where_scipys_kde_crosses_one_half(zoo, regions, masked):
    """Above the boundary the KDE favours pruning on every grid point; at it, P = 1/2 up to the linear
    interpolation between two grid points."""
    column = "prune_snr_db_masked" if masked else "prune_snr_db"
    mine = regions[regions["mask_counted"] == masked]
    found = 0
    for bits, rows in mine.groupby("bits"):
        boundary = rows["kurtosis_boundary"].iloc[0]
        assert (rows["kurtosis_boundary"].isna().all() if np.isnan(boundary)
                else (rows["kurtosis_boundary"] == boundary).all())
        if np.isnan(boundary):
            assert scipy_probability(zoo, column, bits, np.log10(rows["kurtosis"].to_numpy()))[-1] <= 0.5
            continue
        found += 1
        above = rows["kurtosis"] > boundary
        assert (scipy_probability(zoo, column, bits, np.log10(rows.loc[above, "kurtosis"].to_numpy())) > 0.5).all()
        step = np.diff(np.log10(rows["kurtosis"].to_numpy()))[0]
        at = scipy_probability(zoo, column, bits, np.log10([boundary]))[0]
        slope = np.max(np.abs(np.diff(rows["p_prune"].to_numpy()))) / step
        assert abs(at - 0.5) <= slope * step  # linear interpolation error within one grid cell
    assert found >= 1


def test_the_mask_shrinks_where_pruning_wins(regions):
    idealised = regions[~regions["mask_counted"]].groupby("bits")["p_prune"].mean()
    masked = regions[regions["mask_counted"]].groupby("bits")["p_prune"].mean()
    assert (masked[[2, 4]] < idealised[[2, 4]]).all()


@pytest.mark.parametrize("figure, masked", [(fig3_kurtosis_regions, False), (fig3_kurtosis_regions_masked, True)])
def test_figure_draws_the_summarys_numbers(zoo, regions, figure, masked):
    fig = figure.draw(zoo, regions) if masked else figure.draw(zoo, regions, masked=False)
    ax = fig.axes[0]
    mesh = next(c for c in ax.collections if isinstance(c, QuadMesh))
    mine = regions[regions["mask_counted"] == masked]
    expected = mine.pivot(index="bits", columns="kurtosis", values="p_prune").sort_index().to_numpy()
    np.testing.assert_array_equal(np.asarray(mesh.get_array()).reshape(expected.shape), expected)
    line = next(line for line in ax.lines if line.get_marker() == "o")
    boundary = mine.groupby("bits")["kurtosis_boundary"].first().dropna()
    np.testing.assert_allclose(line.get_xdata(), np.log10(boundary.clip(lower=mine["kurtosis"].min())))
    np.testing.assert_array_equal(line.get_ydata(), boundary.index)

