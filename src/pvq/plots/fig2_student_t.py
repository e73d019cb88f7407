"""Fig. 2: quantization vs pruning on the truncated Student's t (nu = 2), indexed by kurtosis.

Left: pruning SNR (hardly moved by outliers). Middle: quantization SNR (falls as outliers grow).
Right: which method has the higher SNR for each bit width and kurtosis.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import ListedColormap

from pvq.plots.style import PRUNE, QUANT, bits_colors, cell_edges, panels

INPUTS = ("student_t",)


def draw(student_t):
    fig, (left, middle, right) = panels(3)
    table = student_t.sort_values(["bits", "kurtosis"])
    colours = bits_colors(table["bits"])
    for bits, rows in table.groupby("bits"):
        sparsity = rows["sparsity"].iloc[0]
        left.plot(rows["kurtosis"], rows["prune_snr_db"], color=colours[bits], label=f"{sparsity:.1%}")
        middle.plot(rows["kurtosis"], rows["quant_snr_db"], color=colours[bits], label=f"INT{bits}")
    left.set(xscale="log", xlabel="kurtosis", ylabel="SNR (dB)", title="pruning")
    middle.set(xscale="log", xlabel="kurtosis", ylabel="SNR (dB)", title="quantization")
    left.legend(title="sparsity", frameon=False, ncol=2)
    middle.legend(frameon=False, ncol=2)

    kurt = np.sort(table["kurtosis"].unique())
    bits = np.sort(table["bits"].unique())
    wins = (table.pivot(index="bits", columns="kurtosis", values="winner")
            .reindex(index=bits, columns=kurt) == "prune").to_numpy(float)
    right.pcolormesh(cell_edges(np.log10(kurt)), cell_edges(bits), wins,
                     cmap=ListedColormap([QUANT, PRUNE]), vmin=0, vmax=1, alpha=0.8)
    ticks = [t for t in (3, 10, 30, 100) if kurt.min() <= t <= kurt.max()]
    right.set_xticks(np.log10(ticks), [str(t) for t in ticks])
    right.set_yticks(bits)
    right.grid(False)
    right.set(xlabel="kurtosis", ylabel="bits", title="higher SNR: quantization (blue) / pruning (red)")
    return fig
