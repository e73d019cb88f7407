"""Fig. 8 (App. H/I; Fig. 9 of the later version): the last non-classifier layer's distance to the
original model during fine-tuning, every bit width, QAT (solid) and gradual pruning (dashed)."""

from __future__ import annotations

from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from pvq.plots.style import METHOD_LABELS, bits_colors, panels

INPUTS = ("representations",)
STYLES = {"quant": "-", "prune": "--"}


def draw(representations):
    last = representations[representations["layer_index"] == representations["layer_index"].max()]
    last = last.sort_values(["method", "bits", "epoch"])
    fig, (left, right) = panels(2)
    colours = bits_colors(last["bits"])
    for (method, bits), curve in last.groupby(["method", "bits"]):
        for ax, metric in ((left, "snr_db"), (right, "cka")):
            ax.plot(curve["epoch"], curve[metric], STYLES[method], color=colours[bits], marker="o", markersize=2)
    layer = last["layer"].iloc[0]
    left.set(xlabel="fine-tuning epoch (0: compressed, not yet fine-tuned)", ylabel="activation SNR to original (dB)",
             title=f"layer '{layer}': SNR")
    right.set(xlabel="fine-tuning epoch (0: compressed, not yet fine-tuned)", ylabel="linear CKA to original",
              title=f"layer '{layer}': CKA")
    for ax in (left, right):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    bit_handles = [Line2D([], [], color=colours[b], label=f"{b} bits") for b in sorted(colours)]
    method_handles = [Line2D([], [], color="0.3", linestyle=STYLES[m], label=METHOD_LABELS[m])
                      for m in ("quant", "prune")]
    left.legend(handles=method_handles, frameon=False, loc="best")
    right.legend(handles=bit_handles, frameon=False, ncol=2, loc="best")
    return fig
