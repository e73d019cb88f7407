"""App. D: compress one layer at a time, without fine-tuning, and relate its output error to the
full model's accuracy drop (the assumption behind the per-layer SNR comparisons of §4).

Per (layer, method, bits): the layer's output on held-out inputs against the FP model's,
nmse = sum (y - y_hat)^2 / sum y^2 (the paper's "linear-scale SNR") and snr_db = -10 log10(nmse);
and the test metric of the whole model with only that layer compressed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from scipy import stats

from pvq.finetune.evaluate import evaluate
from pvq.finetune.oneshot import METHODS, compress_model
from pvq.finetune.representations import capture_activations
from pvq.prune import sparsity_for_bits


def layer_sensitivity(model: torch.nn.Module, task, layer_names, bits_list, baseline_bits: int = 16,
                      log=print) -> pd.DataFrame:
    """One row per (layer, method, bits): nmse, snr_db, metric, fp_metric, metric_drop."""
    fp_metric = evaluate(model, task.held_out("test"))
    inputs = task.representation_inputs()
    reference = capture_activations(model, layer_names, inputs)
    rows = []
    for index, name in enumerate(layer_names):
        for method in METHODS:
            for bits in bits_list:
                compressed = compress_model(model, [name], method, bits, baseline_bits)
                out = capture_activations(compressed, [name], inputs)[name]
                ref = reference[name]
                nmse = float(np.sum((ref - out) ** 2) / np.sum(ref**2))
                metric = evaluate(compressed, task.held_out("test"))
                rows.append({"layer": name, "layer_index": index, "method": method, "bits": bits,
                             "sparsity": sparsity_for_bits(bits, baseline_bits) if method == "prune" else 0.0,
                             "nmse": nmse, "snr_db": float(-10 * np.log10(nmse)) if nmse > 0 else np.inf,
                             "metric": metric, "fp_metric": fp_metric, "metric_drop": fp_metric - metric})
        log(f"layer {name}: done ({index + 1}/{len(layer_names)})")
    return pd.DataFrame(rows)


def sensitivity_correlation(table: pd.DataFrame) -> pd.DataFrame:
    """Pearson correlation of nmse with the metric drop and Spearman of snr_db with it, per method and pooled."""
    rows = []
    for method, group in [*table.groupby("method"), ("both", table)]:
        finite = group[np.isfinite(group["snr_db"])]
        pearson = stats.pearsonr(finite["nmse"], finite["metric_drop"]).statistic if len(finite) > 2 else np.nan
        spearman = stats.spearmanr(finite["snr_db"], finite["metric_drop"]).statistic if len(finite) > 2 else np.nan
        rows.append({"method": method, "pearson_nmse_drop": float(pearson),
                     "spearman_snr_drop": float(spearman), "points": len(finite)})
    return pd.DataFrame(rows)
