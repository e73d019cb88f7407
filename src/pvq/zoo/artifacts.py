"""Contract of the zoo sweep's per-model CSV (pvq.io.Table), checked when written and when read."""

from __future__ import annotations

from pvq.io import Table

# Measured values may be NaN or inf where the math says so (the kurtosis of a constant tensor, the SNR
# of an exact reconstruction or of an all-zero tensor); identifiers and shares may not.
ZOO_SWEEP = Table(
    "zoo sweep of one model", "sweep_zoo_model",
    columns={"model": str, "tensor": str, "shape": str, "numel": int, "kurtosis": float, "bits": int,
             "sparsity": float, "quant_scale": float, "quant_snr_db": float, "natural_sparsity": float,
             "prune_snr_db": float, "prune_sparsity_masked": float, "prune_snr_db_masked": float},
    optional=("kurtosis", "quant_scale", "quant_snr_db", "prune_snr_db", "prune_snr_db_masked"),
    finite=("sparsity", "natural_sparsity", "prune_sparsity_masked"),
    key=("model", "tensor", "bits"), complete="bits")

# Fig. 3 (right): the kernel density estimate of where pruning wins, per bit width, idealised and with
# the mask counted (pvq.zoo.regions.kurtosis_regions); the figure only draws it.
ZOO_REGIONS = Table(
    "kurtosis regions of the zoo sweep", "summarize_zoo_regions",
    columns={"mask_counted": bool, "bits": int, "kurtosis": float, "p_prune": float, "density_prune": float,
             "density_quant": float, "kurtosis_boundary": float},
    optional=("kurtosis_boundary",),
    finite=("kurtosis", "p_prune", "density_prune", "density_quant"),
    key=("mask_counted", "bits", "kurtosis"))
