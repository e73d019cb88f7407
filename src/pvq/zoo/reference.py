"""The straightforward sweep the fast one is measured against (benchmarks/bench_zoo.py).

As the paper's appendix describes the estimator: 100 candidate clipping ranges over (0, max|w|], each
evaluated on the whole tensor in float32 torch, the best kept; magnitude pruning by sorting |w|.
"""

from __future__ import annotations

import torch

from pvq.quantize import grid_limits


def grid_scale(w: torch.Tensor, bits: int, candidates: int = 100) -> float:
    """Best of ``candidates`` steps s = max|w| i / (candidates (2^(b-1) - 1)), by float32 squared error."""
    lo, hi = grid_limits(bits)
    top = w.abs().max()
    best_error, best_scale = float("inf"), 1.0
    for i in range(1, candidates + 1):
        scale = top * i / candidates / max(hi, 1)
        error = float(((w - scale * torch.clamp(torch.round(w / scale), lo, hi)) ** 2).sum())
        if error < best_error:
            best_error, best_scale = error, float(scale)
    return best_scale


def sweep_tensor(w: torch.Tensor, bits, baseline_bits: int = 16, candidates: int = 100) -> list[dict]:
    """Scale, quantization and pruning SNRs (float32) per bit width: the reference's share of the sweep."""
    w = w.flatten().float()
    energy = float((w * w).sum())
    squares = torch.sort(w.abs()).values ** 2
    rows = []
    for b in bits:
        scale = grid_scale(w, b, candidates)
        lo, hi = grid_limits(b)
        error = float(((w - scale * torch.clamp(torch.round(w / scale), lo, hi)) ** 2).sum())
        pruned = float(squares[: round((1 - b / baseline_bits) * w.numel())].sum())
        masked = float(squares[: round((1 - (b - 1) / baseline_bits) * w.numel())].sum())
        rows.append({"bits": b, "quant_scale": scale, "quant_error": error, "prune_error": pruned,
                     "prune_error_masked": masked, "energy": energy})
    return rows
