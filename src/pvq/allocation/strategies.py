"""One model's budget sweep: the allocation (MILP), its greedy cross-check and the baselines.

The model's error is sum_t e_t over its tensors, with e_t = n_t err_t / ||w_t||^2 (``weighted_nsr``:
every weight's share of relative error, so big tensors count by their size) or e_t = err_t / ||w_t||^2
(``nsr``: every tensor once); err_t is the chosen option's squared error. A budget of b bits per weight
allows floor(b N) bits for the N weights of the model's T tensors plus one scale per tensor (T
scale_bits), so that b-bit quantization of every tensor fits a budget of b. Strategies at each budget:
- ``milp``: the exact optimum over every option of every tensor; ``greedy``: the Lagrangian heuristic;
- ``quant_only``: one bit width for every tensor (the most that fits); ``quant_per_tensor``: the optimum
  over quantization options only; ``prune_only``: the optimum over pruning options only;
- ``kurtosis_rule``: Fig. 3 (right) as a rule of thumb: at b bits, prune (at the least-error sparsity
  that stores no more than b-bit quantization of that tensor) where the tensor's kurtosis exceeds the
  zoo's boundary for b bits, quantize elsewhere; the most b that fits.
A budget a strategy cannot meet is recorded with status ``infeasible`` and no error, never dropped.
``BudgetedOptions`` holds what every option set shares (costs, sizes, capacity, the knapsacks);
``ModelAllocation`` is the paper's options, ``pvq.allocation.formats.MethodAllocation`` the formats
variant's; ``sweep_budgets`` runs either.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from pvq.allocation.artifacts import CHOICES, SUMMARY
from pvq.allocation.knapsack import Allocation, InfeasibleBudget, MultipleChoiceKnapsack

STRATEGIES = ("milp", "greedy", "quant_only", "quant_per_tensor", "prune_only", "kurtosis_rule")
OBJECTIVES = ("weighted_nsr", "nsr")
SUMMARY_COLUMNS = list(SUMMARY.columns)
CHOICE_COLUMNS = list(CHOICES.columns)


def option_costs(options: pd.DataFrame, objective: str) -> np.ndarray:
    """e_t of every option row (see the module docstring); 0 for an all-zero tensor."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    energy = options["energy"].to_numpy()
    nsr = np.divide(options["squared_error"].to_numpy(), energy, out=np.zeros(len(options)), where=energy > 0)
    return nsr * options["numel"].to_numpy() if objective == "weighted_nsr" else nsr


class BudgetedOptions:
    """One model's option rows (a ``tensor``, ``numel``, ``energy``, ``squared_error`` and ``storage_bits``
    each) as a multiple-choice knapsack per strategy; what is common to every option set.

    ``kurtosis``: per tensor name (reported beside the choices).
    """

    strategies: tuple[str, ...] = ()
    summary_columns: list[str] = []
    choice_columns: list[str] = []

    def __init__(self, options: pd.DataFrame, kurtosis: pd.Series, objective: str = "weighted_nsr",
                 solver: str = "cbc", time_limit_s: float = 60.0, scale_bits: int = 16) -> None:
        self.options = options.reset_index(drop=True)
        self.tensors = list(dict.fromkeys(self.options["tensor"]))
        missing = set(self.tensors) - set(kurtosis.index)
        if missing:
            raise KeyError(f"no kurtosis for tensors {sorted(missing)}")
        self.kurtosis = kurtosis.reindex(self.tensors)
        self.group = self.options["tensor"].map({name: i for i, name in enumerate(self.tensors)}).to_numpy()
        self.cost = option_costs(self.options, objective)
        self.size = self.options["storage_bits"].to_numpy(dtype=np.int64)
        numel = self.options.groupby("tensor", sort=False)["numel"].first()
        self.weights = int(numel.sum())
        self.normaliser = self.weights if objective == "weighted_nsr" else len(self.tensors)
        self.solver, self.time_limit_s, self.scale_bits = solver, time_limit_s, scale_bits

    def _restricted(self, keep: np.ndarray) -> tuple[np.ndarray, MultipleChoiceKnapsack]:
        rows = np.flatnonzero(keep)
        return rows, MultipleChoiceKnapsack(self.group[rows], self.cost[rows], self.size[rows])

    def capacity(self, budget_bits: float) -> int:
        """Bits a budget of ``budget_bits`` per weight allows: floor(b N) + T scale_bits."""
        return int(np.floor(budget_bits * self.weights)) + len(self.tensors) * self.scale_bits

    def _knapsack(self, restricted: tuple[np.ndarray, MultipleChoiceKnapsack], capacity: int,
                  greedy: bool = False) -> tuple[np.ndarray | None, str, float]:
        """(option rows picked, or None; status; seconds) of the MILP (or the greedy) over ``restricted``."""
        rows, knapsack = restricted
        try:
            found: Allocation = (knapsack.greedy(capacity) if greedy
                                 else knapsack.milp(capacity, self.solver, self.time_limit_s))
        except InfeasibleBudget:
            return None, "infeasible", 0.0
        picks = rows[found.picks] if found.size >= 0 else None
        return picks, found.status, found.seconds

    def solve(self, strategy: str, budget_bits: float) -> tuple[np.ndarray | None, str, float]:
        raise NotImplementedError

    def describe(self, strategy: str, picks: np.ndarray | None) -> dict:
        """Columns of the summary row beyond the common ones."""
        return {}

    def chosen(self, model: str, budget_bits: float, picks: np.ndarray) -> pd.DataFrame:
        """The picked option of every tensor (``choice_columns``)."""
        raise NotImplementedError


class ModelAllocation(BudgetedOptions):
    """The paper's options of one model's tensors (``pvq.allocation.options.model_options`` rows).

    ``boundary``: bits -> kurtosis above which the rule prunes (``pvq.zoo.regions.kurtosis_boundary``;
    NaN or absent: never).
    """

    strategies = STRATEGIES
    summary_columns = SUMMARY_COLUMNS
    choice_columns = CHOICE_COLUMNS

    def __init__(self, options: pd.DataFrame, kurtosis: pd.Series, boundary: pd.Series | dict,
                 objective: str = "weighted_nsr", solver: str = "cbc", time_limit_s: float = 60.0,
                 scale_bits: int = 16) -> None:
        super().__init__(options, kurtosis, objective, solver, time_limit_s, scale_bits)
        self.boundary = {int(b): float(k) for b, k in dict(boundary).items()}
        choice = self.options["choice"]
        self._knapsacks = {"all": self._restricted(np.ones(len(self.options), bool)),
                           "quant": self._restricted((choice == "quant").to_numpy()),
                           "prune": self._restricted((choice == "prune").to_numpy())}

    def solve(self, strategy: str, budget_bits: float) -> tuple[np.ndarray | None, str, float]:
        """(option rows picked per tensor, or None; status; seconds) for one strategy and budget."""
        capacity = self.capacity(budget_bits)
        if strategy in ("milp", "greedy", "quant_per_tensor", "prune_only"):
            restricted = self._knapsacks[{"quant_per_tensor": "quant", "prune_only": "prune"}.get(strategy, "all")]
            return self._knapsack(restricted, capacity, greedy=strategy == "greedy")
        if strategy in ("quant_only", "kurtosis_rule"):
            return self._uniform(capacity, kurtosis_rule=strategy == "kurtosis_rule")
        raise ValueError(f"unknown strategy {strategy!r}; known: {STRATEGIES}")

    def _uniform(self, capacity: int, kurtosis_rule: bool) -> tuple[np.ndarray | None, str, float]:
        start = time.perf_counter()
        best = None
        for bits in sorted(self.options.loc[self.options["choice"] == "quant", "bits"].unique()):
            picks = self.rule_picks(int(bits), kurtosis_rule)
            if self.size[picks].sum() <= capacity and (best is None or self.cost[picks].sum() < self.cost[best].sum()):
                best = picks
        return best, "rule" if best is not None else "infeasible", time.perf_counter() - start

    def rule_picks(self, bits: int, kurtosis_rule: bool) -> np.ndarray:
        """Option rows of b-bit quantization everywhere, or of the kurtosis rule at b bits."""
        frame = self.options.assign(row=np.arange(len(self.options)))
        quant = frame[(frame["choice"] == "quant") & (frame["bits"] == bits)].set_index("tensor")["row"]
        picks = quant.reindex(self.tensors).to_numpy().copy()
        if not kurtosis_rule:
            return picks
        threshold = self.boundary.get(bits, np.nan)
        if not np.isfinite(threshold):
            return picks
        for t, name in enumerate(self.tensors):
            if not self.kurtosis[name] > threshold:
                continue
            prune = frame[(frame["tensor"] == name) & (frame["choice"] == "prune")
                          & (frame["storage_bits"] <= self.size[picks[t]])]
            if len(prune):
                picks[t] = int(prune["row"].to_numpy()[np.argmin(self.cost[prune["row"].to_numpy()])])
        return picks

    def chosen(self, model: str, budget_bits: float, picks: np.ndarray) -> pd.DataFrame:
        chosen = self.options.iloc[picks]
        return pd.DataFrame({
            "model": model, "tensor": chosen["tensor"].to_numpy(), "kurtosis": self.kurtosis.to_numpy(),
            "budget_bits": float(budget_bits), "choice": chosen["choice"].to_numpy(),
            "bits": chosen["bits"].to_numpy(), "sparsity": chosen["sparsity"].to_numpy(),
            "numel": chosen["numel"].to_numpy(), "storage_bits": chosen["storage_bits"].to_numpy(),
            "nsr": (chosen["squared_error"] / chosen["energy"]).to_numpy()})


def sweep_budgets(model: str, allocation: BudgetedOptions, budgets: Iterable[float],
                  progress: Callable[[str], None] | None = None,
                  evaluate: Callable[[pd.DataFrame], float] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every strategy of ``allocation`` at every budget (its ``summary_columns``) and the MILP's choices
    (its ``choice_columns``).

    ``evaluate``: given the option rows a strategy picked (one per tensor), the model's test accuracy
    with them applied (``pvq.allocation.apply.AccuracyProbe``); test_accuracy is NaN without it."""
    summary, choices = [], []
    for budget in budgets:
        for strategy in allocation.strategies:
            picks, status, seconds = allocation.solve(strategy, float(budget))
            if picks is None:
                error, storage = np.nan, pd.NA
            else:
                error, storage = float(allocation.cost[picks].sum()), int(allocation.size[picks].sum())
            summary.append({"model": model, "budget_bits": float(budget), "strategy": strategy,
                            "total_error": error, "storage_bits": storage, "solver_status": status,
                            "seconds": seconds,
                            "average_bits": np.nan if picks is None else storage / allocation.weights,
                            "snr_db": np.nan if picks is None else 10 * np.log10(allocation.normaliser / error)
                            if error > 0 else np.inf,
                            "test_accuracy": np.nan if picks is None or evaluate is None
                            else float(evaluate(allocation.options.iloc[picks])),
                            **allocation.describe(strategy, picks)})
            if strategy == "milp" and picks is not None:
                choices.append(allocation.chosen(model, float(budget), picks))
            if progress is not None:
                progress(f"{model}: budget {budget} bits/weight, {strategy}: {status}, {seconds:.2f} s")
    frame = pd.DataFrame(summary, columns=allocation.summary_columns)
    frame["storage_bits"] = frame["storage_bits"].astype("Int64")
    columns = allocation.choice_columns
    picked = pd.concat(choices, ignore_index=True) if choices else pd.DataFrame(columns=columns)
    return frame, picked[columns]
