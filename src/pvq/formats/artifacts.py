"""Contracts of the formats stage's artifacts (pvq.io.Table), checked when written and when read."""

from __future__ import annotations

from pvq.io import Table

# One row per (tensor, method spec); an exact reconstruction has snr_db = inf, a constant tensor no kurtosis.
FORMATS_SWEEP = Table(
    "formats sweep of one model", "sweep_formats_model",
    columns={"model": str, "tensor": str, "numel": int, "kurtosis": float, "spec": str, "family": str,
             "bits_per_weight": float, "snr_db": float},
    optional=("kurtosis", "snr_db"), finite=("bits_per_weight",),
    key=("model", "tensor", "spec"), complete="spec")

# One row per (model, spec): its model-level point and whether it is on its family's and the overall front.
FORMATS_PARETO = Table(
    "formats Pareto points (Fig. 12)", "summarize_formats",
    columns={"model": str, "family": str, "spec": str, "tensors": int, "bits_per_weight": float, "snr_db": float,
             "front_family": bool, "front_all": bool},
    finite=("bits_per_weight",), key=("model", "spec"))
