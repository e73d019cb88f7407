"""Every stage's reader: a damaged input stops the command (exit 1) with the file's name and how to
regenerate it, and writes nothing; the real artifacts of the smoke run satisfy their contracts."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from conftest import REPO
from pvq.__main__ import main
from pvq.analytic.artifacts import NORMAL
from pvq.config import load_config
from pvq.finetune.artifacts import FP_WEIGHTS, RUN
from pvq.finetune.settings import JobSettings
from pvq.io import ArtifactError
from pvq.perlayer.artifacts import LAYER_PART
from pvq.zoo.artifacts import ZOO_SWEEP
from test_io import example

DEFAULT = load_config(REPO / "config.yaml")
# every value `allocation allocate` takes from its rule, as the default config's rule passes it
ALLOCATION_SETTINGS = [
    "--baseline-bits", DEFAULT["baseline_bits"], "--candidates", DEFAULT["zoo"]["scale_candidates"], "--workers", 1,
    *[value for key in ("scale_bits", "mask_encoding", "index_bits", "objective", "solver", "time_limit_s")
      for value in (f"--{key.replace('_', '-')}", DEFAULT["allocation"][key])]]


def cut(path, keep: float = 0.6):
    """Truncate ``path`` mid-line, as a full disk or an interrupted copy would."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)].rstrip(b"\n"))
    return path


def fails_naming(capsys, argv, path, rule, outputs=()):
    assert main([str(a) for a in argv]) == 1
    err = capsys.readouterr().err
    assert f"{path} (" in err and f"-R {rule}" in err and "delete it and run snakemake again" in err, err
    for out in outputs:
        assert not out.exists()
    return err


@pytest.fixture
def zoo_csvs(tmp_path):
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    frame = example(ZOO_SWEEP)  # models "a" and "b"
    ZOO_SWEEP.write(frame[frame["model"] == "a"], first)
    ZOO_SWEEP.write(frame[frame["model"] == "b"], second)
    return first, second


def test_table2_stops_on_a_cut_zoo_csv(tmp_path, capsys, zoo_csvs):
    out = tmp_path / "table2.csv"
    assert main(["zoo", "table2", "--input", *map(str, zoo_csvs), "--out", str(out)]) == 0
    out.unlink()
    fails_naming(capsys, ["zoo", "table2", "--input", *zoo_csvs, "--out", out], cut(zoo_csvs[1]),
                 "sweep_zoo_model", [out])


def test_figures_and_comparisons_stop_on_a_damaged_input(tmp_path, capsys, zoo_csvs):
    cut(zoo_csvs[0])
    pdf, png, compare = tmp_path / "f.pdf", tmp_path / "f.png", tmp_path / "compare.csv"
    fails_naming(capsys, ["plot", "fig3_zoo_snr", "--input", f"zoo={zoo_csvs[0]}", "--input", f"zoo={zoo_csvs[1]}",
                          "--out", pdf, png], zoo_csvs[0], "sweep_zoo_model", [pdf, png])
    fails_naming(capsys, ["report", "compare", "table2_natural_sparsity", "--input", f"zoo={zoo_csvs[0]}",
                          "--input", f"zoo={zoo_csvs[1]}", "--seed", 0, "--out", compare],
                 zoo_csvs[0], "sweep_zoo_model", [compare])
    normal = tmp_path / "normal.csv"
    NORMAL.write(example(NORMAL), normal)
    normal.write_text(normal.read_text().replace("0.25", "", 1))  # an empty cell
    fails_naming(capsys, ["plot", "fig1_normal", "--input", f"normal={normal}", "--input", f"profile={normal}",
                          "--input", f"levels={normal}", "--out", pdf, png], normal, "compute_analytic_normal")


def test_an_input_name_without_a_contract_is_refused(tmp_path, zoo_csvs):
    with pytest.raises(KeyError, match="no contract for input 'zooo'"):
        main(["plot", "fig3_zoo_snr", "--input", f"zooo={zoo_csvs[0]}", "--out", str(tmp_path / "f.pdf")])


def test_merge_and_table3_stop_on_a_damaged_part(tmp_path, capsys):
    part = tmp_path / "part.csv"
    LAYER_PART.write(example(LAYER_PART), part)
    lines = part.read_text().splitlines(keepends=True)
    part.write_text("".join(lines[:-1]))  # cut at a line end: one channel lacks a bit width
    out = tmp_path / "layer.csv"
    err = fails_naming(capsys, ["perlayer", "merge", "--inputs", part, "--out", out], part, "bound_layer_part", [out])
    assert "lacks bits [4]" in err
    for step in ("table3", "table6", "boxes"):
        fails_naming(capsys, ["perlayer", step, "--inputs", part, "--out", out], part, "merge_layer_parts", [out])


def test_merge_formats_and_its_table_stop_on_a_part_that_lacks_a_solver(tmp_path, capsys):
    """A formats part cut at a line end loses the last problem's last solver row: its family's other
    problems have it, so the per-family completeness check names the file."""
    from pvq.perlayer.artifacts import FORMATS_PART, LAYER_FORMATS

    frame = example(FORMATS_PART)  # every key pair: each (problem, spec) with solvers a and b
    frame = frame.assign(family=frame["spec"].map({"a": "prune", "b": "quant"}))
    part = tmp_path / "part.csv"
    FORMATS_PART.write(frame, part)
    part.write_text("".join(part.read_text().splitlines(keepends=True)[:-1]))
    out = tmp_path / "layer.csv"
    err = fails_naming(capsys, ["perlayer", "merge-formats", "--inputs", part, "--out", out], part,
                       "bound_layer_formats", [out])
    assert "of family 'quant'" in err
    with pytest.raises(ValueError, match="lacks solver"):
        LAYER_FORMATS.write(frame.iloc[:-1], out)
    fails_naming(capsys, ["perlayer", "table6-formats", "--inputs", part, "--out", tmp_path / "t6.csv"], part,
                 "merge_layer_formats", [tmp_path / "t6.csv"])


def test_a_corrupt_inputs_npz_is_named(tmp_path, capsys):
    npz = tmp_path / "inputs.npz"
    np.savez(npz, **{"x/chunk": np.arange(3)})
    npz.write_bytes(npz.read_bytes()[:100])
    out = tmp_path / "part.csv"
    argv = ["perlayer", "solve", "--inputs", npz, "--model", "m", "--layer", "x", "--part", 0, "--parts", 1,
            "--prune-time-limit", 1, "--quant-time-limit", 1, "--mip-time-limit", 1, "--mip-channels", 0,
            "--mip-bits", "--heuristic-samples", 1, "--damp", 0.01, "--order", "act",
            "--baseline-bits", 16, "--seed", 0, "--out", out]
    fails_naming(capsys, argv, npz, "collect_layer_inputs", [out])
    np.savez(npz, **{"other/chunk": np.arange(3)})  # inputs of another config: no such layer
    assert "holds no layer 'x'" in fails_naming(capsys, argv, npz, "collect_layer_inputs", [out])


def test_a_corrupt_or_foreign_fp_pt_is_named(tmp_path, capsys):
    from pvq.finetune.experiment import load_fp_model
    from pvq.models.digits import build_digits_resnet

    weights = tmp_path / "fp.pt"
    torch.save(build_digits_resnet(8).state_dict(), weights)
    task = {"models": {"digits_resnet": {"task": "digits"}}}
    settings = {"digits": {"width": 8}, **task}
    assert load_fp_model("digits_resnet", settings, weights) is not None
    with pytest.raises(ArtifactError, match="size mismatch") as caught:
        load_fp_model("digits_resnet", {"digits": {"width": 16}, **task}, weights)  # an fp.pt of another config
    assert "-R train_fp_baseline" in str(caught.value)
    cut(weights, 0.5)
    with pytest.raises(ArtifactError, match=f"{weights} .{FP_WEIGHTS.what}. cannot be read"):
        load_fp_model("digits_resnet", settings, weights)
    zoo = tmp_path / "zoo.csv"
    ZOO_SWEEP.write(example(ZOO_SWEEP), zoo)
    out, choices = tmp_path / "alloc.csv", tmp_path / "choices.csv"
    fails_naming(capsys, ["allocation", "allocate", "--model", "digits_resnet", "--weights", weights, "--zoo-all", zoo,
                          "--seed", 0, "--bits", 4, "--sparsities", 0.5, "--budgets", 4, *ALLOCATION_SETTINGS,
                          "--out", out, "--out-choices", choices], weights, "train_fp_baseline", [out, choices])


def test_table1_stops_on_a_cut_run_record(tmp_path, capsys):
    record = {"model": "digits_resnet", "method": "quant", "bits": 4, "metric_name": "acc", "metric": 90.0,
              "val_metric": 89.0, "fp_metric": 91.0, "fp_metrics": {"acc": 91.0}, "table_metrics": ["acc"],
              "sparsity": 0.0, "epochs": 1, "seeds": [0],
              "runs": [{"seed": 0, "lr": 0.01, "metrics": {"acc": 90.0}, "history": [], "lr_grid": []}]}
    run = tmp_path / "quant-b4.json"
    RUN.write(record, run)
    cut(run, 0.8)
    out = tmp_path / "table1.csv"
    settings = JobSettings("table", None, None, False, json.dumps({"not_supported": {}, "bits": [4]})).to_json()
    fails_naming(capsys, ["finetune", "table", "--input", run, "--settings", settings, "--caption", "c",
                          "--out", out], run, "finetune_run finetune_run_long", [out])


def test_allocation_refuses_the_zoo_csv_of_another_model(tmp_path, capsys, zoo_csvs):
    out, choices = tmp_path / "alloc.csv", tmp_path / "choices.csv"
    err = fails_naming(capsys, ["allocation", "allocate", "--model", "efficientnet_lite0", "--zoo", zoo_csvs[0],
                                "--zoo-all", *zoo_csvs, "--bits", 4, "--sparsities", 0.5, "--budgets", 4,
                                *ALLOCATION_SETTINGS, "--out", out, "--out-choices", choices],
                       zoo_csvs[0], "sweep_zoo_model", [out, choices])
    assert "holds model ['a']; expected ['efficientnet_lite0']" in err
