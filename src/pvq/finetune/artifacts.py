"""Contracts of the fine-tuning stage's artifacts (pvq.io), checked when written and when read."""

from __future__ import annotations

from dataclasses import replace

from pvq.io import Artifact, Record, Table

FP_WEIGHTS = Artifact("fine-tuning's FP baseline weights", "train_fp_baseline")

# Records name the fields their readers use (the runs read the FP metrics; Tables 1 and 5 the runs'
# per-seed metrics; the card the seeds, schedule and data).
FP_RECORD = Record("fine-tuning's FP baseline record", "train_fp_baseline",
                   fields={"metric_name": str, "metric": float, "metrics": dict, "table_metrics": list},
                   finite=("metric",))

RUN = Record(
    "one fine-tuning cell (every seed)", "finetune_run finetune_run_long",
    fields={"model": str, "method": str, "bits": int, "metric_name": str, "metric": float, "fp_metric": float,
            "fp_metrics": dict, "table_metrics": list, "seeds": list, "runs": list},
    finite=("metric", "fp_metric"))

# Distances to the FP model's activations, per seed, epoch and layer (Fig. 7, 8).
REPRESENTATIONS = Table(
    "fine-tuning representation distances", "finetune_run finetune_run_long",
    columns={"model": str, "method": str, "bits": int, "seed": int, "epoch": int, "layer": str, "layer_index": int,
             "snr_db": float, "cka": float},
    optional=("snr_db", "cka"), key=("model", "method", "bits", "seed", "epoch", "layer"), complete="layer")

# One layer compressed at a time, no fine-tuning (Fig. 6).
SENSITIVITY = Table(
    "single-layer sensitivity", "measure_layer_sensitivity",
    columns={"model": str, "layer": str, "layer_index": int, "method": str, "bits": int, "sparsity": float,
             "nmse": float, "snr_db": float, "metric": float, "fp_metric": float, "metric_drop": float},
    optional=("nmse", "snr_db"), finite=("sparsity", "metric", "fp_metric", "metric_drop"),
    key=("model", "layer", "method", "bits"), complete="bits")
SENSITIVITY_CORRELATION = Table(
    "single-layer SNR vs accuracy correlation", "measure_layer_sensitivity",
    columns={"model": str, "method": str, "pearson_nmse_drop": float, "pearson_nmse_drop_lo": float,
             "pearson_nmse_drop_hi": float, "spearman_snr_drop": float, "spearman_snr_drop_lo": float,
             "spearman_snr_drop_hi": float, "points": int},
    optional=("pearson_nmse_drop", "pearson_nmse_drop_lo", "pearson_nmse_drop_hi", "spearman_snr_drop",
              "spearman_snr_drop_lo", "spearman_snr_drop_hi"),
    key=("model", "method"))

# Table 1 / Table 5: one row per (model, metric, bits), means over seeds with their 95 % intervals and
# the paired winner; rows the config names as not supported stay empty.
TABLE1 = Table(
    "Table 1 (fine-tuning)", "tabulate_table1",
    columns={"model": str, "metric": str, "fp": float, "bits": int, "quant": float, "prune": float,
             "quant_lo": float, "quant_hi": float, "prune_lo": float, "prune_hi": float, "seeds": int,
             "winner": str},
    optional=("fp", "quant", "prune", "quant_lo", "quant_hi", "prune_lo", "prune_hi", "winner"),
    key=("model", "metric", "bits"))
TABLE5 = replace(TABLE1, what="Table 5 (longer fine-tuning)", rule="tabulate_table5")
