"""Fig. 6 (App. D): one layer quantized or pruned at a time, no fine-tuning; that layer's output SNR
against the whole model's metric drop, one row per model, with each correlation's 95 % interval."""

from __future__ import annotations

import matplotlib.pyplot as plt

from pvq.plots.style import METHOD_COLORS, METHOD_LABELS, PANEL_HEIGHT, WIDTH_FULL

INPUTS = ("sensitivity", "correlation")
METRIC_WORDS = {"digits_resnet": "accuracy drop (points)",
                "efficientnet_lite0": "drop in top-1 agreement with the FP model (points)"}


def _label(method: str, stats, name: str, column: str) -> str:
    """e.g. 'pruning: Spearman -0.81 [-0.90, -0.68]' from the correlation table's r, _lo, _hi columns."""
    return f"{METHOD_LABELS[method]}: {name} {stats[column]:.2f} [{stats[column + '_lo']:.2f}, {stats[column + '_hi']:.2f}]"


def draw(sensitivity, correlation):
    models = list(dict.fromkeys(sensitivity["model"]))
    fig, axes = plt.subplots(len(models), 2, figsize=(WIDTH_FULL, PANEL_HEIGHT * len(models)),
                             constrained_layout=True, squeeze=False)
    for (left, right), model in zip(axes, models):
        rows, stats_of = sensitivity[sensitivity["model"] == model], correlation[correlation["model"] == model]
        for method, group in rows.groupby("method"):
            stats = stats_of[stats_of["method"] == method].iloc[0]
            left.scatter(group["snr_db"], group["metric_drop"], s=12, alpha=0.7, color=METHOD_COLORS[method],
                         label=_label(method, stats, "Spearman", "spearman_snr_drop"), edgecolors="none")
            right.scatter(group["nmse"], group["metric_drop"], s=12, alpha=0.7, color=METHOD_COLORS[method],
                          label=_label(method, stats, "Pearson", "pearson_nmse_drop"), edgecolors="none")
        ylabel = METRIC_WORDS.get(model, "metric drop (points)")
        left.set(xlabel="output SNR of the compressed layer (dB)", ylabel=ylabel,
                 title=f"{model}: one layer compressed, no fine-tuning")
        right.set(xscale="log", xlabel="normalised output MSE of the layer (linear-scale SNR)", ylabel=ylabel,
                  title=f"{model}: the same, against normalised MSE")
        left.legend(frameon=False, title="rank correlation [95 % interval]", title_fontsize=7)
        right.legend(frameon=False, title="linear correlation [95 % interval]", title_fontsize=7)
    return fig
