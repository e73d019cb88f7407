"""The zoo stage in the smoke DAG: CSV contract, numbers recomputed from the real weights, figures,
Table 2, comparisons, card; targets, the paper tier's 46 models and unknown models in the config."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from conftest import PAPER, SMOKE, snakemake
from pvq.metrics import snr_db
from pvq.models.registry import weight_tensors
from pvq.prune import magnitude_mask
from pvq.quantize import quantize_symmetric

pytestmark = pytest.mark.pipeline

CONTRACT = ["model", "tensor", "shape", "numel", "kurtosis", "bits", "sparsity", "quant_scale",
            "quant_snr_db", "natural_sparsity", "prune_snr_db", "prune_sparsity_masked", "prune_snr_db_masked"]
FIG3 = ["fig3_zoo_snr", "fig3_zoo_snr_masked", "fig3_kurtosis_regions", "fig3_kurtosis_regions_masked"]


def test_zoo_csv_follows_the_contract_and_the_weights(smoke_run):
    zoo = pd.read_csv(smoke_run / "zoo" / "efficientnet_lite0.csv")
    assert list(zoo.columns) == CONTRACT
    assert len(zoo) == 12 * 3 and sorted(zoo["bits"].unique()) == [2, 4, 8]
    tensors = weight_tensors("efficientnet_lite0")
    assert zoo["tensor"].unique().tolist() == list(tensors)[:12]
    for row in zoo.iloc[::5].itertuples():
        w = tensors[row.tensor].astype(np.float64).ravel()
        energy = np.sum(w * w)
        q = quantize_symmetric(w, row.quant_scale, row.bits)
        assert row.numel == w.size and row.shape == "x".join(map(str, tensors[row.tensor].shape))
        assert row.kurtosis == pytest.approx(stats.kurtosis(w, fisher=False), rel=1e-9)
        assert row.quant_snr_db == pytest.approx(snr_db(energy, np.sum((w - q) ** 2)), abs=1e-6)
        assert row.natural_sparsity == pytest.approx(np.mean(q == 0), abs=1e-12)
        pruned = np.where(magnitude_mask(w, row.sparsity), w, 0.0)
        assert row.prune_snr_db == pytest.approx(snr_db(energy, np.sum((w - pruned) ** 2)), abs=1e-9)
        assert 16 * (1 - row.prune_sparsity_masked) + 1 == pytest.approx(row.bits)


@pytest.mark.parametrize("name", FIG3)
def test_fig3_panels_exist_as_pdf_and_png(smoke_run, name):
    assert (smoke_run / "figures" / f"{name}.pdf").read_bytes().startswith(b"%PDF")
    assert (smoke_run / "figures" / f"{name}.png").read_bytes().startswith(b"\x89PNG")


def test_table2_and_comparisons(smoke_run):
    zoo = pd.read_csv(smoke_run / "zoo" / "efficientnet_lite0.csv")
    table = pd.read_csv(smoke_run / "tables" / "table2_natural_sparsity.csv").set_index("bits")
    assert list(table.index) == [8, 4, 2]
    expected = 100 * zoo.groupby("bits")["natural_sparsity"].mean()
    for bits in (2, 4, 8):
        assert table.loc[bits, "efficientnet_lite0"] == pytest.approx(expected[bits])
        assert table.loc[bits, "all models"] == pytest.approx(expected[bits])
    assert r"\toprule" in (smoke_run / "tables" / "table2_natural_sparsity.tex").read_text()
    for stem in ("compare_fig3_zoo_snr", "compare_table2_natural_sparsity"):
        frame = pd.read_csv(smoke_run / "tables" / f"{stem}.csv")
        assert set(frame["kind"]) == {"number", "claim"}
    card = (smoke_run / "cards" / "zoo.md").read_text()
    assert "efficientnet_lite0" in card and "2, 4, 8" in card and "first 12" in card
    record = json.loads((smoke_run / "zoo" / "provenance.json").read_text())
    assert record["config"]["zoo"]["max_tensors"] == 12


def planned_jobs(*args: str, workdir) -> dict[str, int]:
    """Job counts per rule of a dry run."""
    out = snakemake("-n", "--cores", "2", *args, workdir=workdir)
    stats_block = (out.stdout + out.stderr).split("Job stats:")[1]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", stats_block, re.M)}


def test_fig3_target_plans_only_the_zoo(tmp_path):
    jobs = planned_jobs("fig3", "--configfile", str(SMOKE), workdir=tmp_path)
    assert jobs == {"sweep_zoo_model": 1, "summarize_zoo_regions": 1, "plot_fig3_zoo_snr": 2,
                    "plot_fig3_kurtosis_regions": 2, "fig3": 1, "total": 7}
    jobs = planned_jobs("table2", "--configfile", str(SMOKE), workdir=tmp_path)
    assert jobs == {"sweep_zoo_model": 1, "tabulate_table2": 1, "table2": 1, "total": 3}


def test_paper_tier_plans_one_sweep_per_model_of_appendix_e(tmp_path):
    # App. E's 45 and the later version's OPT-350m
    assert planned_jobs("table2", "--configfile", str(PAPER), workdir=tmp_path)["sweep_zoo_model"] == 46


def test_unknown_model_fails_before_any_job(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("run_name: bad\nzoo:\n  models: [efficientnet_lite0, resnet9000]\n")
    result = snakemake("--cores", "2", "--configfile", str(bad), workdir=tmp_path, check=False)
    assert result.returncode != 0
    assert "unknown model 'resnet9000'" in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()
