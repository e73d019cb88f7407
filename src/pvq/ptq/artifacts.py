"""Contracts of the post-training stage's artifacts (pvq.io.Table), checked when written and when read."""

from __future__ import annotations

from pvq.io import Table

# One row per (method, bit width) on one model: exact storage and the held-out scores against the
# uncompressed model (an exact copy would have logit_snr_db = inf).
PTQ_RESULTS = Table(
    "post-training compression of one model (Fig. 14)", "compress_ptq_model",
    columns={"method": str, "spec": str, "bits": int, "bits_per_weight": float, "agree": float, "kl": float,
             "logit_snr_db": float},
    finite=("bits_per_weight", "agree", "kl"), key=("method", "bits"), complete="bits")
