"""Allocation: the MILP against brute-force enumeration, the greedy never better, storage within
budget, infeasible budgets, and every option's error and size recomputed from the weights."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from conftest import REPO
from pvq.allocation.knapsack import InfeasibleBudget, MultipleChoiceKnapsack
from pvq.allocation.options import Storage, filler_entries, tensor_options
from pvq.allocation.strategies import ModelAllocation, sweep_budgets
from pvq.config import load_config
from pvq.prune import magnitude_mask
from pvq.quantize import quantize_symmetric

# The default tier's storage rules: the schema's defaults (Storage has none of its own).
STORAGE = Storage.from_config(load_config(REPO / "config.yaml"))


def random_instance(rng, groups=4, most=4):
    counts = rng.integers(1, most + 1, size=groups)
    group = np.repeat(np.arange(groups), counts)
    return group, rng.random(group.size), rng.integers(1, 60, size=group.size)


def brute_force(group, cost, size, capacity):
    members = [np.flatnonzero(group == g) for g in range(group.max() + 1)]
    best = np.inf
    for picks in itertools.product(*members):
        picks = list(picks)
        if size[picks].sum() <= capacity:
            best = min(best, cost[picks].sum())
    return best


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_milp_optimum_equals_brute_force_and_greedy_is_never_better(solver):
    rng = np.random.default_rng(7)
    for _ in range(12 if solver == "cbc" else 25):
        group, cost, size = random_instance(rng, groups=int(rng.integers(2, 5)))
        knapsack = MultipleChoiceKnapsack(group, cost, size)
        capacity = int(rng.integers(knapsack.smallest_size(), size.sum() + 1))
        best = brute_force(group, cost, size, capacity)
        exact, greedy = knapsack.milp(capacity, solver), knapsack.greedy(capacity)
        assert exact.status == "optimal"
        assert exact.cost == pytest.approx(best, rel=1e-9, abs=1e-12)
        assert exact.size <= capacity and greedy.size <= capacity
        assert greedy.cost >= best - 1e-12
        assert sorted(group[exact.picks]) == list(range(group.max() + 1))  # one option per group


def test_budget_below_the_cheapest_allocation_is_a_clear_error():
    knapsack = MultipleChoiceKnapsack([0, 0, 1], [1.0, 0.5, 0.2], [10, 20, 5])
    for solve in (knapsack.milp, knapsack.greedy):
        with pytest.raises(InfeasibleBudget, match="below the smallest possible allocation, 15 bits"):
            solve(14)
    assert knapsack.milp(15).cost == pytest.approx(1.2)


def test_undominated_options_keep_the_frontier():
    knapsack = MultipleChoiceKnapsack([0, 0, 0, 0, 1], [3.0, 1.0, 2.0, 1.0, 0.0], [1, 2, 3, 2, 1])
    assert list(knapsack.undominated()) == [0, 1, 4]  # 2 is dominated by 1, 3 is 1's twin


def test_filler_entries_match_an_explicit_walk():
    rng = np.random.default_rng(3)
    for _ in range(20):
        kept = np.flatnonzero(rng.random(300) < rng.uniform(0.01, 0.5))
        index_bits = int(rng.integers(1, 5))
        entries, previous = 0, -1
        for p in kept:  # step from the previous entry by at most 2^index_bits, placing fillers
            while p - previous > 2**index_bits:
                previous += 2**index_bits
                entries += 1
            previous = p
        assert filler_entries(kept, index_bits) == entries


@pytest.mark.parametrize("encoding", ["bitmap", "relative_index", "none"])
def test_every_option_error_and_storage_recomputed_from_the_weights(encoding):
    rng = np.random.default_rng(1)
    w = (rng.standard_t(4, size=(24, 25)) * 0.05).astype(np.float32)
    storage = Storage(16, 16, encoding, 3)
    rows = tensor_options(w, [2, 4], [0.5, 0.75], storage)
    w64 = w.astype(np.float64).ravel()
    assert [r["choice"] for r in rows] == ["fp16", "quant", "quant", "prune", "prune_quant", "prune_quant",
                                           "prune", "prune_quant", "prune_quant"]
    for row in rows:
        c, b = row["sparsity"], row["bits"]
        keep = magnitude_mask(w64, c)
        if row["choice"] == "fp16":
            w_hat, values = w64.astype(np.float16).astype(np.float64), 16 * w64.size
        elif row["choice"] == "quant":
            # the squared error is the minimum over scales: no scale of a dense scan does better
            scans = [np.sum((w64 - quantize_symmetric(w64, s, b)) ** 2)
                     for s in np.linspace(1e-4, np.abs(w64).max(), 4000)]
            assert row["squared_error"] <= min(scans) * (1 + 1e-9)
            assert row["storage_bits"] == b * w64.size + 16
            continue
        elif row["choice"] == "prune":
            w_hat, values = np.where(keep, w64.astype(np.float16).astype(np.float64), 0.0), 16 * keep.sum()
        else:
            survivors = w64[keep]
            scans = [np.sum((survivors - quantize_symmetric(survivors, s, b)) ** 2)
                     for s in np.linspace(1e-4, np.abs(survivors).max(), 4000)]
            assert row["squared_error"] <= np.sum(w64[~keep] ** 2) + min(scans) * (1 + 1e-9)
            assert row["squared_error"] >= np.sum(w64[~keep] ** 2)
            values = b * keep.sum() + 16
            mask = {"bitmap": w64.size, "none": 0,
                    "relative_index": 3 * keep.sum() + filler_entries(np.flatnonzero(keep), 3) * (b + 3)}[encoding]
            assert row["storage_bits"] == values + mask
            continue
        mask = {"bitmap": w64.size if row["choice"] == "prune" else 0, "none": 0,
                "relative_index": (3 * keep.sum() + filler_entries(np.flatnonzero(keep), 3) * 19)
                if row["choice"] == "prune" else 0}[encoding]
        assert row["squared_error"] == pytest.approx(np.sum((w64 - w_hat) ** 2), rel=1e-9, abs=1e-15)
        assert row["storage_bits"] == values + mask


def small_model(rng, tensors=3):
    frames = []
    for t in range(tensors):
        w = rng.laplace(size=int(rng.integers(200, 600))) * 0.1
        frame = pd.DataFrame(tensor_options(w, [2, 3, 4], [0.5, 0.8125, 0.9375], STORAGE))
        frame.insert(0, "energy", float(np.sum(w * w)))
        frame.insert(0, "numel", w.size)
        frame.insert(0, "tensor", f"t{t}")
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def test_budget_sweep_every_strategy_within_budget_and_milp_best():
    rng = np.random.default_rng(5)
    options = small_model(rng)
    kurtosis = pd.Series({"t0": 2.0, "t1": 6.0, "t2": 9.0})
    allocation = ModelAllocation(options, kurtosis, {2: 5.0, 3: 5.0, 4: np.nan})
    summary, choices = sweep_budgets("toy", allocation, [1.5, 2.0, 3.0, 4.0])
    n_weights = options.groupby("tensor")["numel"].first().sum()
    solved = summary[summary["solver_status"] != "infeasible"]
    assert (solved["storage_bits"] <= np.floor(solved["budget_bits"] * n_weights) + 3 * 16).all()
    for budget, rows in summary.groupby("budget_bits"):
        best = rows.set_index("strategy")["total_error"]
        assert (best.dropna() >= best["milp"] * (1 - 1e-12)).all(), budget
        # brute force over all options of the three tensors
        group = pd.factorize(options["tensor"])[0]
        expected = brute_force(group, allocation.cost, allocation.size, allocation.capacity(budget))
        assert best["milp"] == pytest.approx(expected, rel=1e-9)
    # at 1.5 bits per weight only pruning (+ quantization) fits: quantization alone cannot
    low = summary[summary["budget_bits"] == 1.5].set_index("strategy")["solver_status"]
    assert low["quant_only"] == "infeasible" and low["quant_per_tensor"] == "infeasible"
    # the kurtosis rule prunes t1 and t2 (kurtosis above 5) at 2 and 3 bits, and nothing at 4
    rule = allocation.rule_picks(2, kurtosis_rule=True)
    assert list(options.loc[rule, "choice"]) == ["quant", "prune", "prune"]
    assert list(options.loc[allocation.rule_picks(4, kurtosis_rule=True), "choice"]) == ["quant"] * 3
    assert len(choices) == 3 * (summary["strategy"] == "milp").sum()
    assert set(choices.columns) >= {"tensor", "kurtosis", "budget_bits", "choice", "bits", "sparsity"}
