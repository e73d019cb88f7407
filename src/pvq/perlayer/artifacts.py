"""Contracts of the per-layer stage's artifacts (pvq.io), checked when written and when read."""

from __future__ import annotations

from dataclasses import replace

from pvq.io import Artifact, Table

LAYER_INPUTS = Artifact("per-layer calibration inputs (.npz)", "collect_layer_inputs")

_SNR = ["quant_rtn_snr_db", "quant_heuristic_snr_db", "quant_sdp_bound_snr_db", "quant_exact_snr_db",
        "quant_exact_bound_snr_db", "prune_magnitude_snr_db", "prune_refit_snr_db", "prune_opt_snr_db",
        "prune_bound_snr_db", "prune_mip_snr_db", "prune_mip_bound_snr_db"]
_COLUMNS = {
    "model": str, "layer": str, "chunk": int, "out_channel": int, "n": int, "m": int, "bits": int,
    "sparsity": float, "keep": int, "delta": float, "signal_energy": float,
    "quant_rtn_snr_db": float, "quant_heuristic_snr_db": float, "quant_sdp_bound_snr_db": float,
    "quant_sdp_status": str, "quant_exact_snr_db": float, "quant_exact_bound_snr_db": float, "quant_status": str,
    "prune_magnitude_snr_db": float, "prune_refit_snr_db": float, "prune_opt_snr_db": float,
    "prune_bound_snr_db": float, "prune_status": str,
    "prune_mip_snr_db": float, "prune_mip_bound_snr_db": float, "prune_mip_status": str,
    "quant_heuristic_seconds": float, "quant_sdp_seconds": float, "quant_exact_seconds": float,
    "prune_exact_seconds": float, "prune_mip_seconds": float,
}

# One part of a layer (a shard may hold no chunk when a layer has fewer chunks than parts). SNRs may be
# inf (an exact fit) or NaN (a bound a solver did not reach; the MIP columns where it did not run).
LAYER_PART = Table(
    "one part of a layer's per-layer bounds", "bound_layer_part", columns=_COLUMNS,
    optional=(*_SNR, "prune_mip_seconds"), finite=("sparsity", "delta", "signal_energy"),
    key=("model", "layer", "chunk", "out_channel", "bits"), complete="bits", min_rows=0)

LAYER_BOUNDS = replace(LAYER_PART, what="per-layer bounds of one layer (Fig. 4, Table 3)",
                       rule="merge_layer_parts", min_rows=1)
