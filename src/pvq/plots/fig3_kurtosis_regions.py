"""Fig. 3 (right): where in (kurtosis, bits) pruning is the likelier winner, from a kernel density estimate.

Colour: P(pruning has the higher SNR | kurtosis) per bit width, as the zoo's summary rule estimated it
(zoo/kurtosis_regions.csv, pvq.zoo.regions); red where pruning is preferable, blue where quantization is.
Black: the boundary kurtosis above which pruning is favoured; ticks at the bottom of each row: the
tensors themselves (white where pruning wins).
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import LinearSegmentedColormap

from pvq.plots.fig3_zoo_snr import prune_column
from pvq.plots.style import PANEL_HEIGHT, PRUNE, QUANT, cell_edges, panels

INPUTS = ("zoo", "zoo_regions")
WIN_MAP = LinearSegmentedColormap.from_list("quant_prune", [QUANT, "#f4f4f4", PRUNE])


def draw(zoo, zoo_regions, masked: bool = False):
    probability = zoo_regions[zoo_regions["mask_counted"] == masked]
    bits = np.sort(probability["bits"].unique())
    table = probability.pivot(index="bits", columns="kurtosis", values="p_prune").reindex(bits)
    kurt = table.columns.to_numpy()
    fig, ax = panels(1, width=3.9, height=PANEL_HEIGHT * 1.4)
    mesh = ax.pcolormesh(cell_edges(np.log10(kurt)), cell_edges(bits), table.to_numpy(), cmap=WIN_MAP,
                         vmin=0, vmax=1, rasterized=True)
    tensors = zoo[np.isfinite(zoo["kurtosis"]) & zoo["bits"].isin(bits)]
    wins = tensors[prune_column(masked)] > tensors["quant_snr_db"]
    for subset, colour, label in ((tensors[~wins], "k", "tensor: quantization wins"),
                                  (tensors[wins], "w", "tensor: pruning wins")):
        ax.scatter(np.log10(subset["kurtosis"]), subset["bits"] - 0.36, marker="|", s=16, lw=0.6,
                   color=colour, alpha=0.6, rasterized=True, label=label)
    boundary = probability.groupby("bits")["kurtosis_boundary"].first().reindex(bits)
    shown = boundary[np.isfinite(boundary)].clip(lower=kurt.min())  # 1.0: favoured from the left edge
    ax.plot(np.log10(shown.to_numpy()), shown.index, "k-", marker="o", ms=3, lw=1,
            label="pruning favoured above" if len(shown) else "pruning favoured nowhere")
    ticks = [t for t in (1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000) if kurt.min() <= t <= kurt.max()]
    ax.set_xticks(np.log10(ticks), [str(t) for t in ticks])
    ax.set_yticks(bits)
    ax.grid(False)
    ax.set(xlabel="sample kurtosis", ylabel="bits",
           title="where pruning wins" + (" (mask counted)" if masked else ""))
    ax.legend(frameon=True, facecolor="#bbbbbb", edgecolor="none", loc="upper left", fontsize=6)
    colourbar = fig.colorbar(mesh, ax=ax, pad=0.02)
    colourbar.set_label("P(pruning has the higher SNR)")
    return fig
