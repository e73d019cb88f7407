"""Fig. 13: today's formats on the per-layer problems, in Fig. 4's layout, one panel per layer and bit width.

Each rectangle is one chunk under one pairing of a pruning spec (x: the paper's unstructured sparsity
1 - b/16, or an N:M pattern) with a b-bit quantization spec (y: the paper's per-tensor scale, or one
scale per output channel), each side from its heuristic to its certified optimum (or certified bound).
Filled: both sides certified; hollow: a side is only bounded. The colour is the pairing; the legend
gives each spec's exact bits per weight. Above the diagonal quantization wins whatever the optimiser.
Marks, as in Fig. 4: today's one-shot methods on the same chunk and specs, at y = GPTQ (on the
quantization spec's grid) and x = greedy OBS (what SparseGPT approximates), Wanda + refit or Wanda
(with the pruning spec's pattern). The boxes and marks are computed by the stage
(perlayer/format_boxes.csv).
"""

from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from pvq.plots.fig4_perlayer import MARKERS
from pvq.plots.style import NEUTRAL, WIDTH_FULL
import matplotlib.pyplot as plt

INPUTS = ("format_boxes",)


def _bpw(values) -> str:
    low, high = float(np.min(values)), float(np.max(values))
    return f"{low:.2f}" if np.isclose(low, high, atol=5e-3) else f"{low:.2f}-{high:.2f}"


def draw(format_boxes):
    boxes = format_boxes.copy()
    boxes["name"] = boxes["layer"] if boxes["model"].nunique() == 1 else boxes["model"] + " " + boxes["layer"]
    boxes["pair"] = boxes["prune_spec"] + " vs " + boxes["quant_spec"]
    panels = list(dict.fromkeys(zip(boxes["bits"], boxes["name"])))
    pairs = list(dict.fromkeys(boxes.sort_values(["prune_spec", "quant_spec"])["pair"]))
    cmap = plt.get_cmap("tab10")
    colour = {pair: cmap(i % 10) for i, pair in enumerate(pairs)}
    ncols = min(3, len(panels))
    nrows = int(np.ceil(len(panels) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(WIDTH_FULL, 2.2 * nrows + 1.0), squeeze=False,
                             constrained_layout=True)
    ends = ["prune_low_db", "prune_high_db", "quant_low_db", "quant_high_db", "quant_gptq_db", *MARKERS]
    finite = boxes[ends].replace([np.inf, -np.inf], np.nan)
    top = np.nanmax(finite.to_numpy()) + 2
    for ax, (bits, name) in zip(axes.flat, panels):
        panel = boxes[(boxes["bits"] == bits) & (boxes["name"] == name)]
        lo = np.nanmin(finite.loc[panel.index].to_numpy()) - 2
        hi = np.nanmax(finite.loc[panel.index].to_numpy()) + 2
        least = 0.012 * (hi - lo)  # a collapsed box (both ends certified equal) stays visible
        for _, box in panel.iterrows():
            x0, x1 = min(box["prune_low_db"], top), min(box["prune_high_db"], top)  # exact fits (+inf) at the top
            y0, y1 = min(box["quant_low_db"], top), min(box["quant_high_db"], top)
            certified = bool(box["prune_certified"]) and bool(box["quant_exact"])
            c = colour[box["pair"]]
            width, height = max(x1 - x0, least), max(y1 - y0, least)
            ax.add_patch(Rectangle((x0 - (width - (x1 - x0)) / 2, y0 - (height - (y1 - y0)) / 2), width, height,
                                   facecolor=c if certified else "none", alpha=0.5 if certified else 1,
                                   edgecolor=c, linewidth=0.9))
            for column, (marker, _) in MARKERS.items():
                ax.plot(min(box[column], top), min(box["quant_gptq_db"], top), marker=marker, markersize=2.6,
                        markerfacecolor="white", markeredgecolor=c, markeredgewidth=0.7, linestyle="none")
        ax.plot([lo, hi], [lo, hi], color=NEUTRAL, linewidth=0.8, zorder=0)
        ax.set(xlim=(lo, hi), ylim=(lo, hi))
        ax.set_title(f"{name} (INT{bits})", fontsize=8)
        ax.set_box_aspect(1)
    for ax in axes[:, 0]:
        ax.set_ylabel("quantization SNR (dB)")
    for ax in axes[-1, :]:
        ax.set_xlabel("pruning SNR (dB)")
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    handles = [Rectangle((0, 0), 1, 1, facecolor=colour[pair], alpha=0.5, edgecolor=colour[pair]) for pair in pairs]
    labels = []
    for pair in pairs:
        rows = boxes[boxes["pair"] == pair]
        labels.append(f"{rows['prune_spec'].iloc[0]} ({_bpw(rows['prune_bits_per_weight'])} b/w) vs "
                      f"{rows['quant_spec'].iloc[0]} ({_bpw(rows['quant_bits_per_weight'])} b/w)")
    handles.append(Rectangle((0, 0), 1, 1, facecolor="none", edgecolor="k"))
    labels.append("hollow: a side only bounded (time limit); diagonal: above it quantization is better")
    handles += [Line2D([], [], marker=marker, markersize=3, markerfacecolor="white", markeredgecolor="k",
                       linestyle="none") for marker, _ in MARKERS.values()]
    labels += [f"GPTQ vs {name}" for _, name in MARKERS.values()]
    fig.legend(handles, labels, loc="outside lower center", ncol=2, frameon=False, fontsize=6)
    return fig
