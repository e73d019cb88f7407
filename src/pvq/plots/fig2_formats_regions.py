"""Fig. 2 with formats as rows (beyond the paper): where each grid format beats magnitude pruning.

Rows: the grid formats (per-tensor, MSE-optimal scale), fewest bits at the bottom; columns: the
standard normal, then the truncated t (nu = 2) by kurtosis. Colour: quantization SNR minus pruning
SNR (dB; blue: quantization higher), the zero line drawn. Left: pruning at the paper's ratio
1 - b/16 (mask free); right: FP16 values plus a one-bit mask in the same b bits.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import TwoSlopeNorm

from pvq.plots.style import PANEL_HEIGHT, WIDTH_FULL, panels

INPUTS = ("analytic_formats",)


def draw(analytic_formats):
    table = analytic_formats.assign(
        column=analytic_formats["distribution"] + analytic_formats["r"].fillna(0).map("{:.6g}".format))
    order = table.drop_duplicates("column").sort_values(["distribution", "kurtosis"], key=_normal_first)
    columns = order["column"].tolist()
    rows = table.drop_duplicates("format").sort_values(["bits", "format"])["format"].tolist()
    fig, axes = panels(2, width=WIDTH_FULL, height=PANEL_HEIGHT * 1.3)
    differences = [table["quant_snr_db"] - table["prune_snr_db"], table["quant_snr_db"] - table["prune_snr_db_masked"]]
    limit = float(max(np.abs(d).max() for d in differences))
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-limit, vmax=limit)
    for ax, difference, title in zip(axes, differences, ("pruning at 1 - b/16 (mask free)", "pruning, 1-bit mask counted")):
        grid = (table.assign(d=difference).pivot(index="format", columns="column", values="d")
                .reindex(index=rows, columns=columns).to_numpy())
        mesh = ax.pcolormesh(np.arange(len(columns) + 1), np.arange(len(rows) + 1), grid, cmap="RdBu", norm=norm)
        ax.contour(np.arange(len(columns)) + 0.5, np.arange(len(rows)) + 0.5, grid, levels=[0.0], colors="k",
                   linewidths=0.8)
        ax.axvline(1.0, color="k", lw=0.6)
        ax.set_yticks(np.arange(len(rows)) + 0.5, rows)
        t_ticks = np.linspace(min(max(2, len(columns) // 6), len(columns) - 1), len(columns) - 1, min(4, len(columns) - 1))
        ticks = [0, *sorted(set(t_ticks.round().astype(int)) - {0})]
        ax.set_xticks(np.array(ticks) + 0.5, ["normal" if i == 0 else f"{order['kurtosis'].iloc[i]:.3g}" for i in ticks])
        ax.set_xlabel("distribution: normal | truncated t by kurtosis")
        ax.set_title(title)
        ax.grid(False)
    fig.colorbar(mesh, ax=axes, label="quantization - pruning SNR (dB)", shrink=0.9)
    return fig


def _normal_first(values):
    return values.map({"normal": 0, "student_t": 1}) if values.name == "distribution" else values
