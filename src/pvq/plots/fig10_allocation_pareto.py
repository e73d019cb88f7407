"""Fig. 10 (beyond the paper): model weight SNR against bits per weight, per allocation strategy.

One panel per model; x = storage the allocation uses / number of weights (masks and scales counted),
y = -10 log10(model error / normaliser), the size-weighted mean NSR in dB (``snr_db`` of the CSV).
Budgets a strategy cannot meet are named in the panel.
"""

from __future__ import annotations

import numpy as np

from pvq.plots.style import NEUTRAL, PANEL_HEIGHT, PRUNE, QUANT, WIDTH_FULL, panels

INPUTS = ("allocation",)
STYLES = {  # strategy: (label, colour, line style, marker)
    "milp": ("optimal (MILP)", "k", "-", "o"),
    "greedy": ("greedy (Lagrangian)", NEUTRAL, "--", "x"),
    "quant_per_tensor": ("quantization, bits per tensor", QUANT, "-", "s"),
    "quant_only": ("quantization, one bit width", "#7fa6d6", ":", "s"),
    "kurtosis_rule": ("kurtosis rule (Fig. 3 right)", "#8a5fb0", "-.", "^"),
    "prune_only": ("pruning only", PRUNE, "-", "v"),
}


def draw(allocation):
    models = list(dict.fromkeys(allocation["model"]))
    fig, axes = panels(len(models), width=min(WIDTH_FULL, 2.6 * len(models) + 1.2), height=PANEL_HEIGHT * 1.25,
                       sharey=True, squeeze=False)
    for ax, model in zip(axes[0], models):
        rows = allocation[allocation["model"] == model]
        missing = []
        for strategy, (label, colour, style, marker) in STYLES.items():
            line = rows[rows["strategy"] == strategy].sort_values("budget_bits")
            solved = line[np.isfinite(line["snr_db"])]
            ax.plot(solved["average_bits"], solved["snr_db"], color=colour, ls=style, marker=marker, ms=3,
                    lw=1.0, label=label, zorder=3 if strategy == "milp" else 2)
            if len(solved) < len(line):
                budgets = ", ".join(f"{b:g}" for b in line.loc[~np.isfinite(line["snr_db"]), "budget_bits"])
                missing.append(f"{label}: none at {budgets}")
        if missing:
            ax.text(0.98, 0.03, "infeasible\n" + "\n".join(missing), transform=ax.transAxes, ha="right",
                    va="bottom", fontsize=5.5, color=NEUTRAL)
        ax.set(title=model.replace("_", "-"), xlabel="bits per weight (storage used / weights)")
    axes[0][0].set_ylabel("model weight SNR (dB)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, frameon=False)
    return fig
