"""Fig. 15 (beyond the paper): the allocation with today's formats as options, beside the paper's options.

One column per model. Top: model weight SNR (size-weighted mean NSR in dB) against the bits per weight
the allocation uses, for the MILP over every configured method spec, over one family of specs, one spec
everywhere (the best that fits), and the paper's MILP (per-tensor INT, unstructured pruning, both, FP16)
at the same budgets. Bottom: the share of the model's weights per family in the formats MILP's picks,
per budget (``formats_shares``, summed over its specs).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from pvq.plots.style import NEUTRAL, PANEL_HEIGHT, PRUNE, QUANT, WIDTH_FULL

INPUTS = ("allocation", "allocation_formats", "formats_shares")
JOINT = "#8a5fb0"
FAMILIES = {"quant": ("quantization", QUANT), "prune": ("pruning", PRUNE), "joint": ("pruning + quantization", JOINT)}
STYLES = {  # strategy of the formats variant: (label, colour, line style, marker)
    "milp": ("formats: optimal (MILP)", "k", "-", "o"),
    "milp_quant": ("formats: quantization only (MILP)", QUANT, "-", "s"),
    "milp_prune": ("formats: pruning only (MILP)", PRUNE, "-", "v"),
    "milp_joint": ("formats: pruning + quantization only (MILP)", JOINT, "-", "D"),
    "uniform": ("formats: one spec everywhere", NEUTRAL, ":", "x"),
}


def draw(allocation, allocation_formats, formats_shares):
    models = list(dict.fromkeys(allocation_formats["model"]))
    fig, axes = plt.subplots(2, len(models), figsize=(min(WIDTH_FULL, 2.6 * len(models) + 1.2), PANEL_HEIGHT * 2.1),
                             squeeze=False, constrained_layout=True, gridspec_kw={"height_ratios": [1.6, 1]})
    for top, bottom, model in zip(axes[0], axes[1], models):
        rows = allocation_formats[allocation_formats["model"] == model]
        for strategy, (label, colour, style, marker) in STYLES.items():
            line = rows[(rows["strategy"] == strategy) & np.isfinite(rows["snr_db"])].sort_values("budget_bits")
            top.plot(line["average_bits"], line["snr_db"], color=colour, ls=style, marker=marker, ms=3, lw=1.0,
                     label=label, zorder=3 if strategy == "milp" else 2)
        paper = allocation[(allocation["model"] == model) & (allocation["strategy"] == "milp")
                           & np.isfinite(allocation["snr_db"])].sort_values("budget_bits")
        top.plot(paper["average_bits"], paper["snr_db"], color="k", ls="--", lw=0.9, marker="o", mfc="none", ms=3,
                 label="paper's options: optimal (MILP)", zorder=1)
        top.set_title(model.replace("_", "-"))
        top.set_xlabel("bits per weight used")
        shares = formats_shares[formats_shares["model"] == model]
        budgets = sorted(shares["budget_bits"].unique())
        base = np.zeros(len(budgets))
        width = 0.8 * (min(np.diff(budgets)) if len(budgets) > 1 else 1.0)
        for family, (label, colour) in FAMILIES.items():
            part = shares[shares["family"] == family].groupby("budget_bits")["weight_share"].sum()
            height = 100 * part.reindex(budgets, fill_value=0.0).to_numpy()
            bottom.bar(budgets, height, width=width, bottom=base, color=colour, label=label)
            base += height
        bottom.set(xlabel="budget (bits/weight)", ylim=(0, 100))
    axes[0][0].set_ylabel("model weight SNR (dB)")
    axes[1][0].set_ylabel("formats MILP: weights\nper family (%)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    bars = axes[1][0].get_legend_handles_labels()
    fig.legend(handles + bars[0], labels + bars[1], loc="outside lower center", ncol=3, frameon=False)
    return fig
