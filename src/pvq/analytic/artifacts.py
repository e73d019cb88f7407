"""Contracts of the analytic stage's artifacts (pvq.io.Table), checked when written and when read."""

from __future__ import annotations

from pvq.io import Table

_COMPARISON = {"bits": int, "sparsity": float, "quant_delta": float, "quant_snr_db": float,
               "prune_threshold": float, "prune_snr_db": float}

NORMAL = Table("analytic comparison on the normal (Fig. 1)", "compute_analytic_normal",
               columns=_COMPARISON, finite=tuple(_COMPARISON), key=("bits",))

NORMAL_PROFILE = Table(
    "Fig. 1 maps w -> Q(w), T(w) on the normal", "compute_analytic_normal",
    columns={"w": float, "pdf": float, "quant_w": float, "prune_w": float},
    finite=("w", "pdf", "quant_w", "prune_w"), key=("w",), min_rows=2)

NORMAL_LEVELS = Table(
    "Fig. 1 compressed laws on the normal", "compute_analytic_normal",
    columns={"method": str, "bits": float, "sparsity": float, "value": float, "probability": float,
             "delta": float, "threshold": float},
    optional=("bits", "sparsity", "delta", "threshold"),  # quant rows have no sparsity, prune rows no bits
    finite=("bits", "sparsity", "value", "probability", "delta", "threshold"), key=("method", "value"), min_rows=2)

# Every grid format against pruning (the normal: r empty; then each truncated t), Fig. 2 with formats as rows.
ANALYTIC_FORMATS = Table(
    "analytic grid formats vs pruning", "compute_analytic_formats",
    columns={"distribution": str, "r": float, "kurtosis": float, "format": str, "bits": int, "scale": float,
             "quant_snr_db": float, "sparsity": float, "prune_snr_db": float, "sparsity_masked": float,
             "prune_snr_db_masked": float, "winner": str, "winner_masked": str},
    optional=("r",), finite=("kurtosis", "scale", "quant_snr_db", "sparsity", "prune_snr_db", "sparsity_masked",
                             "prune_snr_db_masked"),
    key=("distribution", "kurtosis", "format"), complete="format")

STUDENT_T = Table(
    "analytic comparison on the truncated t (Fig. 2, 5)", "compute_analytic_student_t",
    columns={"r": float, "kurtosis": float, **_COMPARISON, "winner": str},
    finite=("r", "kurtosis", *_COMPARISON), key=("r", "bits"), complete="bits")
