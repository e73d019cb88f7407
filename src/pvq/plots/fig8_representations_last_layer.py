"""Fig. 8 (App. H/I; Fig. 9 of the later version): the last non-classifier layer's distance to the
original model during fine-tuning, every bit width, QAT (solid) and gradual pruning (dashed); one row
per model, the line the mean over seeds and the band their range."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from pvq.plots.style import METHOD_LABELS, PANEL_HEIGHT, WIDTH_FULL, bits_colors
from pvq.plots.summaries import REPRESENTATION_METRICS as METRICS
from pvq.plots.summaries import over_seeds

INPUTS = ("representations",)
STYLES = {"quant": "-", "prune": "--"}


def draw(representations):
    models = list(dict.fromkeys(representations["model"]))
    fig, axes = plt.subplots(len(models), 2, figsize=(WIDTH_FULL, PANEL_HEIGHT * len(models)),
                             constrained_layout=True, squeeze=False)
    for (left, right), model in zip(axes, models):
        table = representations[representations["model"] == model]
        last = table[table["layer_index"] == table["layer_index"].max()]
        summary = over_seeds(last, ["method", "bits", "epoch"]).sort_values(["method", "bits", "epoch"])
        colours = bits_colors(last["bits"])
        for (method, bits), curve in summary.groupby(["method", "bits"]):
            for ax, (metric, _) in zip((left, right), METRICS):
                ax.plot(curve["epoch"], curve[(metric, "mean")], STYLES[method], color=colours[bits], marker="o",
                        markersize=2)
                ax.fill_between(curve["epoch"], curve[(metric, "min")], curve[(metric, "max")], color=colours[bits],
                                alpha=0.12, linewidth=0)
        layer, seeds = last["layer"].iloc[0], last["seed"].nunique()
        for ax, (metric, label) in zip((left, right), METRICS):
            ax.set(xlabel="fine-tuning epoch (0: compressed, not yet fine-tuned)", ylabel=label,
                   title=f"{model}, layer '{layer}' ({seeds} seeds)")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        bit_handles = [Line2D([], [], color=colours[b], label=f"{b} bits") for b in sorted(colours)]
        method_handles = [Line2D([], [], color="0.3", linestyle=STYLES[m], label=METHOD_LABELS[m])
                          for m in ("quant", "prune")]
        left.legend(handles=method_handles, frameon=False, loc="best")
        right.legend(handles=bit_handles, frameon=False, ncol=2, loc="best")
    return fig
