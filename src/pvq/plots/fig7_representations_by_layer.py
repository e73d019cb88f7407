"""Fig. 7 (App. H/I; Fig. 8 of the later version): per layer, the distance of the compressed model's
activations to the original model's during fine-tuning (epoch 0: compressed once, not yet trained),
for QAT and for gradual pruning at one bit width; one pair of rows (SNR, CKA) per model, the line the
mean over seeds and the band their range."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

from pvq.plots.style import METHOD_LABELS, PANEL_HEIGHT, WIDTH_FULL
from pvq.plots.summaries import REPRESENTATION_METRICS as METRICS
from pvq.plots.summaries import over_seeds

INPUTS = ("representations",)


def draw(representations):
    models = list(dict.fromkeys(representations["model"]))
    fig, axes = plt.subplots(2 * len(models), 2, figsize=(WIDTH_FULL, 1.6 * PANEL_HEIGHT * len(models)),
                             constrained_layout=True, sharex="row", squeeze=False)
    cmap = plt.get_cmap("viridis")
    for m, model in enumerate(models):
        table = representations[representations["model"] == model]
        layers = table.drop_duplicates("layer_index").sort_values("layer_index")["layer"].tolist()
        colours = {name: cmap(0.9 * i / max(len(layers) - 1, 1)) for i, name in enumerate(layers)}
        bits = ", ".join(str(b) for b in sorted(table["bits"].unique()))
        seeds = table["seed"].nunique()
        summary = over_seeds(table, ["method", "layer", "layer_index", "epoch"]).sort_values(["layer_index", "epoch"])
        for col, method in enumerate(["quant", "prune"]):
            rows = summary[summary["method"] == method]
            for layer, curve in rows.groupby("layer", sort=False):
                for r, (metric, _) in enumerate(METRICS):
                    ax = axes[2 * m + r, col]
                    ax.plot(curve["epoch"], curve[(metric, "mean")], marker="o", markersize=2.5,
                            color=colours[layer], label=layer.lstrip("_"))  # matplotlib hides "_..." labels
                    ax.fill_between(curve["epoch"], curve[(metric, "min")], curve[(metric, "max")],
                                    color=colours[layer], alpha=0.15, linewidth=0)
            title = METHOD_LABELS[method] + (f", INT{bits}" if method == "quant" else f", {bits}-bit size")
            axes[2 * m, col].set_title(f"{model}: {title} ({seeds} seeds)")
            axes[2 * m + 1, col].set_xlabel("fine-tuning epoch (0: compressed, not yet fine-tuned)")
            axes[2 * m + 1, col].xaxis.set_major_locator(MaxNLocator(integer=True))
        for r, (_, label) in enumerate(METRICS):
            axes[2 * m + r, 0].set_ylabel(label)
        axes[2 * m, 1].legend(title="layer", frameon=False, ncol=2, fontsize=6)
    fig.suptitle("representations during fine-tuning: mean over seeds, band = their range", fontsize=9)
    return fig
