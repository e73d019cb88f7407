"""What Fig. 11 draws besides the MILP's choices, computed once from the stage's files (the plot only
reads it): per budget, the share of weights in tensors the MILP prunes (alone or before quantizing),
over every allocated model, and the zoo's kurtosis boundary (Fig. 3 right, mask counted) at the
budget's bit width floor(budget), above which the rule of thumb prunes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pvq.allocation.artifacts import CHOICES_SUMMARY
from pvq.zoo.regions import kurtosis_boundary

PRUNED = ("prune", "prune_quant")  # the paper's options that zero weights
COLUMNS = list(CHOICES_SUMMARY.columns)


def choices_summary(choices: pd.DataFrame, zoo: pd.DataFrame) -> pd.DataFrame:
    """One row per budget of ``choices`` (every model's CHOICES rows), budgets ascending (COLUMNS)."""
    boundary = kurtosis_boundary(zoo, masked=True)
    rows = []
    for budget, group in choices.groupby("budget_bits", sort=True):
        weights = int(group["numel"].sum())
        pruned = int(group.loc[group["choice"].isin(PRUNED), "numel"].sum())
        bits = int(np.floor(budget))
        rows.append({"budget_bits": float(budget), "weights": weights, "pruned_weights": pruned,
                     "pruned_share": pruned / weights if weights else 0.0, "boundary_bits": bits,
                     "kurtosis_boundary": float(boundary.get(bits, np.nan))})
    return pd.DataFrame(rows, columns=COLUMNS)
