"""An allocation applied to a trained model, to check the weight-error proxy against test accuracy.

Each tensor is replaced by the reconstruction its chosen option stands for, with the functions the
options used for their errors (``pvq.allocation.options``): float16 rounding, the MSE-optimal
symmetric quantizer (``pvq.quantize.fit_scale``), the magnitude mask (``pvq.prune.magnitude_mask``,
survivors in float16, or quantized with a scale fitted on the survivors alone). No fine-tuning and no
batch-norm re-estimation: the accuracy is what the allocation costs as it stands.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import torch
from torch import nn

from pvq.allocation.artifacts import ACCURACY
from pvq.finetune.evaluate import evaluate
from pvq.finetune.layers import compressible_layers
from pvq.prune import magnitude_mask
from pvq.quantize import fit_scale, quantize_symmetric
from pvq.sorted_weights import SortedWeights

CORRELATION_COLUMNS = list(ACCURACY.columns)
# option columns that are measured, not what identifies the option
MEASURED = ("numel", "energy", "squared_error", "storage_bits", "bits_per_weight")


def reconstruct(w, choice: str, bits: int, sparsity: float, candidates: int = 100) -> np.ndarray:
    """The float64 tensor option (choice, bits, sparsity) stores for ``w`` (any shape)."""
    w = np.asarray(w, dtype=np.float64)
    if choice == "fp16":
        return w.astype(np.float16).astype(np.float64)
    if choice == "quant":
        return quantize_symmetric(w, fit_scale(SortedWeights(w), int(bits), candidates).scale, int(bits))
    mask = magnitude_mask(w, sparsity)
    if choice == "prune":
        return np.where(mask, w.astype(np.float16).astype(np.float64), 0.0)
    if choice == "prune_quant":
        scale = fit_scale(SortedWeights(w[mask]), int(bits), candidates).scale
        return np.where(mask, quantize_symmetric(w, scale, int(bits)), 0.0)
    raise ValueError(f"unknown choice {choice!r}")


def model_tensors(model: nn.Module) -> dict[str, np.ndarray]:
    """Every conv and linear weight (``pvq.finetune.layers.compressible_layers``) by parameter name."""
    return {f"{name}.weight": layer.weight.detach().cpu().numpy()
            for name, layer in compressible_layers(model).items()}


class AccuracyProbe:
    """Test accuracy (%) of ``model`` with an allocation's choices applied; reconstructions are cached
    per option (tensor and the option's other columns but its measured ones), as budgets and strategies
    share most of them. ``stored``: (w, option row) -> the tensor the option stores; default the paper's
    options (rows: tensor, choice, bits, sparsity) through ``reconstruct``."""

    def __init__(self, model: nn.Module, test, candidates: int = 100, stored=None) -> None:
        self.model, self.test, self.candidates = model, test, candidates
        self.stored = stored or (lambda w, row: reconstruct(w, row.choice, row.bits, row.sparsity, candidates))
        self.fp_accuracy = evaluate(model, test)
        self._cache: dict[tuple, torch.Tensor] = {}

    @torch.no_grad()
    def apply(self, chosen: pd.DataFrame) -> nn.Module:
        """A deep copy of the model with every ``chosen`` row's tensor (rows: tensor and what ``stored``
        reads) replaced by its reconstruction."""
        applied = copy.deepcopy(self.model)
        parameters = dict(applied.named_parameters())
        for row in chosen.itertuples(index=False):
            key = tuple(value for name, value in row._asdict().items() if name not in MEASURED)
            if key not in self._cache:
                w = dict(self.model.named_parameters())[row.tensor]
                out = self.stored(w.detach().cpu().numpy(), row)
                self._cache[key] = torch.from_numpy(np.asarray(out, dtype=np.float64)).to(dtype=w.dtype)
            target = parameters[row.tensor]
            target.copy_(self._cache[key].to(target.device))
        return applied

    def __call__(self, chosen: pd.DataFrame) -> float:
        return evaluate(self.apply(chosen), self.test)


def accuracy_correlation(summary: pd.DataFrame, fp_accuracy: float) -> pd.DataFrame:
    """How well the model error predicts the accuracy drop (fp_accuracy - test_accuracy), over every
    solved (budget, strategy) point and per strategy: Spearman's rank correlation of total_error with
    the drop, and Pearson's of log10 total_error with it (CORRELATION_COLUMNS)."""
    solved = summary[np.isfinite(summary["total_error"]) & np.isfinite(summary["test_accuracy"])]
    rows = []
    for strategy, part in [("all", solved), *solved.groupby("strategy", sort=False)]:
        drop = fp_accuracy - part["test_accuracy"]
        error = part["total_error"]
        enough = len(part) > 2 and drop.nunique() > 1 and error.nunique() > 1
        rows.append({"model": part["model"].iloc[0] if len(part) else "", "strategy": strategy, "points": len(part),
                     "fp_accuracy": fp_accuracy,
                     "spearman_rho": error.corr(drop, method="spearman") if enough else np.nan,
                     "pearson_r_log_error": np.log10(error).corr(drop) if enough and (error > 0).all() else np.nan})
    return pd.DataFrame(rows, columns=CORRELATION_COLUMNS)
