"""The stage's summaries, computed once from its files (figures only read them).

``choices_summary`` (Fig. 11): per budget, the share of weights in tensors the MILP prunes (alone or
before quantizing), over every allocated model, and the zoo's kurtosis boundary (Fig. 3 right, mask
counted) at the budget's bit width floor(budget), above which the rule of thumb prunes.
``formats_shares`` (formats variant): per model and budget, what the MILP over method specs picked:
each spec's tensors, weights and shares of the model's weights and storage."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pvq.allocation.artifacts import CHOICES_SUMMARY, FORMATS_SHARES
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


def formats_shares(choices: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, budget, picked spec) of FORMATS_CHOICES rows, specs by weights descending."""
    rows = []
    for (model, budget), group in choices.groupby(["model", "budget_bits"], sort=False):
        weights, storage = group["numel"].sum(), group["storage_bits"].sum()
        picked = group.groupby(["spec", "family"], sort=False).agg(
            tensors=("tensor", "size"), weights=("numel", "sum"), storage=("storage_bits", "sum")).reset_index()
        for row in picked.sort_values(["weights", "spec"], ascending=[False, True]).itertuples(index=False):
            rows.append({"model": model, "budget_bits": float(budget), "spec": row.spec, "family": row.family,
                         "tensors": int(row.tensors), "weights": int(row.weights),
                         "weight_share": row.weights / weights, "storage_share": row.storage / storage})
    return pd.DataFrame(rows, columns=list(FORMATS_SHARES.columns))
