"""The allocation over method specs (formats variant): the MILP against brute force over every
assignment on a 3-tensor toy of mixed formats, storage counted exactly (hand-counted bits for MXFP4,
NVFP4, per-channel INT, 2:4 and its joint), the budget edge at one bit, the uniform and family
strategies against enumeration, and a bad spec in the config named before any job."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from conftest import SMOKE, snakemake
from pvq.allocation.formats import MethodAllocation
from pvq.allocation.method_options import method_model_options, method_tensor_options, whole_bits
from pvq.allocation.strategies import sweep_budgets
from pvq.config import ConfigError
from pvq.formats.specs import checked_methods

MIXED = ["int2/per-channel/mse", "int4/per-channel/mse", "fp8-e4m3/per-channel/mse", "mxfp4", "nvfp4",
         "prune/u0.75", "prune/2:4", "prune/2:4+int4/per-channel/mse"]


def toy_tensors(seed=0):
    """Three tensors of different shapes and tails: a linear, a 3x3 conv and a depthwise kernel."""
    rng = np.random.default_rng(seed)
    return {"fc": rng.standard_normal((16, 64)) * 0.05,
            "conv": rng.standard_t(3, size=(8, 8, 3, 3)) * 0.1,
            "dw": rng.laplace(size=(12, 1, 3, 3)) * 0.3}


def brute_force(options: pd.DataFrame, capacity: int, keep=None) -> float:
    """Least size-weighted NSR over every assignment of one option per tensor within ``capacity``."""
    rows = options if keep is None else options[keep]
    per_tensor = [part for _, part in rows.groupby("tensor", sort=False)]
    best = np.inf
    for picks in itertools.product(*(part.itertuples() for part in per_tensor)):
        if sum(p.storage_bits for p in picks) <= capacity:
            best = min(best, sum(p.numel * p.squared_error / p.energy for p in picks))
    return best


@pytest.fixture(scope="module")
def toy():
    methods = checked_methods(MIXED)
    tensors = toy_tensors()
    options = method_model_options(tensors, methods)
    kurtosis = pd.Series({name: 3.0 for name in tensors})
    return tensors, methods, options, MethodAllocation(options, kurtosis)


@pytest.mark.parametrize("solver", ["cbc", "highs"])
def test_milp_equals_brute_force_over_every_assignment_of_mixed_formats(toy, solver):
    tensors, methods, options, _ = toy
    allocation = MethodAllocation(options, pd.Series({name: 3.0 for name in tensors}), solver=solver)
    assert len(options) == len(tensors) * len(methods)
    weights = sum(w.size for w in tensors.values())
    per_tensor = [part.tolist() for _, part in options.groupby("tensor", sort=False)["storage_bits"]]
    sizes = sorted({sum(sizes) for sizes in itertools.product(*per_tensor)})
    # budgets at and one bit around every assignment's exact size, and the edges of the range
    capacities = {sizes[0] - 1, sizes[0], sizes[-1], sizes[-1] + 7}
    capacities |= {sizes[i] + d for i in np.linspace(0, len(sizes) - 1, 9).astype(int) for d in (-1, 0)}
    scale = allocation.capacity(0.0)  # the per-tensor allowance: capacity = floor(b N) + T scale_bits
    for capacity in sorted(capacities):
        budget = (capacity - scale + 0.5) / weights
        if budget <= 0:
            continue
        assert allocation.capacity(budget) == capacity
        expected = brute_force(options, capacity)
        picks, status, _ = allocation.solve("milp", budget)
        if not np.isfinite(expected):
            assert picks is None and status == "infeasible"
            continue
        assert status == "optimal"
        assert allocation.size[picks].sum() <= capacity
        assert allocation.cost[picks].sum() == pytest.approx(expected, rel=1e-12, abs=1e-15)
        greedy, _, _ = allocation.solve("greedy", budget)
        assert allocation.cost[greedy].sum() >= expected * (1 - 1e-12)
        for family in ("quant", "prune", "joint"):
            keep = options["family"] == family
            restricted = brute_force(options, capacity, keep)
            found, status, _ = allocation.solve(f"milp_{family}", budget)
            if np.isfinite(restricted):
                assert set(options.loc[found, "family"]) == {family}
                assert allocation.cost[found].sum() == pytest.approx(restricted, rel=1e-12, abs=1e-15)
            else:
                assert found is None and status == "infeasible"


def test_option_errors_are_the_methods_reconstructions(toy):
    tensors, methods, options, _ = toy
    for row in options.itertuples():
        w = tensors[row.tensor]
        w_hat, _ = methods[row.spec].apply(w)
        assert row.squared_error == pytest.approx(np.sum((w - w_hat) ** 2), rel=1e-12, abs=1e-18)
        assert row.energy == pytest.approx(np.sum(w * w), rel=1e-12)
        assert row.family == methods[row.spec].family


def test_storage_is_the_hand_counted_exact_bits():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((64, 128))  # 8192 weights, rows of 128: whole groups of 16 and 32
    rows = {r["spec"]: r for r in method_tensor_options(w, checked_methods(
        ["mxfp4", "nvfp4", "int4/per-channel/mse", "int4/per-tensor/mse", "prune/2:4", "prune/u0.75",
         "prune/u0.75/entropy", "prune/2:4+int4/per-channel/mse", "int4/group128/mse"]))}
    n = 8192
    # MXFP4: 4-bit codes + one 8-bit E8M0 scale per 32 weights = 4.25 bits per weight
    assert rows["mxfp4"]["storage_bits"] == 4 * n + 8 * (n // 32) == 34816
    assert rows["mxfp4"]["bits_per_weight"] == 4.25
    # NVFP4: 4-bit codes + an 8-bit E4M3 scale per 16 weights + one FP32 tensor scale (4.5 + 32/n)
    assert rows["nvfp4"]["storage_bits"] == 4 * n + 8 * (n // 16) + 32 == 36896
    assert rows["nvfp4"]["bits_per_weight"] == 4.5 + 32 / n
    # INT4 per channel: a 16-bit scale per row; per tensor: one; per group of 128: one per row again
    assert rows["int4/per-channel/mse"]["storage_bits"] == 4 * n + 16 * 64
    assert rows["int4/per-tensor/mse"]["storage_bits"] == 4 * n + 16
    assert rows["int4/group128/mse"]["storage_bits"] == 4 * n + 16 * 64
    # 2:4: half the weights in FP16 + 2 bits of index per kept value = 9 bits per weight
    assert rows["prune/2:4"]["storage_bits"] == 16 * n // 2 + 2 * n // 2 == 9 * n
    # 75% unstructured: FP16 survivors + a 1-bit map; with the entropy bound n H(1/4), rounded up
    assert rows["prune/u0.75"]["storage_bits"] == 16 * n // 4 + n
    entropy = n * -(0.25 * math.log2(0.25) + 0.75 * math.log2(0.75))
    assert rows["prune/u0.75/entropy"]["storage_bits"] == 16 * n // 4 + math.ceil(entropy)
    # 2:4 then INT4 per channel: 4-bit kept codes, 2-bit indices, a 16-bit scale per row = 3.125
    assert rows["prune/2:4+int4/per-channel/mse"]["storage_bits"] == 4 * n // 2 + 2 * n // 2 + 16 * 64 == 25600
    # a conv kernel whose rows (3*3*16 = 144) end in a short group: MXFP4 has ceil(144/32) = 5 scales per row
    conv = {r["spec"]: r for r in method_tensor_options(rng.standard_normal((32, 16, 3, 3)), checked_methods(["mxfp4"]))}
    assert conv["mxfp4"]["storage_bits"] == 4 * 4608 + 8 * 5 * 32
    assert whole_bits(34816.0000000001) == 34816 and whole_bits(6645.99) == 6646


def test_budget_admits_a_format_at_its_exact_size_and_not_one_bit_less():
    rng = np.random.default_rng(2)
    tensors = {"w": rng.standard_normal((64, 128))}
    options = method_model_options(tensors, checked_methods(["int2/per-channel/mse", "mxfp4", "nvfp4"]))
    by_spec = options.set_index("spec")
    assert by_spec.loc["mxfp4", "squared_error"] < by_spec.loc["int2/per-channel/mse", "squared_error"]
    assert by_spec.loc["nvfp4", "squared_error"] < by_spec.loc["mxfp4", "squared_error"]
    allocation = MethodAllocation(options, pd.Series({"w": 3.0}))
    allowance = allocation.capacity(0.0)  # 16 bits: the capacity's one scale per tensor
    for spec, fallback in (("mxfp4", "int2/per-channel/mse"), ("nvfp4", "mxfp4")):
        exact = int(by_spec.loc[spec, "storage_bits"])
        at, below = (exact - allowance + 0.5) / 8192, (exact - 1 - allowance + 0.5) / 8192
        picks, status, _ = allocation.solve("milp", at)
        assert status == "optimal" and options.loc[picks[0], "spec"] == spec
        picks, _, _ = allocation.solve("milp", below)
        assert options.loc[picks[0], "spec"] == fallback


def test_sweep_rows_follow_the_contract_and_uniform_is_the_best_single_spec(toy):
    tensors, methods, options, allocation = toy
    weights = sum(w.size for w in tensors.values())
    summary, choices = sweep_budgets("toy", allocation, [2.0, 3.0, 4.25, 9.0])
    assert summary.loc[summary["budget_bits"] == 2.0, "solver_status"].eq("infeasible").all()
    assert list(summary["strategy"].unique()) == ["milp", "greedy", "milp_quant", "milp_prune", "milp_joint",
                                                  "uniform"]
    for budget, rows in summary.groupby("budget_bits"):
        rows = rows.set_index("strategy")
        assert (rows["total_error"].dropna() >= rows.loc["milp", "total_error"] * (1 - 1e-12)).all()
        capacity = allocation.capacity(budget)
        fits = {spec: part for spec, part in options.groupby("spec")
                if part["storage_bits"].sum() <= capacity}
        errors = {spec: float(np.sum(part["numel"] * part["squared_error"] / part["energy"]))
                  for spec, part in fits.items()}
        if errors:
            best = min(errors, key=errors.get)
            assert rows.loc["uniform", "spec"] == best
            assert rows.loc["uniform", "total_error"] == pytest.approx(errors[best], rel=1e-12)
        else:
            assert rows.loc["uniform", "solver_status"] == "infeasible"
        assert pd.isna(rows.loc["milp", "spec"])
        picked = choices[choices["budget_bits"] == budget]
        if rows.loc["milp", "solver_status"] == "infeasible":  # 2 bits: below every tensor's cheapest option
            assert picked.empty and not errors and rows["total_error"].isna().all()
            continue
        assert list(picked["tensor"]) == list(tensors)
        assert picked["storage_bits"].sum() == rows.loc["milp", "storage_bits"]
        assert np.sum(picked["numel"] * picked["nsr"]) == pytest.approx(rows.loc["milp", "total_error"], rel=1e-12)
        assert rows.loc["milp", "average_bits"] == pytest.approx(picked["storage_bits"].sum() / weights)


def test_a_spec_that_does_not_parse_is_a_config_error_naming_its_key(tmp_path):
    with pytest.raises(ConfigError, match=r"allocation.specs\[1\]'.*'int4/per-chanel/mse'.*granularity"):
        checked_methods(["mxfp4", "int4/per-chanel/mse"], key="allocation.specs")
    with pytest.raises(ConfigError, match=r"allocation.specs\[1\]'.*is the method 'mxfp4' again"):
        checked_methods(["mxfp4", "mxfp4/shared-exp"], key="allocation.specs")
    overlay = tmp_path / "bad.yaml"
    overlay.write_text("allocation:\n  specs: [mxfp4, nvfp5]\n")
    result = snakemake("-n", "--configfile", str(SMOKE), str(overlay), workdir=tmp_path, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "allocation.specs[1]" in output and "nvfp5" in output
