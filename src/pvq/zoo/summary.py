"""Table 2 (App. C): mean natural sparsity of the quantized tensors per bit width, per model and over all."""

from __future__ import annotations

import pandas as pd

ALL = "all models"


def natural_sparsity_table(zoo: pd.DataFrame) -> pd.DataFrame:
    """Rows: bits (8 down to 2, as the paper). Columns: one per model and ``all models``, in percent.

    Unweighted means over tensors (every tensor counts once, whatever its size), as the authors'
    released data reproduces their printed table.
    """
    per_model = 100 * zoo.pivot_table(index="bits", columns="model", values="natural_sparsity", aggfunc="mean")
    per_model[ALL] = 100 * zoo.groupby("bits")["natural_sparsity"].mean()
    per_model.columns.name = None
    return per_model.sort_index(ascending=False).reset_index()
