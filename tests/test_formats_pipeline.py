"""The formats stage in the smoke DAG: the CSV contract, numbers recomputed independently from the
real weights, the Pareto file, Fig. 12 and its target, and a bad spec stopping the run."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from conftest import PAPER, SMOKE, snakemake
from pvq.config import load_yaml
from pvq.metrics import snr_db
from pvq.models.registry import weight_tensors
from pvq.prune import magnitude_mask

pytestmark = pytest.mark.pipeline

CONTRACT = ["model", "tensor", "numel", "kurtosis", "spec", "family", "bits_per_weight", "snr_db"]


def test_formats_csv_follows_the_contract(smoke_run):
    frame = pd.read_csv(smoke_run / "formats" / "efficientnet_lite0.csv")
    assert list(frame.columns) == CONTRACT
    specs = load_yaml(SMOKE)["formats"]["specs"]
    tensors = list(weight_tensors("efficientnet_lite0"))[:6]
    assert frame[["tensor", "spec"]].values.tolist() == [[t, s] for t in tensors for s in specs]
    assert set(frame["family"]) == {"quant", "prune", "joint"}
    record = json.loads((smoke_run / "formats" / "provenance.json").read_text())
    assert record["config"]["formats"]["max_tensors"] == 6


def test_formats_numbers_recomputed_from_the_weights(smoke_run):
    frame = pd.read_csv(smoke_run / "formats" / "efficientnet_lite0.csv").set_index(["tensor", "spec"])
    for name, w in list(weight_tensors("efficientnet_lite0").items())[:6]:
        w = w.astype(np.float64)
        energy = np.sum(w * w)
        rows, k = w.shape[0], w.size // w.shape[0]
        # unstructured 75%: the paper's magnitude mask, survivors in FP16, one bit of mask per weight
        pruned = np.where(magnitude_mask(w, 0.75), w.astype(np.float16).astype(np.float64), 0.0)
        row = frame.loc[(name, "prune/u0.75")]
        assert row["snr_db"] == pytest.approx(float(snr_db(energy, np.sum((w - pruned) ** 2))), abs=1e-6)
        assert row["bits_per_weight"] == pytest.approx((16 * (w.size - round(0.75 * w.size)) + w.size) / w.size)
        # MXFP4: blocks of 32 along input channels then kernel positions, X = 2^(floor(log2 max) - 2)
        matrix = np.moveaxis(w, 1, -1).reshape(rows, k)
        blocks = np.pad(matrix, ((0, 0), (0, -k % 32))).reshape(-1, 32)
        error = 0.0
        e2m1 = np.array([0, 0.5, 1, 1.5, 2, 3, 4, 6])
        for block in blocks:
            if not block.any():
                continue
            scale = 2.0 ** (math.floor(math.log2(np.abs(block).max())) - 2)
            x = np.minimum(np.abs(block) / scale, 6.0)
            nearest = e2m1[np.argmin(np.abs(x[:, None] - e2m1[None, :]), axis=1)]
            error += np.sum((np.abs(block) - nearest * scale) ** 2)
        row = frame.loc[(name, "mxfp4")]
        assert row["snr_db"] == pytest.approx(float(snr_db(energy, error)), abs=1e-6)
        assert row["bits_per_weight"] == pytest.approx(4 + 8 * len(blocks) / w.size)


def test_pareto_file_and_fig12(smoke_run):
    pareto = pd.read_csv(smoke_run / "formats" / "pareto.csv")
    assert list(pareto.columns) == ["model", "family", "spec", "tensors", "bits_per_weight", "snr_db",
                                    "front_family", "front_all"]
    assert len(pareto) == len(load_yaml(SMOKE)["formats"]["specs"]) and (pareto["tensors"] == 6).all()
    assert pareto.groupby("family")["front_family"].any().all()
    assert (smoke_run / "figures" / "fig12_formats.pdf").read_bytes().startswith(b"%PDF")
    assert (smoke_run / "figures" / "fig12_formats.png").read_bytes().startswith(b"\x89PNG")


def test_analytic_formats_table_and_region_map(smoke_run):
    table = pd.read_csv(smoke_run / "analytic" / "formats.csv")
    assert list(table.columns) == ["distribution", "r", "kurtosis", "format", "bits", "scale", "quant_snr_db",
                                   "sparsity", "prune_snr_db", "sparsity_masked", "prune_snr_db_masked", "winner",
                                   "winner_masked"]
    assert table["format"].tolist()[:3] == ["int4", "fp4-e2m1", "fp8-e4m3"] and len(table) == 3 * (1 + 4)
    normal = table[table["distribution"] == "normal"].set_index("format")
    assert normal.loc["int4", "quant_snr_db"] == pytest.approx(19.26, abs=0.01)
    student_t = pd.read_csv(smoke_run / "analytic" / "student_t.csv")
    int4 = table[(table["distribution"] == "student_t") & (table["format"] == "int4")]
    np.testing.assert_array_equal(int4["quant_snr_db"], student_t.loc[student_t["bits"] == 4, "quant_snr_db"])
    for suffix in ("pdf", "png"):
        assert (smoke_run / "figures" / f"fig2_formats_regions.{suffix}").stat().st_size > 1000


def test_fig12_target_plans_only_the_formats_stage(tmp_path):
    out = snakemake("-n", "--cores", "2", "fig12", "--configfile", str(SMOKE), workdir=tmp_path)
    text = out.stdout + out.stderr
    for rule in ("sweep_formats_model", "summarize_formats", "plot_fig12", "compute_analytic_formats",
                 "plot_fig2_formats_regions"):
        assert rule in text
    assert "sweep_zoo_model" not in text and "allocate_model" not in text
    paper = snakemake("-n", "--cores", "2", "fig12", "--configfile", str(PAPER), workdir=tmp_path)
    assert re.search(r"^sweep_formats_model\s+46$", paper.stdout + paper.stderr, re.M)


def test_bad_spec_fails_before_any_job_naming_the_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("run_name: bad\nformats:\n  specs: [int4/per-channel/mse, int4/per-row/mse]\n")
    result = snakemake("-n", "--cores", "2", "--configfile", str(bad), workdir=tmp_path, check=False)
    assert result.returncode != 0
    assert "config key 'formats.specs[1]'" in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()
