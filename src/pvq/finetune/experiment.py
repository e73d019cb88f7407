"""One fine-tuning experiment end to end: the FP baseline, and one (model, method, bits) run with its
learning-rate grid, BN re-estimation, test metric and per-epoch representation distances.

``settings`` is the config's ``finetune`` section (workflow/schemas/finetune.schema.yaml) plus the
top-level ``seed``, ``baseline_bits`` and ``imagenet_path``.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pandas as pd
import torch

from pvq.finetune.artifacts import FP_RECORD, FP_WEIGHTS, REPRESENTATIONS, RUN
from pvq.finetune.batchnorm import reestimate_batchnorm_
from pvq.finetune.evaluate import device, evaluate
from pvq.finetune.gmp import PruneStrategy
from pvq.finetune.layers import compressible_layers
from pvq.finetune.loop import NoCompression, Schedule, remove_checkpoint, seed_everything, train
from pvq.finetune.lsq import QuantStrategy
from pvq.finetune.oneshot import compress_model
from pvq.finetune.representations import capture_activations, compare_activations
from pvq.io import atomic_path, write_json
from pvq.prune import sparsity_for_bits

DIGITS = "digits_resnet"
LR_STEP = 0.33  # App. G: the grid multiplies the base learning rate by powers of 0.33


def build_task(model_name: str, settings: dict):
    if model_name == DIGITS:
        from pvq.finetune.tasks import DigitsTask

        digits = settings["digits"]
        return DigitsTask(settings["seed"], digits["train_samples"], digits["shift"])
    from pvq.finetune.imagenet import ImageNetTask

    return ImageNetTask(model_name, settings)


def build_model(model_name: str, settings: dict, pretrained: bool = False) -> torch.nn.Module:
    """The architecture; ImageNet models with their published weights when ``pretrained``."""
    if model_name == DIGITS:
        from pvq.models.digits import build_digits_resnet

        return build_digits_resnet(settings["digits"]["width"])
    from pvq.finetune.imagenet import build_imagenet_model

    return build_imagenet_model(model_name, pretrained)


def load_fp_model(model_name: str, settings: dict, weights: str | Path) -> torch.nn.Module:
    from pvq.models.weights import load_state_dict

    model = build_model(model_name, settings)
    with FP_WEIGHTS.reading(weights):  # a damaged or foreign fp.pt names itself and its rule
        model.load_state_dict(load_state_dict(weights))
    return model.to(device()).eval()


def schedule_of(model_name: str, settings: dict, epochs_factor: int = 1, lr: float | None = None) -> Schedule:
    hp = settings["models"][model_name]
    return Schedule(epochs=hp["epochs"] * epochs_factor, lr=hp["lr"] if lr is None else lr,
                    batch_size=hp["batch_size"], weight_decay=hp["weight_decay"], optimizer=hp["optimizer"])


def train_baseline(model_name: str, settings: dict, out_weights: str | Path, out_json: str | Path, log=print) -> dict:
    """Digits: train the FP model from scratch. ImageNet: the published weights, evaluated."""
    began = time.perf_counter()
    seed_everything(settings["seed"], settings["threads"])
    task = build_task(model_name, settings)
    history, epochs = [], 0
    if model_name == DIGITS:
        base = settings["digits"]["baseline"]
        schedule = Schedule(epochs=base["epochs"], lr=base["lr"], batch_size=base["batch_size"],
                            weight_decay=base["weight_decay"], optimizer="sgd")
        model = build_model(model_name, settings).to(device())
        history = train(model, task, NoCompression(), schedule, settings["seed"], log=log,
                        on_epoch_end=lambda _e: {"val_metric": evaluate(model, task.held_out("val"))})
        epochs = schedule.epochs
    else:
        model = build_model(model_name, settings, pretrained=True).to(device())
    record = {"model": model_name, "metric_name": task.metric, "split_seed": settings["seed"], "metric": evaluate(model, task.held_out("test")),
              "val_metric": evaluate(model, task.held_out("val")), "seed": settings["seed"], "epochs": epochs,
              "seconds": time.perf_counter() - began, "device": str(device()), "history": history}
    with atomic_path(out_weights) as tmp:
        torch.save({k: v.cpu() for k, v in model.state_dict().items()}, tmp)
    FP_RECORD.write(record, out_json)
    log(f"{model_name} FP: test {task.metric} {record['metric']:.2f}, val {record['val_metric']:.2f}")
    return record


def make_strategy(method: str, bits: int, settings: dict):
    if method == "quant":
        return QuantStrategy(bits, settings["scale_lr"])
    if method == "prune":
        return PruneStrategy(sparsity_for_bits(bits, settings["baseline_bits"]), settings["ramp_fraction"],
                             settings["mask_update_steps"])
    raise ValueError(f"method must be quant or prune, got {method!r}")


def learning_rates(base_lr: float, exponents) -> list[float]:
    return [base_lr * LR_STEP**k for k in exponents]


def run_one_lr(model_name, method, bits, settings, fp_weights, schedule, task, reference, checkpoint, log):
    """Fine-tune once at ``schedule.lr``; the result dict with history and representation rows."""
    seed = settings["seed"]
    seed_everything(seed, settings["threads"])
    model = load_fp_model(model_name, settings, fp_weights)
    layers = compressible_layers(model, settings["first_last"])
    inputs = task.representation_inputs()
    rep_layers = list(reference)

    # Epoch 0: compressed once, before any fine-tuning (LSQ's initial state; GMP's final sparsity).
    start = compress_model(model, layers, method, bits, settings["baseline_bits"])
    rows = [{"epoch": 0, **r} for r in compare_activations(reference, capture_activations(start, rep_layers, inputs))]
    del start

    strategy = make_strategy(method, bits, settings)
    strategy.attach_(model, layers, schedule.epochs * task.steps_per_epoch(schedule.batch_size))

    def on_epoch_end(epoch):
        found = capture_activations(model, rep_layers, inputs)
        return {"val_metric": evaluate(model, task.held_out("val")),
                "representations": compare_activations(reference, found)}

    began = time.perf_counter()
    history = train(model, task, strategy, schedule, seed, on_epoch_end=on_epoch_end,
                    checkpoint=checkpoint, log=log)
    reestimate_batchnorm_(model, task.bn_batches(schedule.batch_size), device())
    for entry in history:
        rows += [{"epoch": entry["epoch"], **r} for r in entry.pop("representations")]
    summary = strategy.summary()
    return {"lr": schedule.lr, "val_metric": evaluate(model, task.held_out("val")),
            "metric": evaluate(model, task.held_out("test")), "seconds": time.perf_counter() - began,
            "history": history, "representations": rows, **summary}


def finetune_run(model_name: str, method: str, bits: int, settings: dict, fp_weights, fp_json,
                 out_json, out_csv, long: bool = False,
                 checkpoint_dir: str | Path | None = None, log=print) -> dict:
    """The learning-rate grid for one (model, method, bits); the best by validation metric is reported.

    Finished grid points are kept under ``checkpoint_dir``/<run> (with the running one's last epoch),
    so a killed job resumes where it stopped; the folder is removed once the results are written.
    """
    began = time.perf_counter()
    factor = settings["long_factor"] if long else 1
    base = schedule_of(model_name, settings, factor)
    lrs = learning_rates(base.lr, settings["lr_grid"])
    task = build_task(model_name, settings)
    seed_everything(settings["seed"], settings["threads"])
    fp_model = load_fp_model(model_name, settings, fp_weights)
    reference = capture_activations(fp_model, task.representation_layers, task.representation_inputs())
    del fp_model
    stem = Path(out_json).stem
    work = None if checkpoint_dir is None else Path(checkpoint_dir) / stem
    results = []
    for i, lr in enumerate(lrs):
        schedule = schedule_of(model_name, settings, factor, lr)
        done = ckpt = None
        if work is not None:
            done, ckpt = work / f"lr{i}.json", work / f"lr{i}.pt"
        if done is not None and done.exists():
            results.append(json.loads(done.read_text()))
            log(f"lr {lr:.3g}: finished earlier (val {results[-1]['val_metric']:.2f})")
            continue
        log(f"{model_name} {method} {bits} bits, lr {lr:.3g} ({i + 1}/{len(lrs)}), {schedule.epochs} epochs")
        result = run_one_lr(model_name, method, bits, settings, fp_weights, schedule, task, reference, ckpt, log)
        log(f"lr {lr:.3g}: val {result['val_metric']:.2f}, test {result['metric']:.2f}")
        if done is not None:
            write_json(result, done)
            remove_checkpoint(ckpt)
        results.append(result)
    best = max(range(len(results)), key=lambda i: (results[i]["val_metric"], -i))
    chosen = results[best]
    fp = FP_RECORD.read(fp_json, expect={"model": model_name})
    record = {
        "model": model_name, "method": method, "bits": bits, "metric_name": fp["metric_name"],
        "metric": chosen["metric"], "val_metric": chosen["val_metric"], "fp_metric": fp["metric"],
        "sparsity_target": sparsity_for_bits(bits, settings["baseline_bits"]) if method == "prune" else None,
        "sparsity": chosen["sparsity"], "epochs": base.epochs, "lr": chosen["lr"], "seed": settings["seed"],
        "schedule": {**schedule_of(model_name, settings, factor, chosen["lr"]).as_dict(),
                     "first_last": settings["first_last"], "scale_lr": settings["scale_lr"] if method == "quant" else None,
                     "ramp_fraction": settings["ramp_fraction"] if method == "prune" else None,
                     "mask_update_steps": settings["mask_update_steps"] if method == "prune" else None},
        "lr_grid": [{"lr": r["lr"], "val_metric": r["val_metric"], "metric": r["metric"]} for r in results],
        "scales": chosen.get("scales"), "history": chosen["history"], "device": str(device()),
        "seconds": time.perf_counter() - began,
    }
    reps = pd.DataFrame(chosen["representations"])
    reps.insert(0, "bits", bits)
    reps.insert(0, "method", method)
    reps.insert(0, "model", model_name)
    REPRESENTATIONS.write(reps[list(REPRESENTATIONS.columns)], out_csv)
    RUN.write(record, out_json)
    if work is not None:
        shutil.rmtree(work, ignore_errors=True)
    log(f"chosen lr {record['lr']:.3g}: test {record['metric_name']} {record['metric']:.2f} "
        f"(FP {record['fp_metric']:.2f}), sparsity {record['sparsity']:.3f}")
    return record
