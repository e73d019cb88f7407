"""Fig. 12 (beyond the paper): SNR against exact bits per weight of today's formats, per model.

One panel per model; a point per method spec (``formats/pareto.csv``: storage over weights, and the
size-weighted mean noise-to-signal ratio in dB), coloured by family; each family's Pareto front as a
line, and the points on the model's overall front ringed and named.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt

from pvq.plots.style import PANEL_HEIGHT, PRUNE, QUANT, WIDTH_FULL

INPUTS = ("pareto",)
FAMILIES = {"quant": ("quantization", QUANT, "o"), "prune": ("pruning", PRUNE, "v"),
            "joint": ("pruning + quantization", "#8a5fb0", "s")}


def draw(pareto):
    models = list(dict.fromkeys(pareto["model"]))
    columns = min(3, len(models))
    rows = math.ceil(len(models) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(WIDTH_FULL, PANEL_HEIGHT * 1.35 * rows), squeeze=False,
                             constrained_layout=True, sharey=True)
    for ax in axes.ravel()[len(models):]:
        ax.set_visible(False)
    for ax, model in zip(axes.ravel(), models):
        points = pareto[pareto["model"] == model]
        for family, (label, colour, marker) in FAMILIES.items():
            rows_ = points[points["family"] == family]
            if rows_.empty:
                continue
            ax.scatter(rows_["bits_per_weight"], rows_["snr_db"], s=9, color=colour, marker=marker, alpha=0.55,
                       linewidths=0, label=label)
            front = rows_[rows_["front_family"]].sort_values("bits_per_weight")
            ax.step(front["bits_per_weight"], front["snr_db"], where="post", color=colour, lw=1.0)
        best = points[points["front_all"]].sort_values("bits_per_weight")
        ax.scatter(best["bits_per_weight"], best["snr_db"], s=22, facecolors="none", edgecolors="k", linewidths=0.6,
                   zorder=3)
        for i, row in enumerate(best.itertuples()):  # alternately below and above: neighbours crowd
            ax.annotate(row.spec, (row.bits_per_weight, row.snr_db), xytext=(3, -3 if i % 2 else 4),
                        textcoords="offset points", fontsize=4.5, va="top" if i % 2 else "bottom")
        ax.set_title(model.replace("_", "-"))
        ax.set_xlabel("bits per weight (values, scales, masks)")
    for row in axes:
        row[0].set_ylabel("weight SNR (dB)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, frameon=False)
    return fig
