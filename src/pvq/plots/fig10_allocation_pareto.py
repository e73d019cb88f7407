"""Fig. 10 (beyond the paper): model weight SNR against bits per weight, per allocation strategy.

One column per model; x = storage the allocation uses / number of weights (masks and scales counted),
top: y = -10 log10(model error / normaliser), the size-weighted mean NSR in dB (``snr_db`` of the CSV);
bottom: against the budget, each strategy's SNR minus that of the best bit width per tensor at the same budget (what
pruning adds; pruning only, far below, left out). Budgets a strategy cannot meet are named in the panel.
For a model with measured accuracy (the trained digits model), one more column: top, its test
accuracy with each allocation applied (no fine-tuning) against bits per weight, FP accuracy dashed;
bottom, the accuracy drop against the weight SNR, with the rank correlation of the ``accuracy`` table.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from pvq.plots.style import NEUTRAL, PANEL_HEIGHT, PRUNE, QUANT, WIDTH_FULL

INPUTS = ("allocation",)
STYLES = {  # strategy: (label, colour, line style, marker)
    "milp": ("optimal (MILP)", "k", "-", "o"),
    "greedy": ("greedy (Lagrangian)", NEUTRAL, "--", "x"),
    "quant_per_tensor": ("quantization, bits per tensor", QUANT, "-", "s"),
    "quant_only": ("quantization, one bit width", "#7fa6d6", ":", "s"),
    "kurtosis_rule": ("kurtosis rule (Fig. 3 right)", "#8a5fb0", "-.", "^"),
    "prune_only": ("pruning only", PRUNE, "-", "v"),
}


def draw(allocation, accuracy=None):
    models = list(dict.fromkeys(allocation["model"]))
    measured = [model for model in models
                if np.isfinite(allocation.loc[allocation["model"] == model, "test_accuracy"]).any()]
    columns = len(models) + len(measured)
    fig, axes = plt.subplots(2, columns, figsize=(min(WIDTH_FULL, 2.6 * columns + 1.2), PANEL_HEIGHT * 2.1),
                             squeeze=False, constrained_layout=True, gridspec_kw={"height_ratios": [1.6, 1]})
    for row in axes:
        for ax in row[1:len(models)]:
            ax.sharey(row[0])
            ax.tick_params(labelleft=False)
    for top, bottom, model in zip(axes[0][len(models):], axes[1][len(models):], measured):
        draw_accuracy(top, bottom, allocation[allocation["model"] == model], accuracy, model)
    for top, bottom, model in zip(axes[0], axes[1], models):
        rows = allocation[allocation["model"] == model]
        reference = rows[rows["strategy"] == "quant_per_tensor"].set_index("budget_bits")["snr_db"]
        missing = []
        for strategy, (label, colour, style, marker) in STYLES.items():
            line = rows[rows["strategy"] == strategy].sort_values("budget_bits")
            solved = line[np.isfinite(line["snr_db"])]
            order = 3 if strategy == "milp" else 2
            top.plot(solved["average_bits"], solved["snr_db"], color=colour, ls=style, marker=marker, ms=3,
                     lw=1.0, label=label, zorder=order)
            if strategy != "prune_only":
                gain = solved["snr_db"].to_numpy() - reference.reindex(solved["budget_bits"]).to_numpy()
                bottom.plot(solved["budget_bits"], gain, color=colour, ls=style, marker=marker, ms=3, lw=1.0,
                            zorder=order)
            if len(solved) < len(line):
                budgets = ", ".join(f"{b:g}" for b in line.loc[~np.isfinite(line["snr_db"]), "budget_bits"])
                missing.append(f"{label}: none at {budgets}")
        if missing:
            top.text(0.98, 0.03, "infeasible\n" + "\n".join(missing), transform=top.transAxes, ha="right",
                     va="bottom", fontsize=5.5, color=NEUTRAL)
        top.set_title(model.replace("_", "-"))
        top.set_xlabel("bits per weight used")
        bottom.set_xlabel("budget (bits/weight)")
    axes[0][0].set_ylabel("model weight SNR (dB)")
    axes[1][0].set_ylabel("gain over quantization,\nbits per tensor (dB)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, frameon=False)
    return fig


def draw_accuracy(top, bottom, rows, accuracy, model):
    """Test accuracy per strategy against bits per weight (top) and its drop against the weight SNR (bottom)."""
    correlation = None
    if accuracy is not None:
        correlation = accuracy[(accuracy["model"] == model)].set_index("strategy")
    fp = float(correlation.loc["all", "fp_accuracy"]) if correlation is not None and len(correlation) else np.nan
    for strategy, (label, colour, style, marker) in STYLES.items():
        line = rows[(rows["strategy"] == strategy) & np.isfinite(rows["test_accuracy"])].sort_values("budget_bits")
        top.plot(line["average_bits"], line["test_accuracy"], color=colour, ls=style, marker=marker, ms=3, lw=1.0,
                 zorder=3 if strategy == "milp" else 2)
        if np.isfinite(fp):
            bottom.plot(line["snr_db"], fp - line["test_accuracy"], color=colour, ls="none", marker=marker, ms=3)
    if np.isfinite(fp):
        top.axhline(fp, color="k", ls="--", lw=0.8)
        top.text(0.03, fp, f"FP {fp:.1f} %", transform=top.get_yaxis_transform(), ha="left", va="top", fontsize=6)
        rho = correlation.loc["all", "spearman_rho"]
        bottom.text(0.98, 0.5, f"Spearman rho (error, drop)\n= {rho:.2f}, {int(correlation.loc['all', 'points'])} points",
                    transform=bottom.transAxes, ha="right", va="center", fontsize=6)
        bottom.set_ylabel("accuracy drop (points)")
    top.set_title(f"{model.replace('_', '-')}: test accuracy")
    top.set_xlabel("bits per weight used")
    top.set_ylabel("top-1 accuracy (%)")
    bottom.set_xlabel("model weight SNR (dB)")
