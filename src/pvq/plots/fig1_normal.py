"""Fig. 1: quantization vs pruning on the standard normal.

Left: the law after b-bit quantization (mass per grid node, drawn as mass / step so it reads as a
density) and after pruning (tails kept, the pruned mass sits at zero). Middle: the squared error
weighted by probability, (w - F(w))^2 p(w). Right: SNR per bit width, pruning at 1 - b/16.
"""

from __future__ import annotations

import numpy as np

from pvq.plots.style import NEUTRAL, PRUNE, QUANT, panels

INPUTS = ("normal", "profile", "levels")


def draw(normal, profile, levels):
    fig, (left, middle, right) = panels(3)
    quant = levels[levels["method"] == "quant"]
    prune = levels[levels["method"] == "prune"].iloc[0]
    bits, delta = int(quant["bits"].iloc[0]), float(quant["delta"].iloc[0])
    sparsity, threshold = float(prune["sparsity"]), float(prune["threshold"])
    quant_label = f"INT{bits}"
    prune_label = f"{sparsity:.0%} pruning"

    w, pdf = profile["w"].to_numpy(), profile["pdf"].to_numpy()
    left.fill_between(w, pdf, color=NEUTRAL, alpha=0.25, lw=0, label="N(0, 1)")
    left.vlines(quant["value"], 0, quant["probability"] / delta, color=QUANT, lw=1.6,
                label=f"{quant_label} (mass / step)")
    kept = np.abs(w) > threshold
    left.plot(np.where(kept, w, np.nan), np.where(kept, pdf, np.nan), color=PRUNE, label=prune_label)
    top = 1.15 * max(pdf.max(), (quant["probability"] / delta).max())
    left.annotate(f"{sparsity:.0%} of mass at 0", xy=(0, top * 0.97), xytext=(1.2, top * 0.9),
                  color=PRUNE, fontsize=7, arrowprops={"arrowstyle": "->", "color": PRUNE})
    left.axvline(0, color=PRUNE, lw=1.6, ymax=0.97)
    left.set(xlabel="w", ylabel="density", ylim=(0, top), title="distributions")
    left.legend(loc="upper left", frameon=False)

    for column, colour, label in (("quant_w", QUANT, quant_label), ("prune_w", PRUNE, prune_label)):
        middle.plot(w, (w - profile[column]) ** 2 * pdf, color=colour, label=label)
    middle.set(xlabel="w", ylabel="(w - F(w))² p(w)", title="probability-weighted squared error")
    middle.legend(frameon=False)

    table = normal.sort_values("bits")
    right.plot(table["bits"], table["quant_snr_db"], "o-", color=QUANT, label="quantization")
    right.plot(table["bits"], table["prune_snr_db"], "s-", color=PRUNE, label="pruning")
    right.set_xticks(table["bits"])
    right.invert_xaxis()
    right.set(xlabel="bits (quantization)", ylabel="SNR (dB)", title="SNR vs compression")
    top = right.secondary_xaxis("top")
    top.set_xticks(table["bits"], [f"{100 * s:.3g}" for s in table["sparsity"]], fontsize=6)
    top.set_xlabel("sparsity % (pruning)", fontsize=7)
    right.legend(frameon=False)
    return fig
