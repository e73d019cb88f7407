"""Fig. 4: per-layer post-training comparison with certified brackets, one panel per bit width.

Each rectangle is one chunk of one layer: x from magnitude pruning + refit to the certified pruning
optimum, y from the Park & Boyd quantization heuristic to the exact quantization optimum (sphere
decoder) or, where that hit its limit (hollow), the tighter of the SDP bound and the stopped
decoder's. Above the diagonal quantization wins whatever the optimiser, below it pruning does.
Dashed edges: a pruning search hit its time limit (its certified bound is drawn). Marks: today's
one-shot methods on the same chunk, at y = GPTQ and x = greedy OBS (what SparseGPT approximates),
Wanda + refit or Wanda; a mark left of or below its box does worse than the paper's heuristic.
The boxes and marks are computed by the stage (perlayer/chunk_boxes.csv); the title states the
chunks' size (`perlayer.chunk_features`), which sets how strong a bound the paper's chunking leaves.
"""

from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from pvq.plots.style import NEUTRAL, WIDTH_FULL
import matplotlib.pyplot as plt

INPUTS = ("perlayer_boxes",)
# One-shot pruning method -> its marker, each drawn at (its chunk SNR, GPTQ's chunk SNR).
MARKERS = {"prune_obs_db": ("o", "OBS / SparseGPT"), "prune_wanda_refit_db": ("^", "Wanda + refit"),
           "prune_wanda_db": ("v", "Wanda")}


def chunk_words(boxes) -> str:
    """What one box is in this run: its sub-problem dimensions n and output channels."""
    sizes = ", ".join(str(n) for n in sorted(boxes["n"].unique()))
    low, high = boxes["channels"].min(), boxes["channels"].max()
    channels = f"{low}" if low == high else f"{low}-{high}"
    return f"each box: one chunk of n = {sizes} input features x {channels} output channels"


def draw(perlayer_boxes):
    boxes = perlayer_boxes
    bits = sorted(boxes["bits"].unique())
    ncols = min(4, len(bits))
    nrows = int(np.ceil(len(bits) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(WIDTH_FULL, 1.75 * nrows + 0.9), squeeze=False,
                             constrained_layout=True)
    names = boxes["layer"] if boxes["model"].nunique() == 1 else boxes["model"] + " " + boxes["layer"]
    boxes = boxes.assign(name=names)
    layers = list(dict.fromkeys(names))
    cmap = plt.get_cmap("tab10")
    colour = {name: cmap(i % 10) for i, name in enumerate(layers)}
    finite = boxes[[c for c in boxes if c.endswith("_db")]].replace([np.inf, -np.inf], np.nan)
    top = np.nanmax(finite.to_numpy()) + 2
    for ax, b in zip(axes.flat, bits):
        panel = boxes[boxes["bits"] == b]
        lo = np.nanmin(finite.loc[panel.index].to_numpy()) - 2
        hi = np.nanmax(finite.loc[panel.index].to_numpy()) + 2
        least = 0.012 * (hi - lo)  # a collapsed box (both ends certified equal) stays visible
        for _, box in panel.iterrows():
            x0, x1 = box["prune_low_db"], min(box["prune_high_db"], top)
            y0, y1 = box["quant_low_db"], min(box["quant_high_db"], top)
            c = colour[box["name"]]
            width, height = max(x1 - x0, least), max(y1 - y0, least)
            ax.add_patch(Rectangle((x0 - (width - (x1 - x0)) / 2, y0 - (height - (y1 - y0)) / 2), width, height,
                                   facecolor=c if box["quant_exact"] else "none",
                                   alpha=0.6 if box["quant_exact"] else 1, edgecolor=c, linewidth=0.9,
                                   linestyle="-" if box["prune_certified"] else "--"))
            for column, (marker, _) in MARKERS.items():
                ax.plot(min(box[column], top), min(box["quant_gptq_db"], top), marker=marker, markersize=2.6,
                        markerfacecolor="white", markeredgecolor=c, markeredgewidth=0.7, linestyle="none")
        ax.plot([lo, hi], [lo, hi], color=NEUTRAL, linewidth=0.8, zorder=0)
        ax.set(xlim=(lo, hi), ylim=(lo, hi))
        ax.set_title(f"INT{b} vs {box['sparsity']:.1%} sparse", fontsize=8)
        ax.set_box_aspect(1)
    for ax in axes[:, 0]:
        ax.set_ylabel("quantization SNR (dB)")
    for ax in axes[-1, :]:
        ax.set_xlabel("pruning SNR (dB)")
    for ax in axes.flat[len(bits):]:
        ax.axis("off")
    handles = [Rectangle((0, 0), 1, 1, facecolor=colour[name], alpha=0.55, edgecolor=colour[name]) for name in layers]
    handles += [Rectangle((0, 0), 1, 1, facecolor="none", edgecolor="k"),
                Line2D([], [], color="k", linestyle="--", linewidth=0.9)]
    handles.append(Line2D([], [], color=NEUTRAL, linewidth=0.8))
    handles += [Line2D([], [], marker=marker, markersize=3, markerfacecolor="white", markeredgecolor="k",
                       linestyle="none") for marker, _ in MARKERS.values()]
    labels = layers + ["filled: exact quantization optimum; hollow: certified lower bound",
                       "dashed: pruning search hit its time limit",
                       "diagonal: above it quantization is better"]
    labels += [f"GPTQ vs {name}" for _, name in MARKERS.values()]
    fig.legend(handles, labels, loc="outside lower center", ncol=3, frameon=False, fontsize=6)
    fig.suptitle(chunk_words(boxes), fontsize=8)
    return fig
