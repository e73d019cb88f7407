"""The fine-tuning stage in the smoke run: artifact contracts, the FP baseline other stages load,
and named targets that build only what they need."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import PAPER, REPO, SMOKE, snakemake
from pvq.config import load_config

pytestmark = pytest.mark.pipeline
RUN_FIELDS = {"model", "method", "bits", "task", "metric_name", "table_metrics", "metric", "metrics", "val_metric",
              "fp_metric", "fp_metrics", "sparsity", "sparsity_target", "epochs", "seeds", "runs", "seconds",
              "schedule"}
SEED_FIELDS = {"seed", "lr", "lr_grid", "metric", "metrics", "start_metrics", "val_metric", "history", "sparsity"}


@pytest.mark.parametrize("model", ["digits_resnet", "efficientnet_lite0"])
@pytest.mark.parametrize("folder", ["", "long/"])
@pytest.mark.parametrize("method", ["quant", "prune"])
def test_run_records_follow_the_contract(smoke_run, model, folder, method):
    stage = smoke_run / "finetune" / model
    record = json.loads((stage / f"{folder}{method}-b4.json").read_text())
    assert RUN_FIELDS <= set(record)
    assert record["method"] == method and record["bits"] == 4 and record["seeds"] == [0, 1]
    for run in record["runs"]:
        assert SEED_FIELDS <= set(run)
        assert len(run["history"]) == record["epochs"] == (2 if folder else 1)
        assert set(run["metrics"]) >= set(record["table_metrics"])
    if method == "prune":
        assert record["sparsity"] == pytest.approx(0.75, abs=1e-3) and record["sparsity_target"] == 0.75
    assert 0 <= record["metric"] <= 100
    if model == "efficientnet_lite0":
        assert record["table_metrics"] == ["agree", "acc"] and record["fp_metrics"]["agree"] == 100.0
    reps = pd.read_csv(stage / f"{folder}{method}-b4_representations.csv")
    assert list(reps.columns) == ["model", "method", "bits", "seed", "epoch", "layer", "layer_index", "snr_db", "cka"]
    assert sorted(reps["epoch"].unique()) == list(range(record["epochs"] + 1))
    assert sorted(reps["seed"].unique()) == [0, 1]
    assert reps["cka"].between(0, 1 + 1e-9).all()


def test_fp_baseline_loads_and_evaluates_as_recorded(smoke_run):
    """The cross-stage contract (allocation): fp.pt + build_digits_resnet + digits_split + evaluate."""
    from pvq.finetune.evaluate import evaluate
    from pvq.models.digits import digits_split, load_digits_resnet

    config = load_config(REPO / "config.yaml", SMOKE)
    stage = smoke_run / "finetune" / "digits_resnet"
    record = json.loads((stage / "fp.json").read_text())
    model = load_digits_resnet(stage / "fp.pt")
    assert model.fc.in_features == 2 * config["finetune"]["digits"]["width"]
    assert evaluate(model, digits_split(config["seed"]).test) == record["metric"]
    assert record["epochs"] == 4 and record["seed"] == 0


def test_tables_figures_and_comparisons(smoke_run):
    for stem in ("table1_finetune", "table5_finetune_long"):
        table = pd.read_csv(smoke_run / "tables" / f"{stem}.csv")
        assert list(table.columns) == ["model", "metric", "fp", "bits", "quant", "prune", "quant_lo", "quant_hi",
                                       "prune_lo", "prune_hi", "seeds", "winner"]
        assert table[["model", "metric"]].values.tolist() == [["digits_resnet", "acc"], ["efficientnet_lite0", "agree"],
                                                              ["efficientnet_lite0", "acc"]]
        assert table[["quant", "prune", "quant_lo", "prune_hi"]].notna().all().all()
        assert (table["quant_lo"] <= table["quant"]).all() and (table["prune"] <= table["prune_hi"]).all()
        assert table["winner"].isin(["quant", "prune", "inconclusive"]).all() and (table["seeds"] == 2).all()
        assert (smoke_run / "tables" / f"{stem}.md").read_text().startswith("| model")
    for name in ("fig6_snr_vs_accuracy", "fig7_representations_by_layer", "fig8_representations_last_layer"):
        assert (smoke_run / "figures" / f"{name}.png").read_bytes().startswith(b"\x89PNG")
    for stem in ("compare_table1_finetune", "compare_table5_finetune_long"):
        compare = pd.read_csv(smoke_run / "tables" / f"{stem}.csv")
        assert (compare["kind"] == "claim").all()
        assert compare["holds"].isin(["yes", "no", "partly", "inconclusive"]).all()
    sensitivity = pd.read_csv(smoke_run / "finetune" / "digits_resnet" / "sensitivity.csv")
    assert len(sensitivity) == 9 * 2  # 9 conv/linear layers x (quant, prune) at 4 bits
    lite0 = pd.read_csv(smoke_run / "finetune" / "efficientnet_lite0" / "sensitivity.csv")
    assert len(lite0) == 50 * 2
    correlation = pd.read_csv(smoke_run / "finetune" / "efficientnet_lite0" / "sensitivity_correlation.csv")
    both = correlation.set_index("method").loc["both"]
    assert both["pearson_nmse_drop_lo"] <= both["pearson_nmse_drop"] <= both["pearson_nmse_drop_hi"]
    card = (smoke_run / "cards" / "finetune.md").read_text()
    assert "LSQ" in card and "Zhu & Gupta" in card


def test_table1_target_builds_only_what_it_needs(tmp_path):
    result = snakemake("table1", "-n", "--cores", "2", "--configfile", str(SMOKE), workdir=tmp_path)
    jobs = result.stdout + result.stderr
    assert "finetune_run " in jobs or "finetune_run\n" in jobs
    for other in ("finetune_run_long", "measure_layer_sensitivity", "plot_fig7", "compute_analytic_normal"):
        assert other not in jobs


def test_paper_tier_dry_runs_every_table1_model(tmp_path):
    result = snakemake("table1", "-n", "--cores", "2", "--configfile", str(PAPER), workdir=tmp_path)
    jobs = result.stdout + result.stderr
    for model in ("resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_small", "efficientnet_lite0", "vit_b_16",
                  "deeplabv3", "efficientdet", "opt_350m"):
        assert f"finetune/{model}/quant-b2.json" in jobs and f"finetune/{model}/prune-b8.json" in jobs
        assert f"finetune/{model}/fp.json" in jobs
