"""An allocation applied to a (tiny, briefly trained) digits model: the weights equal the options'
reconstructions (their error recomputed from the weights), FP16 everywhere keeps the FP accuracy,
every strategy gets an accuracy, the correlation matches scipy's, and the workflow plans the job."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from conftest import REPO, SMOKE
from pvq.allocation.apply import AccuracyProbe, accuracy_correlation, model_tensors
from pvq.allocation.options import Storage, model_options
from pvq.allocation.strategies import STRATEGIES, ModelAllocation, sweep_budgets
from pvq.config import load_config
from pvq.metrics import kurtosis
from pvq.models.digits import build_digits_resnet, digits_split
from test_zoo_pipeline import planned_jobs

# The default tier's storage rules: the schema's defaults (Storage has none of its own).
STORAGE = Storage.from_config(load_config(REPO / "config.yaml"))


@pytest.fixture(scope="module")
def trained():
    """A width-4 digits ResNet after 60 Adam steps (well above chance), its test split and options."""
    torch.manual_seed(0)
    torch.set_num_threads(1)
    data = digits_split(0)
    model = build_digits_resnet(width=4)
    optimiser = torch.optim.Adam(model.parameters(), lr=0.02)
    for step in range(60):
        index = torch.arange(step * 32, step * 32 + 32) % len(data.train)
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(model(data.train.x[index]), data.train.y[index]).backward()
        optimiser.step()
    model.eval()
    tensors = model_tensors(model)
    options = model_options(tensors, [2, 4, 8], [0.5, 0.75], STORAGE)
    return model, data.test, tensors, options


def test_applied_weights_are_the_options_reconstructions(trained):
    model, test, tensors, options = trained
    probe = AccuracyProbe(model, test)
    for row in options.itertuples(index=False):
        applied = probe.apply(pd.DataFrame([row._asdict()]))
        state = applied.state_dict()
        w = tensors[row.tensor].astype(np.float64)
        w_hat = state[row.tensor].numpy().astype(np.float64)
        # the error recomputed from the applied weights is the option's (float32 storage: 1e-5)
        assert np.sum((w - w_hat) ** 2) == pytest.approx(row.squared_error, rel=1e-5, abs=1e-12), row
        if row.choice in ("prune", "prune_quant"):
            assert np.count_nonzero(w_hat == 0) >= round(row.sparsity * w.size)
        if row.choice in ("quant", "prune_quant"):
            assert np.unique(np.abs(w_hat[w_hat != 0])).size <= 2 ** (row.bits - 1)
        others = [name for name in tensors if name != row.tensor]
        assert all(torch.equal(state[name], model.state_dict()[name]) for name in others)


def test_fp16_everywhere_keeps_the_fp_accuracy_and_every_strategy_is_evaluated(trained):
    model, test, tensors, options = trained
    probe = AccuracyProbe(model, test)
    assert probe.fp_accuracy > 50  # trained, not chance
    one_image = 100.0 / len(test)
    assert abs(probe(options[options["choice"] == "fp16"]) - probe.fp_accuracy) <= one_image + 1e-9
    kurt = pd.Series({name: kurtosis(w) for name, w in tensors.items()})
    allocation = ModelAllocation(options, kurt, {})
    summary, choices = sweep_budgets("digits_resnet", allocation, [3, 16], evaluate=probe)
    assert set(summary["strategy"]) == set(STRATEGIES)
    solved = summary["solver_status"] != "infeasible"  # pruning alone cannot reach 3 bits here
    assert np.isfinite(summary.loc[solved, "test_accuracy"]).all() and (~solved).sum() == 1
    assert summary.loc[~solved, "test_accuracy"].isna().all()
    largest = choices[choices["budget_bits"] == 16]
    assert set(largest["choice"]) == {"fp16"}  # the least-error option of every tensor
    milp = summary[(summary["strategy"] == "milp") & (summary["budget_bits"] == 16)]
    assert abs(float(milp["test_accuracy"].iloc[0]) - probe.fp_accuracy) <= one_image + 1e-9
    # the recorded accuracy is the applied model's, evaluated independently by hand
    picks, _, _ = allocation.solve("quant_only", 3.0)
    applied = probe.apply(allocation.options.iloc[picks])
    with torch.no_grad():
        correct = 100.0 * int((applied(test.x).argmax(1) == test.y).sum()) / len(test)
    recorded = summary[(summary["strategy"] == "quant_only") & (summary["budget_bits"] == 3)]["test_accuracy"]
    assert float(recorded.iloc[0]) == pytest.approx(correct, abs=1e-9)
    without, _ = sweep_budgets("digits_resnet", allocation, [3])
    assert without["test_accuracy"].isna().all()


def test_correlation_matches_scipy():
    rng = np.random.default_rng(3)
    error = rng.random(12) + 0.01
    accuracy = 90 - 40 * error + rng.normal(0, 5, 12)
    summary = pd.DataFrame({"model": "m", "strategy": np.repeat(["milp", "greedy"], 6),
                            "total_error": error, "test_accuracy": accuracy})
    table = accuracy_correlation(summary, 95.0).set_index("strategy")
    assert table.loc["all", "points"] == 12
    assert table.loc["all", "spearman_rho"] == pytest.approx(stats.spearmanr(error, 95 - accuracy).statistic)
    assert table.loc["milp", "pearson_r_log_error"] == pytest.approx(
        stats.pearsonr(np.log10(error[:6]), 95 - accuracy[:6]).statistic)


def test_digits_model_is_allocated_from_the_finetune_checkpoint(tmp_path):
    overlay = tmp_path / "digits.yaml"
    overlay.write_text("allocation:\n  models: [efficientnet_lite0, digits_resnet]\n")
    jobs = planned_jobs("fig10", "--configfile", str(SMOKE), str(overlay), workdir=tmp_path)
    assert jobs == {"sweep_zoo_model": 1, "allocate_model": 1, "train_fp_baseline": 1,
                    "allocate_trained_model": 1, "plot_fig10": 1, "fig10": 1, "total": 6}
    root = SMOKE.parent.parent / "config.yaml"
    assert "digits_resnet" in load_config(root)["allocation"]["models"]


def test_method_options_are_applied_as_the_methods_store_them(trained):
    from pvq.allocation.formats import MethodAllocation
    from pvq.allocation.method_options import method_model_options
    from pvq.formats.specs import checked_methods

    model, test, tensors, _ = trained
    methods = checked_methods(["int4/per-channel/mse", "mxfp4", "prune/2:4", "prune/2:4+int4/per-channel/mse"])
    options = method_model_options(tensors, methods)
    probe = AccuracyProbe(model, test, stored=lambda w, row: methods[row.spec].apply(w)[0])
    for row in options.itertuples(index=False):
        state = probe.apply(pd.DataFrame([row._asdict()])).state_dict()
        w = tensors[row.tensor].astype(np.float64)
        w_hat = state[row.tensor].numpy().astype(np.float64)
        assert np.sum((w - w_hat) ** 2) == pytest.approx(row.squared_error, rel=1e-5, abs=1e-12), row
        if row.family != "quant":  # 2:4: at least 2 of every 4 weights along the reduction dimension are zero
            groups = np.moveaxis(w_hat, 1, -1).reshape(w_hat.shape[0], -1) if w_hat.ndim > 2 else w_hat
            if groups.shape[1] % 4 == 0:
                assert (np.count_nonzero(groups.reshape(-1, 4), axis=1) <= 2).all()
    kurt = pd.Series({name: kurtosis(w) for name, w in tensors.items()})
    summary, _ = sweep_budgets("digits_resnet", MethodAllocation(options, kurt), [3, 9], evaluate=probe)
    solved = summary["solver_status"] != "infeasible"
    assert solved.any() and np.isfinite(summary.loc[solved, "test_accuracy"]).all()
    assert summary.loc[~solved, "test_accuracy"].isna().all()
