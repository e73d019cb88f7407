"""Contracts of the fine-tuning stage's artifacts (pvq.io), checked when written and when read."""

from __future__ import annotations

from dataclasses import replace

from pvq.io import Artifact, Record, Table

FP_WEIGHTS = Artifact("fine-tuning's FP baseline weights", "train_fp_baseline")

# Records name the fields their readers use (the runs read the FP metric; Tables 1 and 5 the runs').
FP_RECORD = Record("fine-tuning's FP baseline record", "train_fp_baseline",
                   fields={"metric_name": str, "metric": float}, finite=("metric",))

RUN = Record(
    "one fine-tuning run", "finetune_run finetune_run_long",
    fields={"model": str, "method": str, "bits": int, "metric_name": str, "metric": float, "fp_metric": float},
    finite=("metric", "fp_metric"))

# Distances to the FP model's activations, per epoch and layer (Fig. 7, 8).
REPRESENTATIONS = Table(
    "fine-tuning representation distances", "finetune_run finetune_run_long",
    columns={"model": str, "method": str, "bits": int, "epoch": int, "layer": str, "layer_index": int,
             "snr_db": float, "cka": float},
    optional=("snr_db", "cka"), key=("model", "method", "bits", "epoch", "layer"), complete="layer")

# One layer compressed at a time, no fine-tuning (Fig. 6).
SENSITIVITY = Table(
    "single-layer sensitivity", "measure_layer_sensitivity",
    columns={"model": str, "layer": str, "layer_index": int, "method": str, "bits": int, "sparsity": float,
             "nmse": float, "snr_db": float, "metric": float, "fp_metric": float, "metric_drop": float},
    optional=("nmse", "snr_db"), finite=("sparsity", "metric", "fp_metric", "metric_drop"),
    key=("model", "layer", "method", "bits"), complete="bits")
SENSITIVITY_CORRELATION = Table(
    "single-layer SNR vs accuracy correlation", "measure_layer_sensitivity",
    columns={"model": str, "method": str, "pearson_nmse_drop": float, "spearman_snr_drop": float, "points": int},
    optional=("pearson_nmse_drop", "spearman_snr_drop"), key=("model", "method"))

# Table 1 / Table 5: one row per (model, bits); rows the config names as not supported stay empty.
TABLE1 = Table(
    "Table 1 (fine-tuning)", "tabulate_table1",
    columns={"model": str, "metric": str, "fp": float, "bits": int, "quant": float, "prune": float},
    optional=("fp", "quant", "prune"), key=("model", "bits"))
TABLE5 = replace(TABLE1, what="Table 5 (longer fine-tuning)", rule="tabulate_table5")
