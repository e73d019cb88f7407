"""App. D: compress one layer at a time, without fine-tuning, and relate its output error to the
full model's metric drop (the assumption behind the per-layer SNR comparisons of §4).

Per (layer, method, bits), on the task's test inputs: the layer's output against the FP model's,
nmse = sum (y - y_hat)^2 / sum y^2 (the paper's "linear-scale SNR") and snr_db = -10 log10(nmse),
measured in the same forward pass as the task's headline metric of the whole model with only that
layer compressed (no batch-norm re-estimation, as in the paper); metric_drop is how much worse the
metric got (fp - metric, or metric - fp where lower is better: perplexity). Correlations carry their 95 % Fisher-z interval (pvq.stats).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from pvq.finetune.directions import higher_is_better
from pvq.finetune.oneshot import METHODS, compress_model
from pvq.prune import sparsity_for_bits
from pvq.stats import correlation_interval


def evaluate_capturing(task, model: torch.nn.Module, layer: str) -> tuple[dict, list[torch.Tensor]]:
    """The task's test metrics and ``layer``'s outputs (float64, per batch) in the same evaluation."""
    captured: list[torch.Tensor] = []
    module = dict(model.named_modules())[layer]
    handle = module.register_forward_hook(lambda _m, _i, out: captured.append(out.detach().double().cpu()))
    try:
        metrics = task.evaluate(model, "test")
    finally:
        handle.remove()
    return metrics, captured


def layer_sensitivity(model: torch.nn.Module, task, layer_names, bits_list, baseline_bits: int = 16,
                      log=print) -> pd.DataFrame:
    """One row per (layer, method, bits): nmse, snr_db, metric, fp_metric, metric_drop."""
    fp_metric = task.evaluate(model, "test")[task.metric]
    sign = 1.0 if higher_is_better(task.metric) else -1.0
    rows = []
    for index, name in enumerate(layer_names):
        _, reference = evaluate_capturing(task, model, name)
        power = sum(float((r**2).sum()) for r in reference)
        for method in METHODS:
            for bits in bits_list:
                compressed = compress_model(model, [name], method, bits, baseline_bits)
                metrics, outputs = evaluate_capturing(task, compressed, name)
                error = sum(float(((r - o) ** 2).sum()) for r, o in zip(reference, outputs))
                nmse = error / power
                rows.append({"layer": name, "layer_index": index, "method": method, "bits": bits,
                             "sparsity": sparsity_for_bits(bits, baseline_bits) if method == "prune" else 0.0,
                             "nmse": nmse, "snr_db": float(-10 * np.log10(nmse)) if nmse > 0 else np.inf,
                             "metric": metrics[task.metric], "fp_metric": fp_metric,
                             "metric_drop": sign * (fp_metric - metrics[task.metric])})
        log(f"layer {name}: done ({index + 1}/{len(layer_names)})")
    return pd.DataFrame(rows)


def sensitivity_correlation(table: pd.DataFrame) -> pd.DataFrame:
    """Pearson r of nmse with the metric drop and Spearman r of snr_db with it, each with its 95 %
    interval, per method and pooled ("both")."""
    rows = []
    for method, group in [*table.groupby("method"), ("both", table)]:
        finite = group[np.isfinite(group["snr_db"])]
        pearson = correlation_interval(finite["nmse"], finite["metric_drop"], "pearson")
        spearman = correlation_interval(finite["snr_db"], finite["metric_drop"], "spearman")
        rows.append({"method": method, "pearson_nmse_drop": pearson.mean, "pearson_nmse_drop_lo": pearson.lo,
                     "pearson_nmse_drop_hi": pearson.hi, "spearman_snr_drop": spearman.mean,
                     "spearman_snr_drop_lo": spearman.lo, "spearman_snr_drop_hi": spearman.hi, "points": len(finite)})
    return pd.DataFrame(rows)
