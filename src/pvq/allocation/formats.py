"""The allocation over compression methods (the formats variant): every tensor gets one of the
configured ``pvq.methods`` specs (``pvq.allocation.method_options`` rows), under the same budgets,
capacity (floor(b N) + T scale_bits, as the paper's option set, so the two compare row by row) and
objective as the paper's options.

Strategies at each budget:
- ``milp``: the exact optimum over every spec of every tensor; ``greedy``: the Lagrangian heuristic;
- ``milp_<family>``: the exact optimum over the specs of one family (``quant``, ``prune``, ``joint``:
  the families the configured specs have, in their order);
- ``uniform``: one spec for every tensor, the least-error one that fits (``spec`` names it).
The rows and picks are told apart by the methods' ``spec`` and ``family`` only.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from pvq.allocation.artifacts import FORMATS_CHOICES, FORMATS_SUMMARY
from pvq.allocation.strategies import BudgetedOptions


class MethodAllocation(BudgetedOptions):
    """Method options of one model's tensors (``pvq.allocation.method_options.method_model_options``)."""

    summary_columns = list(FORMATS_SUMMARY.columns)
    choice_columns = list(FORMATS_CHOICES.columns)

    def __init__(self, options: pd.DataFrame, kurtosis: pd.Series, objective: str = "weighted_nsr",
                 solver: str = "cbc", time_limit_s: float = 60.0, scale_bits: int = 16) -> None:
        super().__init__(options, kurtosis, objective, solver, time_limit_s, scale_bits)
        families = list(dict.fromkeys(self.options["family"]))
        self.specs = list(dict.fromkeys(self.options["spec"]))
        self.strategies = ("milp", "greedy", *(f"milp_{family}" for family in families), "uniform")
        self._knapsacks = {"milp": self._restricted(np.ones(len(self.options), bool))}
        for family in families:
            self._knapsacks[f"milp_{family}"] = self._restricted((self.options["family"] == family).to_numpy())
        by_spec = self.options.assign(row=np.arange(len(self.options))).pivot(index="tensor", columns="spec",
                                                                               values="row")
        self._uniform_picks = {spec: by_spec[spec].reindex(self.tensors).to_numpy(dtype=np.int64)
                               for spec in self.specs}

    def solve(self, strategy: str, budget_bits: float) -> tuple[np.ndarray | None, str, float]:
        """(option rows picked per tensor, or None; status; seconds) for one strategy and budget."""
        capacity = self.capacity(budget_bits)
        if strategy == "greedy":
            return self._knapsack(self._knapsacks["milp"], capacity, greedy=True)
        if strategy in self._knapsacks:
            return self._knapsack(self._knapsacks[strategy], capacity)
        if strategy == "uniform":
            start = time.perf_counter()
            fits = [picks for picks in self._uniform_picks.values() if self.size[picks].sum() <= capacity]
            best = min(fits, key=lambda picks: self.cost[picks].sum(), default=None)
            return best, "rule" if best is not None else "infeasible", time.perf_counter() - start
        raise ValueError(f"unknown strategy {strategy!r}; known: {self.strategies}")

    def describe(self, strategy: str, picks: np.ndarray | None) -> dict:
        """``spec``: the one spec of a uniform allocation (empty otherwise)."""
        uniform = strategy == "uniform" and picks is not None
        return {"spec": self.options["spec"].iloc[picks[0]] if uniform else np.nan}

    def chosen(self, model: str, budget_bits: float, picks: np.ndarray) -> pd.DataFrame:
        chosen = self.options.iloc[picks]
        return pd.DataFrame({
            "model": model, "tensor": chosen["tensor"].to_numpy(), "kurtosis": self.kurtosis.to_numpy(),
            "budget_bits": float(budget_bits), "spec": chosen["spec"].to_numpy(),
            "family": chosen["family"].to_numpy(), "numel": chosen["numel"].to_numpy(),
            "storage_bits": chosen["storage_bits"].to_numpy(),
            "bits_per_weight": chosen["bits_per_weight"].to_numpy(),
            "nsr": (chosen["squared_error"] / chosen["energy"]).to_numpy()})
