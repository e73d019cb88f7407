"""The tables behind Fig. 1, 2 and 5: quantization vs pruning SNR per bit width and distribution."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pvq.analytic.distributions import Normal, TruncatedStudentT2, kurtosis
from pvq.analytic.errors import optimal_delta, prune_mse
from pvq.metrics import snr_db
from pvq.prune import sparsity_for_bits
from pvq.quantize import quantize_symmetric

COMPARISON_COLUMNS = ["bits", "sparsity", "quant_delta", "quant_snr_db", "prune_threshold", "prune_snr_db"]


def compare(dist, bits: list[int], baseline_bits: int = 16, scan_points: int = 2000) -> pd.DataFrame:
    """One row per bit width: b-bit quantization vs pruning at sparsity 1 - b/baseline_bits."""
    power = dist.second_moment()
    rows = []
    for b in bits:
        sparsity = sparsity_for_bits(b, baseline_bits)
        grid = optimal_delta(dist, b, scan_points)
        cut = prune_mse(dist, sparsity)
        rows.append({
            "bits": b, "sparsity": sparsity,
            "quant_delta": grid.delta, "quant_snr_db": float(snr_db(power, grid.mse)),
            "prune_threshold": cut.threshold, "prune_snr_db": float(snr_db(power, cut.mse)),
        })
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


def normal_table(bits: list[int], baseline_bits: int = 16, scan_points: int = 2000) -> pd.DataFrame:
    """Fig. 1 (right): the standard normal."""
    return compare(Normal(), bits, baseline_bits, scan_points)


def truncation_ranges(r_min: float, r_max: float, num: int) -> np.ndarray:
    """Geometric grid of truncation ranges r for the Student's t study."""
    return np.geomspace(r_min, r_max, num)


def student_t_table(ranges, bits: list[int], baseline_bits: int = 16,
                    scan_points: int = 2000) -> pd.DataFrame:
    """Fig. 2 and 5: the nu = 2 t truncated to [-r, r], indexed by its exact kurtosis."""
    frames = []
    for r in ranges:
        dist = TruncatedStudentT2(float(r))
        frame = compare(dist, bits, baseline_bits, scan_points)
        frame.insert(0, "kurtosis", kurtosis(dist))
        frame.insert(0, "r", float(r))
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    table["winner"] = np.where(table["quant_snr_db"] >= table["prune_snr_db"], "quant", "prune")
    return table


def normal_profile(bits: int, sparsity: float, w_max: float = 4.0, points: int = 2001,
                   scan_points: int = 2000) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fig. 1 (left, middle): the maps w -> Q(w) and w -> T(w) on a grid, and the compressed laws.

    Returns (profile, levels): profile has w, pdf, quant_w, prune_w; levels has the probability mass
    the quantized law puts on each grid node and the mass pruning puts on zero.
    """
    dist = Normal()
    grid = optimal_delta(dist, bits, scan_points)
    cut = prune_mse(dist, sparsity)
    w = np.linspace(-w_max, w_max, points)
    profile = pd.DataFrame({
        "w": w,
        "pdf": dist.pdf(w),
        "quant_w": quantize_symmetric(w, grid.delta, bits),
        "prune_w": np.where(np.abs(w) > cut.threshold, w, 0.0),
    })
    nodes = grid.delta * np.arange(-(2 ** (bits - 1)), 2 ** (bits - 1))
    edges = np.concatenate(([-np.inf], 0.5 * (nodes[1:] + nodes[:-1]), [np.inf]))
    mass, _, _ = dist.partial_moments(edges[:-1], edges[1:])
    levels = pd.concat([
        pd.DataFrame({"method": "quant", "bits": bits, "sparsity": np.nan, "value": nodes,
                      "probability": mass, "delta": grid.delta, "threshold": np.nan}),
        pd.DataFrame({"method": ["prune"], "bits": [np.nan], "sparsity": [sparsity], "value": [0.0],
                      "probability": [sparsity], "delta": [np.nan], "threshold": [cut.threshold]}),
    ], ignore_index=True)
    return profile, levels
