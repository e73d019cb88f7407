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
    # today's one-shot methods (pvq.bounds: GPTQ, greedy OBS, Wanda, OBS then GPTQ) and the certified
    # lower bound on that joint problem's error (as an SNR: an upper bound)
    "quant_gptq_snr_db": float, "prune_obs_snr_db": float, "prune_wanda_snr_db": float,
    "prune_wanda_refit_snr_db": float, "joint_obs_gptq_snr_db": float, "joint_bound_snr_db": float,
    "quant_heuristic_seconds": float, "quant_sdp_seconds": float, "quant_exact_seconds": float,
    "prune_exact_seconds": float, "prune_mip_seconds": float, "quant_gptq_seconds": float,
    "prune_obs_seconds": float,
}

# One part of a layer (a shard may hold no chunk when a layer has fewer chunks than parts). SNRs may be
# inf (an exact fit) or NaN (a bound a solver did not reach; the MIP columns where it did not run).
LAYER_PART = Table(
    "one part of a layer's per-layer bounds", "bound_layer_part", columns=_COLUMNS,
    optional=(*_SNR, "prune_mip_seconds"), finite=("sparsity", "delta", "signal_energy"),
    key=("model", "layer", "chunk", "out_channel", "bits"), complete="bits", min_rows=0)

LAYER_BOUNDS = replace(LAYER_PART, what="per-layer bounds of one layer (Fig. 4, Table 3)",
                       rule="merge_layer_parts", min_rows=1)

# Per (model, layer, chunk, bits): Fig. 4's box (pvq.perlayer.summary.chunk_boxes) and the one-shot
# methods' chunk SNRs it marks. An SNR is +inf where the error is 0.
CHUNK_BOXES = Table(
    "per-layer chunk boxes and one-shot marks (Fig. 4)", "summarize_perlayer_boxes",
    columns={"model": str, "layer": str, "chunk": int, "bits": int, "n": int, "channels": int,
             "sparsity": float, "prune_certified": bool, "quant_exact": bool, "quant_bound_ok": bool,
             "quant_low_db": float, "quant_high_db": float, "prune_low_db": float, "prune_high_db": float,
             "winner": str, "quant_gptq_db": float, "prune_obs_db": float, "prune_wanda_db": float,
             "prune_wanda_refit_db": float},
    finite=("sparsity",), key=("model", "layer", "chunk", "bits"), complete="bits")

# Table 6 (pvq.perlayer.summary.table6): gaps are NaN where no problem has a certified reference,
# +inf where only the reference is exact; the verdict share is NaN for the paper's own heuristics
# and the joint method.
TABLE6 = Table(
    "Table 6: gap of one-shot methods to the certified optimum", "make_table6",
    columns={"bits": int, "method": str, "problem": str, "reference": str, "certified": int, "problems": int,
             "median_gap_db": float, "worst_gap_db": float, "chunks": int, "verdict_changed_pct": float},
    optional=("median_gap_db", "worst_gap_db", "verdict_changed_pct"), key=("bits", "method"), complete="method")

# Today's formats on the same problems (pvq.perlayer.formats), long: one row per (chunk, output channel,
# spec, solver). solver, per family (pvq.perlayer.formats.SOLVERS): N:M pruning: heuristic (magnitude
# + refit), optimum (certified N:M optimum), obs (greedy OBS / SparseGPT), wanda, wanda_refit;
# per-channel INT: rtn, gptq, heuristic (the better of the two), optimum (exact). status: its solver's
# ('split_groups': the chunk cuts the pattern's groups, no SNR). tensor_rows x tensor_cols: the weight's
# reduction layout (storage is exact for it). bound_snr_db: the optimum's certified bound (NaN for the
# others). Completeness is checked per family: each has its own solver set.
FORMATS_PART = Table(
    "today's formats on one part of a layer's per-layer problems", "bound_layer_formats",
    columns={"model": str, "layer": str, "chunk": int, "out_channel": int, "n": int, "m": int,
             "tensor_rows": int, "tensor_cols": int, "signal_energy": float, "spec": str, "family": str,
             "solver": str, "bits_per_weight": float, "snr_db": float, "bound_snr_db": float, "status": str,
             "seconds": float},
    optional=("snr_db", "bound_snr_db", "seconds"), finite=("signal_energy", "bits_per_weight"),
    key=("model", "layer", "chunk", "out_channel", "spec", "solver"), complete="solver", complete_within="family",
    min_rows=0)

LAYER_FORMATS = replace(FORMATS_PART, what="today's formats on one layer's per-layer problems (Fig. 13)",
                        rule="merge_layer_formats", min_rows=1)

# Fig. 13 (pvq.perlayer.summary.format_boxes): per chunk, every pairing of a pruning spec (the paper's
# unstructured sparsity 1 - b/16 and each N:M pattern) with a b-bit quantization spec (the paper's
# per-tensor scale and per-channel scales), each side's bracket from heuristic to certified optimum (or
# bound). winner: as Fig. 4 (whatever the optimiser); optima_winner: the side whose certified optimum
# beats the other side's best possible SNR (summary.optima_winner; 'uncertified' where that is not known).
# Marks, as Fig. 4's (CHUNK_BOXES): the chunk SNRs of GPTQ on the quantization spec and of OBS, Wanda and
# Wanda + refit on the pruning spec with its pattern (+inf where the error is 0).
FORMAT_BOXES = Table(
    "per-layer boxes of today's formats (Fig. 13)", "summarize_perlayer_formats",
    columns={"model": str, "layer": str, "chunk": int, "bits": int, "prune_spec": str, "quant_spec": str,
             "prune_bits_per_weight": float, "quant_bits_per_weight": float, "prune_low_db": float,
             "prune_high_db": float, "prune_certified": bool, "quant_low_db": float, "quant_high_db": float,
             "quant_exact": bool, "winner": str, "optima_winner": str, "quant_gptq_db": float,
             "prune_obs_db": float, "prune_wanda_db": float, "prune_wanda_refit_db": float},
    finite=("prune_bits_per_weight", "quant_bits_per_weight"),
    key=("model", "layer", "chunk", "prune_spec", "quant_spec"))

# Table 6's companion on today's formats (pvq.perlayer.summary.table6_formats): per (spec, method), gaps
# to the certified optimum over the problems whose optimum is certified (NaN where none, +inf where only
# the optimum is exact); split: problems the spec could not run (split groups). verdict_changed_pct: the
# share of the chunk pairings (this spec with each spec of the other family) whose N:M-vs-per-channel
# verdict differs from the heuristics' when the method's pair (summary.FORMAT_PAIRS) replaces them (NaN
# for the heuristics themselves).
TABLE6_FORMATS = Table(
    "Table 6 (formats): gap of one-shot methods to the certified optimum on today's formats",
    "make_table6_formats",
    columns={"spec": str, "family": str, "method": str, "certified": int, "problems": int, "split": int,
             "median_gap_db": float, "worst_gap_db": float, "pairings": int, "verdict_changed_pct": float},
    optional=("median_gap_db", "worst_gap_db", "verdict_changed_pct"), key=("spec", "method"),
    complete="method", complete_within="family")
