"""Every grid format against pruning on the normal and the truncated t, exactly (beyond the paper).

For each distribution and grid (``pvq.methods.grids``: the paper's integers, the FP8/FP6/FP4
formats) the per-tensor quantizer with the MSE-optimal scale (``pvq.analytic.errors.optimal_delta``:
the same cell-by-cell partial moments and proven bracket as the integers), against magnitude pruning
at the sparsity of the same storage: 1 - b / B (the paper's ratio, mask free) and 1 - (b - 1) / B
(FP16 values plus a one-bit mask), B the baseline bits. A per-tensor scale costs nothing per weight
on a distribution (one number for infinitely many weights).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pvq.analytic.artifacts import ANALYTIC_FORMATS
from pvq.analytic.distributions import Normal, TruncatedStudentT2, kurtosis
from pvq.analytic.errors import optimal_delta, prune_mse
from pvq.metrics import snr_db
from pvq.methods.spec import format_grid

COLUMNS = list(ANALYTIC_FORMATS.columns)


def compare_formats(dist, grids, baseline_bits: int = 16, scan_points: int = 2000) -> list[dict]:
    """One row per grid on ``dist`` (COLUMNS without the distribution's own three)."""
    power = dist.second_moment()
    rows = []
    for grid in grids:
        fit = optimal_delta(dist, grid, scan_points)
        quant = float(snr_db(power, fit.mse))
        sparsity = 1.0 - grid.bits / baseline_bits
        masked = min(1.0 - (grid.bits - 1) / baseline_bits, 1.0)
        prune = float(snr_db(power, prune_mse(dist, sparsity).mse))
        prune_masked = float(snr_db(power, prune_mse(dist, masked).mse)) if masked < 1.0 else 0.0
        rows.append({"format": format_grid(grid), "bits": grid.bits, "scale": fit.delta, "quant_snr_db": quant,
                     "sparsity": sparsity, "prune_snr_db": prune, "sparsity_masked": masked,
                     "prune_snr_db_masked": prune_masked,
                     "winner": "quant" if quant >= prune else "prune",
                     "winner_masked": "quant" if quant >= prune_masked else "prune"})
    return rows


def formats_table(grids, ranges, baseline_bits: int = 16, scan_points: int = 2000) -> pd.DataFrame:
    """The standard normal (r empty), then the nu = 2 t truncated to [-r, r] for each r."""
    dists = [Normal(), *(TruncatedStudentT2(float(r)) for r in ranges)]
    rows = []
    for dist in dists:
        head = {"distribution": dist.name, "r": getattr(dist, "r", np.nan), "kurtosis": kurtosis(dist)}
        rows += [{**head, **row} for row in compare_formats(dist, grids, baseline_bits, scan_points)]
    return pd.DataFrame(rows, columns=COLUMNS)
