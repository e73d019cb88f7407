"""The allocation stage in the smoke DAG: CSV contracts, storage within budget recomputed from the
weights, the MILP best of all strategies, figures, card; the fig10 target plans only what it needs;
a model outside the zoo is a config error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import SMOKE, snakemake
from pvq.config import ConfigError, load_config
from pvq.models.registry import weight_tensors
from test_zoo_pipeline import planned_jobs

pytestmark = pytest.mark.pipeline

SUMMARY = ["budget_bits", "strategy", "total_error", "storage_bits", "solver_status", "seconds"]
CHOICES = ["tensor", "kurtosis", "budget_bits", "choice", "bits", "sparsity"]
STRATEGIES = {"milp", "greedy", "quant_only", "quant_per_tensor", "prune_only", "kurtosis_rule"}


def test_allocation_csvs_follow_the_contract_and_the_budget(smoke_run):
    summary = pd.read_csv(smoke_run / "allocation" / "efficientnet_lite0.csv")
    choices = pd.read_csv(smoke_run / "allocation" / "efficientnet_lite0_choices.csv")
    zoo = pd.read_csv(smoke_run / "zoo" / "efficientnet_lite0.csv")
    assert all(name in summary.columns for name in SUMMARY)
    assert all(name in choices.columns for name in CHOICES)
    assert sorted(summary["budget_bits"].unique()) == [2, 4, 6]
    assert set(summary["strategy"]) == STRATEGIES and len(summary) == 3 * len(STRATEGIES)
    tensors = weight_tensors("efficientnet_lite0")
    names = list(zoo["tensor"].unique())
    n_weights = sum(tensors[name].size for name in names)
    capacity = np.floor(summary["budget_bits"] * n_weights) + 16 * len(names)
    solved = summary[summary["solver_status"] != "infeasible"]
    assert (solved["storage_bits"] <= capacity[solved.index]).all()
    assert set(summary.loc[summary["strategy"] == "milp", "solver_status"]) == {"optimal"}
    for budget, rows in summary.groupby("budget_bits"):
        errors = rows.set_index("strategy")["total_error"].dropna()
        assert (errors >= errors["milp"] * (1 - 1e-9)).all(), budget
    # the MILP's choices: one per tensor and budget, their sizes adding up to the recorded storage
    milp = summary[summary["strategy"] == "milp"].set_index("budget_bits")
    for budget, rows in choices.groupby("budget_bits"):
        assert list(rows["tensor"]) == names
        assert rows["storage_bits"].sum() == milp.loc[budget, "storage_bits"]
        kurtosis = zoo.groupby("tensor", sort=False)["kurtosis"].first()
        assert np.allclose(rows["kurtosis"], kurtosis[rows["tensor"]].to_numpy())
        # size-weighted NSR recomputed from the choices equals the recorded objective
        objective = float(np.sum(rows["numel"] * rows["nsr"]))
        assert objective == pytest.approx(milp.loc[budget, "total_error"], rel=1e-9)
    assert set(choices["choice"]) <= {"fp16", "quant", "prune", "prune_quant"}


def test_formats_variant_counts_exact_storage_within_the_same_budgets(smoke_run):
    from pvq.allocation.artifacts import FORMATS_CHOICES, FORMATS_SUMMARY
    from pvq.config import load_config
    from pvq.methods import parse

    specs = load_config(SMOKE.parent.parent / "config.yaml", SMOKE)["allocation"]["specs"]
    summary = FORMATS_SUMMARY.read(smoke_run / "allocation" / "efficientnet_lite0_formats.csv")
    choices = FORMATS_CHOICES.read(smoke_run / "allocation" / "efficientnet_lite0_formats_choices.csv")
    paper = pd.read_csv(smoke_run / "allocation" / "efficientnet_lite0.csv")
    assert sorted(summary["budget_bits"].unique()) == sorted(paper["budget_bits"].unique())
    assert set(summary["strategy"]) == {"milp", "greedy", "milp_quant", "milp_prune", "milp_joint", "uniform"}
    tensors = weight_tensors("efficientnet_lite0")
    names = list(pd.read_csv(smoke_run / "zoo" / "efficientnet_lite0.csv")["tensor"].unique())
    capacity = np.floor(summary["budget_bits"] * sum(tensors[n].size for n in names)) + 16 * len(names)
    solved = summary[summary["solver_status"] != "infeasible"]
    assert (solved["storage_bits"] <= capacity[solved.index]).all()
    assert set(summary.loc[summary["strategy"] == "milp", "solver_status"]) == {"optimal"}  # INT2 per tensor fits 2 bits
    assert set(solved["spec"].dropna()) <= set(specs) and solved.loc[solved["strategy"] == "uniform", "spec"].notna().all()
    milp = summary[summary["strategy"] == "milp"].set_index("budget_bits")
    for budget, rows in summary.groupby("budget_bits"):
        errors = rows.set_index("strategy")["total_error"].dropna()
        assert errors.empty or (errors >= errors["milp"] * (1 - 1e-9)).all(), budget
    for budget, rows in choices.groupby("budget_bits"):
        assert list(rows["tensor"]) == names
        # every pick's storage recomputed from its spec and the real tensor's shape
        exact = [parse(row.spec).bits_per_weight(tensors[row.tensor].shape) * row.numel for row in rows.itertuples()]
        assert np.allclose(rows["storage_bits"], exact, rtol=0, atol=1e-6)
        assert rows["storage_bits"].sum() == milp.loc[budget, "storage_bits"]
        assert float(np.sum(rows["numel"] * rows["nsr"])) == pytest.approx(milp.loc[budget, "total_error"], rel=1e-9)
    from pvq.allocation.artifacts import FORMATS_SHARES

    shares = FORMATS_SHARES.read(smoke_run / "allocation" / "formats_shares.csv")
    for budget, rows in shares.groupby("budget_bits"):
        picked = choices[choices["budget_bits"] == budget]
        assert rows["weights"].sum() == picked["numel"].sum() and rows["tensors"].sum() == len(picked)
        assert rows["weight_share"].sum() == pytest.approx(1.0) and rows["storage_share"].sum() == pytest.approx(1.0)
        assert set(rows["spec"]) == set(picked["spec"])
    # the paper's options stay as they were: its strategies only, in its own file
    assert set(paper["strategy"]) == STRATEGIES


def test_choices_summary_equals_a_recomputation_from_the_choices_and_the_zoo(smoke_run):
    from pvq.allocation.artifacts import CHOICES_SUMMARY
    from pvq.zoo.regions import kurtosis_boundary

    summary = CHOICES_SUMMARY.read(smoke_run / "allocation" / "choices_summary.csv").set_index("budget_bits")
    choices = pd.read_csv(smoke_run / "allocation" / "efficientnet_lite0_choices.csv")
    boundary = kurtosis_boundary(pd.read_csv(smoke_run / "zoo" / "efficientnet_lite0.csv"), masked=True)
    assert sorted(summary.index) == sorted(choices["budget_bits"].unique())
    for budget, rows in choices.groupby("budget_bits"):
        pruned = sum(row.numel for row in rows.itertuples() if row.choice in ("prune", "prune_quant"))
        assert summary.loc[budget, "weights"] == rows["numel"].sum()
        assert summary.loc[budget, "pruned_weights"] == pruned
        assert summary.loc[budget, "pruned_share"] == pytest.approx(pruned / rows["numel"].sum(), rel=1e-12)
        expected = boundary.get(int(np.floor(budget)), np.nan)
        assert summary.loc[budget, "kurtosis_boundary"] == pytest.approx(expected, rel=1e-12, nan_ok=True)


@pytest.mark.parametrize("name", ["fig10_allocation_pareto", "fig11_allocation_choices", "fig15_allocation_formats"])
def test_allocation_figures_and_card(smoke_run, name):
    assert (smoke_run / "figures" / f"{name}.pdf").read_bytes().startswith(b"%PDF")
    assert (smoke_run / "figures" / f"{name}.png").read_bytes().startswith(b"\x89PNG")
    card = (smoke_run / "cards" / "allocation.md").read_text()
    assert "efficientnet_lite0" in card and "2, 4, 6 bits per weight" in card and "cbc" in card
    assert "10 method specs offered to every tensor: int2/per-tensor/mse" in card


def test_fig10_target_plans_only_what_it_needs(tmp_path):
    jobs = planned_jobs("fig10", "--configfile", str(SMOKE), workdir=tmp_path)
    assert jobs == {"sweep_zoo_model": 1, "allocate_model": 1, "plot_fig10": 1, "fig10": 1, "total": 4}


def test_fig15_target_plans_only_what_it_needs(tmp_path):
    jobs = planned_jobs("fig15", "--configfile", str(SMOKE), workdir=tmp_path)
    assert jobs == {"sweep_zoo_model": 1, "allocate_model": 1, "allocate_model_formats": 1,
                    "summarize_allocation_formats": 1, "plot_fig15": 1, "fig15": 1, "total": 6}


def test_allocation_model_outside_the_zoo_is_a_config_error(tmp_path):
    overlay = tmp_path / "bad.yaml"
    overlay.write_text("allocation:\n  models: [efficientnet_lite1]\n")
    with pytest.raises(ConfigError, match="allocation.models.*efficientnet_lite1.*not in zoo.models"):
        load_config(SMOKE.parent.parent / "config.yaml", SMOKE, overlay)
    result = snakemake("-n", "--configfile", str(SMOKE), str(overlay), workdir=tmp_path, check=False)
    assert result.returncode != 0 and "not in zoo.models" in result.stdout + result.stderr
