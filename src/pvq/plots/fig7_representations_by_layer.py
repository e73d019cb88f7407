"""Fig. 7 (App. H/I; Fig. 8 of the later version): per layer, the distance of the compressed model's
activations to the original model's during fine-tuning (epoch 0: compressed once, not yet trained),
for QAT and for gradual pruning at one bit width."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

from pvq.plots.style import METHOD_LABELS, PANEL_HEIGHT, WIDTH_FULL

INPUTS = ("representations",)


def draw(representations):
    table = representations.sort_values(["method", "layer_index", "epoch"])
    fig, axes = plt.subplots(2, 2, figsize=(WIDTH_FULL, 1.8 * PANEL_HEIGHT), constrained_layout=True,
                             sharex=True, sharey="row")
    layers = table.drop_duplicates("layer_index").sort_values("layer_index")["layer"].tolist()
    cmap = plt.get_cmap("viridis")
    colours = {name: cmap(0.9 * i / max(len(layers) - 1, 1)) for i, name in enumerate(layers)}
    bits = ", ".join(str(b) for b in sorted(table["bits"].unique()))
    for col, method in enumerate(["quant", "prune"]):
        rows = table[table["method"] == method]
        for layer, curve in rows.groupby("layer", sort=False):
            for row, metric in enumerate(["snr_db", "cka"]):
                axes[row, col].plot(curve["epoch"], curve[metric], marker="o", markersize=2.5,
                                    color=colours[layer], label=layer)
        title = METHOD_LABELS[method] + (f", INT{bits}" if method == "quant" else f", {bits}-bit size")
        axes[0, col].set_title(title)
        axes[1, col].set_xlabel("fine-tuning epoch (0: compressed, not yet fine-tuned)")
    axes[1, 0].xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0, 0].set_ylabel("activation SNR to original (dB)")
    axes[1, 0].set_ylabel("linear CKA to original")
    axes[0, 1].legend(title="layer", frameon=False, ncol=2)
    models = ", ".join(table["model"].unique())
    fig.suptitle(f"{models}: representations during fine-tuning", fontsize=9)
    return fig
