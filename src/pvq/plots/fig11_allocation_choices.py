"""Fig. 11 (beyond the paper): the MILP's choice per tensor against its kurtosis and size, at three budgets.

x = plain sample kurtosis (log), y = number of weights (log); colour: quantization, pruning, pruning
then quantization, FP16; marker: model. Dashed: the zoo's kurtosis boundary (Fig. 3 right, mask
counted) at the budget's bit width, above which the rule of thumb prunes; it and the share of weights
in pruned tensors come from the stage's summary (``choices_summary``, pvq.allocation.summary).
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

from pvq.plots.style import NEUTRAL, PANEL_HEIGHT, PRUNE, QUANT, WIDTH_FULL, panels

INPUTS = ("choices", "choices_summary")
CHOICES = {"quant": ("quantization", QUANT), "prune": ("pruning", PRUNE),
           "prune_quant": ("pruning + quantization", "#8a5fb0"), "fp16": ("FP16", NEUTRAL)}
MARKERS = ("o", "s", "^", "D", "v", "P")


def shown_budgets(budgets, count: int = 3) -> list[float]:
    """Up to ``count`` budgets spread over the sweep, the largest (often everything at 8 bits) left out
    when there are more than ``count``."""
    budgets = sorted(set(float(b) for b in budgets))
    pool = budgets[:-1] if len(budgets) > count else budgets
    picks = np.unique(np.round(np.linspace(0, len(pool) - 1, min(count, len(pool)))).astype(int))
    return [pool[i] for i in picks]


def draw(choices, choices_summary):
    budgets = shown_budgets(choices["budget_bits"])
    summary = choices_summary.set_index("budget_bits")
    models = list(dict.fromkeys(choices["model"]))
    fig, axes = panels(len(budgets), width=min(WIDTH_FULL, 2.4 * len(budgets) + 0.6), height=PANEL_HEIGHT * 1.2,
                       sharex=True, sharey=True, squeeze=False)
    for ax, budget in zip(axes[0], budgets):
        rows = choices[choices["budget_bits"] == budget]
        for choice, (label, colour) in CHOICES.items():
            for model, marker in zip(models, MARKERS):
                subset = rows[(rows["choice"] == choice) & (rows["model"] == model)]
                ax.scatter(subset["kurtosis"], subset["numel"], s=12, marker=marker, color=colour, alpha=0.75,
                           lw=0, label=label if model == models[0] else None)
        threshold = summary.loc[budget, "kurtosis_boundary"]
        if np.isfinite(threshold):
            ax.axvline(threshold, color="k", ls="--", lw=0.8, label="zoo: pruning favoured above")
        share = summary.loc[budget, "pruned_share"]
        ax.set(xscale="log", yscale="log", xlabel="sample kurtosis",
               title=f"{budget:g} bits/weight: {100 * share:.0f}% of weights\nin tensors that are pruned")
    low, high = choices["kurtosis"].min(), choices["kurtosis"].max()
    ticks = [t for t in (1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000) if 0.8 * low <= t <= 1.25 * high]
    for ax in axes[0]:
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(lambda value, _: f"{value:g}")
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_minor_formatter(NullFormatter())
    axes[0][0].set_ylabel("weights in tensor")
    handles, labels = [], []
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    for model, marker in zip(models, MARKERS):
        handles.append(axes[0][0].scatter([], [], marker=marker, color="k", s=12))
        labels.append(model.replace("_", "-"))
    fig.legend(handles, labels, loc="outside lower center", ncol=4, frameon=False)
    return fig
