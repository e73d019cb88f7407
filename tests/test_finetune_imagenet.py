"""The paper tier's ImageNet code path on a tiny generated image folder, CPU, no downloads: data
split, one fine-tuning run with checkpoints, and the models' architectures."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from pvq.finetune.experiment import finetune_run
from pvq.finetune.imagenet import IMAGENET_MODELS, REPRESENTATION_LAYERS, ImageNetTask, build_imagenet_model


def fake_imagenet(root, per_class=6, classes=2, val_per_class=2):
    rng = np.random.default_rng(0)
    for split, count in (("train", per_class), ("val", val_per_class)):
        for c in range(classes):
            folder = root / split / f"n0{c}"
            folder.mkdir(parents=True)
            for i in range(count):
                pixels = rng.integers(0, 255, size=(64, 80, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.jpg")
    return root


def settings_for(root, model="mobilenet_v3_small"):
    return {"seed": 0, "threads": 1, "baseline_bits": 16, "imagenet_path": str(root),
            "imagenet": {"val_images": 4, "representation_images": 2, "workers": 0},
            "models": {model: {"task": "imagenet", "metric": "acc", "batch_size": 4, "weight_decay": 1e-4,
                               "optimizer": "sgd", "epochs": 1, "lr": 1e-3, "seeds": 2}},
            "lr_grid": [0], "long_factor": 2, "ramp_fraction": 0.75, "mask_update_steps": 1, "scale_lr": 1e-5,
            "first_last": "compress"}


def test_imagenet_task_holds_out_training_images_for_validation(tmp_path):
    task = ImageNetTask("mobilenet_v3_small", settings_for(fake_imagenet(tmp_path)))
    assert len(task.train) == 8 and len(task.val) == 4 and len(task.test) == 4
    assert not set(task.train.indices) & set(task.val.indices)
    x, y = next(iter(task.train_batches(0, 0, 4)))
    assert x.shape == (4, 3, 224, 224) and y.shape == (4,)
    assert task.representation_inputs().shape == (2, 3, 224, 224)


def test_imagenet_run_end_to_end_on_cpu(tmp_path):
    root = fake_imagenet(tmp_path / "imagenet")
    settings = settings_for(root)
    torch.manual_seed(0)
    weights = tmp_path / "fp.pt"
    torch.save(build_imagenet_model("mobilenet_v3_small", pretrained=False).state_dict(), weights)
    (tmp_path / "fp.json").write_text(json.dumps({"model": "mobilenet_v3_small", "metric_name": "acc", "metric": 50.0,
                                                  "metrics": {"acc": 50.0}, "table_metrics": ["acc"]}))
    record = finetune_run("mobilenet_v3_small", "prune", 4, settings, weights, tmp_path / "fp.json",
                          tmp_path / "prune-b4.json", tmp_path / "prune-b4_representations.csv",
                          checkpoint_dir=tmp_path / "checkpoints", log=lambda _m: None)
    assert record["sparsity"] == pytest.approx(0.75, abs=1e-4) and record["epochs"] == 1
    assert record["seeds"] == [0, 1] and [run["seed"] for run in record["runs"]] == [0, 1]
    assert not (tmp_path / "checkpoints" / "prune-b4").exists()
    reps = (tmp_path / "prune-b4_representations.csv").read_text().splitlines()
    assert len(reps) == 1 + 2 * 2 * len(REPRESENTATION_LAYERS["mobilenet_v3_small"])  # 2 seeds x epochs 0, 1


@pytest.mark.parametrize("name", IMAGENET_MODELS)
def test_every_table1_model_builds_and_names_its_representation_layers(name):
    model = build_imagenet_model(name, pretrained=False)
    modules = dict(model.named_modules())
    assert all(layer in modules for layer in REPRESENTATION_LAYERS[name])
