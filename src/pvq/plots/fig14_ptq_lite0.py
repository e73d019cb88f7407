"""Fig. 14 (beyond the paper): whole-model post-training compression at equal storage.

Three panels against the bit width b (the storage of b-bit quantization; pruning at sparsity
1 - b/16): top-1 agreement with the uncompressed model on held-out photos, KL divergence from it
(log scale) and logit SNR. One line per method (``ptq/<model>.csv``): quantization in blue shades,
pruning in red shades, the joint method in purple.
"""

from __future__ import annotations

from pvq.plots.style import panels

INPUTS = ("ptq",)
STYLES = {  # method -> (label, colour, marker, line style)
    "rtn": ("RTN", "#8fb3dc", "o", "--"),
    "gptq": ("GPTQ", "#1f5fa8", "o", "-"),
    "magnitude": ("magnitude", "#eca08f", "v", "--"),
    "wanda": ("Wanda", "#d8684f", "v", ":"),
    "sparsegpt": ("SparseGPT", "#a4281c", "v", "-"),
    "sparsegpt+gptq": ("SparseGPT + GPTQ (50%, 2b bits)", "#8a5fb0", "s", "-"),
}
PANELS = (("agree", "top-1 agreement (%)"), ("kl", "KL to uncompressed (nats)"), ("logit_snr_db", "logit SNR (dB)"))


def draw(ptq):
    fig, axes = panels(3)
    methods = [m for m in STYLES if m in set(ptq["method"])] + sorted(set(ptq["method"]) - set(STYLES))
    for ax, (column, label) in zip(axes, PANELS):
        for method in methods:
            rows = ptq[ptq["method"] == method].sort_values("bits")
            name, colour, marker, line = STYLES.get(method, (method, "k", "x", "-"))
            ax.plot(rows["bits"], rows[column], marker=marker, ms=3.5, color=colour, ls=line, label=name)
        ax.set_xlabel("b (bits; pruning: sparsity 1 - b/16)")
        ax.set_ylabel(label)
        ax.set_xticks(sorted(set(ptq["bits"])))
    axes[1].set_yscale("log")
    axes[0].set_ylim(-3, 103)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(methods), frameon=False)
    return fig
