"""Per-chunk brackets of each method's best achievable SNR, from the per-channel rows (no solvers).

A chunk's SNR sums over its solved output channels: 10 log10(sum ||X w0||^2 / sum error). The
pruning bracket runs from magnitude + refit to the optimum (its certified lower bound where the
search hit its limit); the quantization bracket from the Park & Boyd heuristic to the exact
optimum where the sphere decoder finished, else to the tighter of the SDP bound and the stopped
decoder's bound. A box entirely above the
diagonal (quantization heuristic beats the best possible pruning) is a certain win for
quantization; entirely below, for pruning.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

KEYS = ["model", "layer", "chunk", "bits"]


def _error(rows: pd.DataFrame, column: str) -> np.ndarray:
    return rows["signal_energy"].to_numpy() / 10 ** (rows[column].to_numpy() / 10)


def chunk_boxes(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, layer, chunk, bits): prune_low/high_db, quant_low/high_db and whether
    every channel's pruning optimum and quantization exact solve were certified."""
    rows = rows.copy()
    exact = rows["quant_status"] == "optimal"
    bound = np.maximum(_error(rows, "quant_sdp_bound_snr_db"), _error(rows, "quant_exact_bound_snr_db"))
    rows["quant_best_error"] = np.where(exact, _error(rows, "quant_exact_snr_db"), np.maximum(bound, 0.0))
    rows["prune_best_error"] = np.where(rows["prune_status"] == "optimal", _error(rows, "prune_opt_snr_db"),
                                        _error(rows, "prune_bound_snr_db"))
    rows["quant_heuristic_error"] = _error(rows, "quant_heuristic_snr_db")
    rows["prune_heuristic_error"] = _error(rows, "prune_refit_snr_db")
    rows["prune_certified"] = rows["prune_status"] == "optimal"
    rows["quant_exact"] = exact
    rows["quant_bound_ok"] = rows["quant_sdp_status"] != "failed"
    grouped = rows.groupby(KEYS, sort=True)
    boxes = grouped.agg(n=("n", "max"), channels=("out_channel", "nunique"),
                        sparsity=("sparsity", "first"), signal=("signal_energy", "sum"),
                        quant_heuristic=("quant_heuristic_error", "sum"), quant_best=("quant_best_error", "sum"),
                        prune_heuristic=("prune_heuristic_error", "sum"), prune_best=("prune_best_error", "sum"),
                        prune_certified=("prune_certified", "all"), quant_exact=("quant_exact", "all"),
                        quant_bound_ok=("quant_bound_ok", "all")).reset_index()
    with np.errstate(divide="ignore"):
        for method in ("quant", "prune"):
            boxes[f"{method}_low_db"] = 10 * np.log10(boxes["signal"] / boxes[f"{method}_heuristic"])
            boxes[f"{method}_high_db"] = 10 * np.log10(boxes["signal"] / boxes[f"{method}_best"])
    boxes["winner"] = np.select([boxes["quant_low_db"] > boxes["prune_high_db"],
                                 boxes["prune_low_db"] > boxes["quant_high_db"]],
                                ["quant", "prune"], "undecided")
    return boxes.drop(columns=["signal", "quant_heuristic", "quant_best", "prune_heuristic", "prune_best"])


def table3(rows: pd.DataFrame) -> pd.DataFrame:
    """Per (model, layer, bits): sub-problem dimension, chunks, % of chunks each method wins for
    certain, and % of chunks whose pruning optimum / quantization optimum is certified."""
    boxes = chunk_boxes(rows)
    out = boxes.groupby(["model", "layer", "bits"], sort=False).agg(
        dim=("n", "max"), chunks=("chunk", "nunique"), sparsity_pct=("sparsity", lambda s: 100 * s.iloc[0]),
        quant_wins_pct=("winner", lambda w: 100 * np.mean(w == "quant")),
        prune_wins_pct=("winner", lambda w: 100 * np.mean(w == "prune")),
        undecided_pct=("winner", lambda w: 100 * np.mean(w == "undecided")),
        prune_certified_pct=("prune_certified", lambda c: 100 * np.mean(c)),
        quant_exact_pct=("quant_exact", lambda c: 100 * np.mean(c))).reset_index()
    return out
