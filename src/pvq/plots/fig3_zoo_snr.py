"""Fig. 3 (left): pruning SNR against quantization SNR for every weight tensor, one colour per bit width.

Points above the diagonal are tensors where magnitude pruning at sparsity 1 - b/16 has the higher SNR
than b-bit MSE-optimal quantization. ``masked=True`` charges pruning for its mask (one bit per weight).
"""

from __future__ import annotations

import numpy as np

from pvq.plots.style import NEUTRAL, PANEL_HEIGHT, bits_colors, panels

INPUTS = ("zoo",)


def prune_column(masked: bool) -> str:
    """The zoo sweep's pruning SNR column drawn: idealised, or with the 1-bit-per-weight mask counted."""
    return "prune_snr_db_masked" if masked else "prune_snr_db"


def draw(zoo, masked: bool = False):
    prune = prune_column(masked)
    finite = zoo[np.isfinite(zoo["quant_snr_db"]) & np.isfinite(zoo[prune])]
    fig, ax = panels(1, width=3.6, height=PANEL_HEIGHT * 1.4)
    colours = bits_colors(finite["bits"])
    for bits, rows in finite.groupby("bits"):
        wins = (rows[prune] > rows["quant_snr_db"]).mean()
        ax.scatter(rows["quant_snr_db"], rows[prune], s=6, color=colours[bits], alpha=0.7, linewidths=0,
                   rasterized=True, label=f"INT{bits} ({wins:.0%})")
    low = min(finite["quant_snr_db"].min(), finite[prune].min()) - 1
    high = max(finite["quant_snr_db"].max(), finite[prune].max()) + 1
    ax.plot([low, high], [low, high], color=NEUTRAL, lw=0.8, ls="--", zorder=0)
    ax.text(0.04, 0.96, "pruning better", transform=ax.transAxes, va="top", color=NEUTRAL)
    ax.text(0.96, 0.04, "quantization better", transform=ax.transAxes, ha="right", color=NEUTRAL)
    ax.set(xlim=(low, high), ylim=(low, high), aspect="equal", xlabel="quantization SNR (dB)",
           ylabel="pruning SNR (dB)" + (", mask counted" if masked else ""))
    models, tensors = finite["model"].nunique(), len(finite[["model", "tensor"]].drop_duplicates())
    ax.set_title(f"{tensors} tensors of {models} "
                 f"model{'s' if models > 1 else ''}" + ("\npruning pays 1 bit per weight for its mask" if masked else ""),
                 fontsize=8)
    ax.legend(title="bits (pruning wins)", frameon=False, loc="upper left", bbox_to_anchor=(0.0, 0.92),
              markerscale=2, fontsize=6, title_fontsize=6)
    dropped = len(zoo) - len(finite)
    if dropped:
        ax.annotate(f"{dropped} rows with an infinite or undefined SNR not drawn", (0.96, 0.10), ha="right",
                    xycoords="axes fraction", fontsize=6, color=NEUTRAL)
    return fig
