"""Fig. 6 (App. D): one layer quantized or pruned at a time, no fine-tuning; that layer's output SNR
against the whole model's accuracy drop, with the rank correlation per method."""

from __future__ import annotations

from pvq.plots.style import METHOD_COLORS, METHOD_LABELS, panels

INPUTS = ("sensitivity", "correlation")


def draw(sensitivity, correlation):
    fig, (left, right) = panels(2)
    for method, rows in sensitivity.groupby("method"):
        stats = correlation[correlation["method"] == method].iloc[0]
        label = f"{METHOD_LABELS[method]} (Spearman {stats['spearman_snr_drop']:.2f})"
        left.scatter(rows["snr_db"], rows["metric_drop"], s=12, alpha=0.7, color=METHOD_COLORS[method],
                     label=label, edgecolors="none")
        right.scatter(rows["nmse"], rows["metric_drop"], s=12, alpha=0.7, color=METHOD_COLORS[method],
                      label=f"{METHOD_LABELS[method]} (Pearson {stats['pearson_nmse_drop']:.2f})",
                      edgecolors="none")
    models = ", ".join(sensitivity["model"].unique())
    left.set(xlabel="output SNR of the compressed layer (dB)", ylabel="accuracy drop (points)",
             title=f"{models}: one layer compressed, no fine-tuning")
    right.set(xscale="log", xlabel="normalised output MSE of the layer (linear-scale SNR)",
              ylabel="accuracy drop (points)", title="the same, against normalised MSE")
    left.legend(frameon=False)
    right.legend(frameon=False)
    return fig
