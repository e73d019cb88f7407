"""One fine-tuning experiment end to end: the FP baseline, and one (model, method, bits) cell run for
every seed with its learning-rate grid, batch-norm re-estimation, held-out metrics and per-epoch
representation distances.

``settings`` has the layout of the config's ``finetune`` section (workflow/schemas/finetune.schema.yaml)
plus the top-level ``seed``, ``baseline_bits`` and the task's data path (``imagenet_path``, ``voc_path``,
``coco_path``, ``wikitext_path``), cut to what the job reads (pvq.finetune.settings.job_settings). A
model's ``task`` picks its data: ``digits`` (digits_resnet from scratch), ``photos`` (a pretrained model
distilled offline on the wheels' photos), or the paper tier's ``imagenet``, ``voc`` (DeepLab-V3,
pvq.finetune.voc), ``coco`` (EfficientDet, pvq.finetune.coco) and ``wikitext`` (OPT-350m,
pvq.finetune.wikitext). Seeds: base seed + 0 .. seeds - 1; seed s gives the
quantization and the pruning run the same data order and crops, so the two pair up seed by seed.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from pvq.finetune.artifacts import FP_RECORD, FP_WEIGHTS, REPRESENTATIONS, RUN
from pvq.finetune.directions import best_index
from pvq.finetune.evaluate import device
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


def task_kind(model_name: str, settings: dict) -> str:
    return settings["models"][model_name]["task"]


def build_task(model_name: str, settings: dict):
    """The model's task (pvq.finetune.tasks interface)."""
    kind = task_kind(model_name, settings)
    if kind == "digits":
        from pvq.finetune.tasks import DigitsTask

        digits = settings["digits"]
        return DigitsTask(settings["seed"], digits["train_samples"], digits["shift"])
    if kind == "photos":
        from pvq.finetune.photo_distillation import PhotoDistillationTask

        return PhotoDistillationTask(model_name, settings)
    if kind == "voc":
        from pvq.finetune.voc import VOCTask

        return VOCTask(settings)
    if kind == "coco":
        from pvq.finetune.coco import COCOTask

        return COCOTask(settings)
    if kind == "wikitext":
        from pvq.finetune.wikitext import WikiTextTask

        return WikiTextTask(settings)
    from pvq.finetune.imagenet import ImageNetTask

    return ImageNetTask(model_name, settings)


def build_model(model_name: str, settings: dict, pretrained: bool = False) -> torch.nn.Module:
    """The architecture; pretrained models with their published weights when ``pretrained``."""
    kind = task_kind(model_name, settings)
    if kind == "digits":
        from pvq.models.digits import build_digits_resnet

        return build_digits_resnet(settings["digits"]["width"])
    if kind == "voc":
        from pvq.finetune import voc

        return voc.build_deeplabv3(pretrained).train()
    if kind == "coco":
        from pvq.finetune import coco

        return coco.build_efficientdet(settings, pretrained).train()
    if kind == "wikitext":
        from pvq.finetune import wikitext

        return wikitext.build_language_model(settings, pretrained).train()
    from pvq.finetune.imagenet import build_imagenet_model

    return build_imagenet_model(model_name, pretrained)


def published_weights(model_name: str, settings: dict) -> str | None:
    """What a pretrained model's published weights are, for the card (None: trained from scratch)."""
    kind = task_kind(model_name, settings)
    if kind == "digits":
        return None
    if kind == "voc":
        from pvq.finetune.voc import weights_name

        return weights_name()
    if kind == "coco":
        from pvq.finetune.coco import efficientdet_config

        config = efficientdet_config(settings)
        return f"effdet {config.name} COCO weights ({config.url})"
    if kind == "wikitext":
        return f"transformers {settings['wikitext']['checkpoint']} (its published weights and tokenizer)"
    from pvq.models.registry import weights_name

    return weights_name(model_name)


def load_fp_model(model_name: str, settings: dict, weights: str | Path, channels_last: bool = False) -> torch.nn.Module:
    from pvq.models.weights import load_state_dict

    model = build_model(model_name, settings)
    with FP_WEIGHTS.reading(weights):  # a damaged or foreign fp.pt names itself and its rule
        model.load_state_dict(load_state_dict(weights))
    model = model.to(device()).eval()
    return model.to(memory_format=torch.channels_last) if channels_last else model


def run_seeds(model_name: str, settings: dict) -> list[int]:
    return [settings["seed"] + k for k in range(settings["models"][model_name]["seeds"])]


def schedule_of(model_name: str, settings: dict, epochs_factor: int = 1, lr: float | None = None) -> Schedule:
    hp = settings["models"][model_name]
    return Schedule(epochs=hp["epochs"] * epochs_factor, lr=hp["lr"] if lr is None else lr,
                    batch_size=hp["batch_size"], weight_decay=hp["weight_decay"], optimizer=hp["optimizer"])


def train_baseline(model_name: str, settings: dict, out_weights: str | Path, out_json: str | Path, log=print) -> dict:
    """Digits: train the FP model from scratch. Pretrained models: the published weights, evaluated."""
    began = time.perf_counter()
    seed_everything(settings["seed"], settings["threads"])
    task = build_task(model_name, settings)
    history, epochs = [], 0
    if task_kind(model_name, settings) == "digits":
        base = settings["digits"]["baseline"]
        schedule = Schedule(epochs=base["epochs"], lr=base["lr"], batch_size=base["batch_size"],
                            weight_decay=base["weight_decay"], optimizer="sgd")
        model = build_model(model_name, settings).to(device())
        history = train(model, task, NoCompression(), schedule, settings["seed"], log=log,
                        on_epoch_end=lambda _e: {"val_metric": task.evaluate(model, "val")[task.metric]})
        epochs = schedule.epochs
    else:
        model = build_model(model_name, settings, pretrained=True).to(device())
    metrics, val_metrics = task.evaluate(model, "test"), task.evaluate(model, "val")
    record = {"model": model_name, "task": task_kind(model_name, settings), "metric_name": task.metric,
              "table_metrics": list(task.table_metrics), "metric": metrics[task.metric], "metrics": metrics,
              "val_metric": val_metrics[task.metric], "val_metrics": val_metrics, "split_seed": settings["seed"],
              "seed": settings["seed"], "epochs": epochs, "seconds": time.perf_counter() - began,
              "device": str(device()), "history": history,
              "data": task.describe() if hasattr(task, "describe") else None,
              "weights": published_weights(model_name, settings)}
    with atomic_path(out_weights) as tmp:
        torch.save({k: v.cpu().contiguous() for k, v in model.state_dict().items()}, tmp)
    FP_RECORD.write(record, out_json)
    log(f"{model_name} FP: test {metrics}, val {val_metrics}")
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


def lr_grid_of(model_name: str, settings: dict) -> list[int]:
    """The model's own learning-rate grid exponents, else finetune.lr_grid."""
    return settings["models"][model_name].get("lr_grid", settings["lr_grid"])


def run_one_lr(model_name, method, bits, settings, fp_weights, schedule, task, reference, seed, checkpoint, log):
    """Fine-tune once at ``schedule.lr`` with ``seed``; the result dict with history and representation rows."""
    seed_everything(seed, settings["threads"])
    model = load_fp_model(model_name, settings, fp_weights, task.channels_last)
    layers = compressible_layers(model, settings["first_last"])
    inputs = task.representation_inputs()
    rep_layers = list(reference)

    # Epoch 0: compressed once, before any fine-tuning (LSQ's initial state; GMP's final sparsity).
    start = compress_model(model, layers, method, bits, settings["baseline_bits"])
    if task.frozen_statistics:
        task.reestimate_batchnorm_(start, schedule.batch_size)
    rows = [{"epoch": 0, **r} for r in compare_activations(reference, capture_activations(start, rep_layers, inputs))]
    start_metrics = task.evaluate(start, "test")
    del start

    strategy = make_strategy(method, bits, settings)
    strategy.attach_(model, layers, schedule.epochs * task.steps_per_epoch(schedule.batch_size))

    def on_epoch_end(epoch):
        found = capture_activations(model, rep_layers, inputs)
        return {"val_metric": task.evaluate(model, "val")[task.metric],
                "representations": compare_activations(reference, found)}

    began = time.perf_counter()
    history = train(model, task, strategy, schedule, seed, on_epoch_end=on_epoch_end,
                    checkpoint=checkpoint, log=log)
    if not task.frozen_statistics:  # frozen: re-estimated after every epoch already
        task.reestimate_batchnorm_(model, schedule.batch_size)
    for entry in history:
        rows += [{"epoch": entry["epoch"], **r} for r in entry.pop("representations")]
    metrics, val_metrics = task.evaluate(model, "test"), task.evaluate(model, "val")
    return {"seed": seed, "lr": schedule.lr, "val_metric": val_metrics[task.metric], "val_metrics": val_metrics,
            "metric": metrics[task.metric], "metrics": metrics, "start_metrics": start_metrics,
            "seconds": time.perf_counter() - began,
            "history": history, "representations": rows, **strategy.summary()}


def run_one_seed(model_name, method, bits, settings, fp_weights, factor, task, reference, seed, work, log) -> dict:
    """The learning-rate grid for one seed; the grid point with the best validation metric."""
    base = schedule_of(model_name, settings, factor)
    results = []
    for i, lr in enumerate(learning_rates(base.lr, lr_grid_of(model_name, settings))):
        schedule = schedule_of(model_name, settings, factor, lr)
        done = ckpt = None
        if work is not None:
            done, ckpt = work / f"s{seed}-lr{i}.json", work / f"s{seed}-lr{i}.pt"
        if done is not None and done.exists():
            results.append(json.loads(done.read_text()))
            log(f"seed {seed}, lr {lr:.3g}: finished earlier (val {results[-1]['val_metric']:.2f})")
            continue
        log(f"{model_name} {method} {bits} bits, seed {seed}, lr {lr:.3g}, {schedule.epochs} epochs")
        result = run_one_lr(model_name, method, bits, settings, fp_weights, schedule, task, reference, seed, ckpt, log)
        log(f"seed {seed}, lr {lr:.3g}: val {result['val_metric']:.2f}, test {result['metrics']}")
        if done is not None:
            write_json(result, done)
            remove_checkpoint(ckpt)
        results.append(result)
    best = best_index([r["val_metric"] for r in results], task.metric)
    chosen = dict(results[best])
    chosen["lr_grid"] = [{"lr": r["lr"], "val_metric": r["val_metric"], "metric": r["metric"]} for r in results]
    return chosen


def finetune_run(model_name: str, method: str, bits: int, settings: dict, fp_weights, fp_json,
                 out_json, out_csv, long: bool = False,
                 checkpoint_dir: str | Path | None = None, log=print) -> dict:
    """Every seed of one (model, method, bits) cell, each with its learning-rate grid (the best by
    validation metric is kept per seed); the record lists the seeds' results and their means.

    Finished (seed, grid point) runs are kept under ``checkpoint_dir``/<run> (with the running one's
    last epoch), so a killed job resumes where it stopped; the folder is removed once the results are
    written.
    """
    began = time.perf_counter()
    factor = settings["long_factor"] if long else 1
    base = schedule_of(model_name, settings, factor)
    seed_everything(settings["seed"], settings["threads"])
    task = build_task(model_name, settings)
    fp_model = load_fp_model(model_name, settings, fp_weights, task.channels_last)
    reference = capture_activations(fp_model, task.representation_layers, task.representation_inputs())
    del fp_model
    stem = Path(out_json).stem
    work = None if checkpoint_dir is None else Path(checkpoint_dir) / stem
    runs = [run_one_seed(model_name, method, bits, settings, fp_weights, factor, task, reference, seed, work, log)
            for seed in run_seeds(model_name, settings)]
    fp = FP_RECORD.read(fp_json, expect={"model": model_name})
    names = list(runs[0]["metrics"])
    record = {
        "model": model_name, "method": method, "bits": bits, "task": task_kind(model_name, settings),
        "metric_name": task.metric, "table_metrics": list(task.table_metrics),
        "seeds": [r["seed"] for r in runs],
        "metric": float(np.mean([r["metric"] for r in runs])),
        "metrics": {name: float(np.mean([r["metrics"][name] for r in runs])) for name in names},
        "val_metric": float(np.mean([r["val_metric"] for r in runs])),
        "fp_metric": fp["metric"], "fp_metrics": fp["metrics"],
        "sparsity_target": sparsity_for_bits(bits, settings["baseline_bits"]) if method == "prune" else None,
        "sparsity": float(np.mean([r["sparsity"] for r in runs])), "epochs": base.epochs,
        "schedule": {**base.as_dict(), "lr_grid": learning_rates(base.lr, lr_grid_of(model_name, settings)),
                     "first_last": settings["first_last"],
                     "scale_lr": settings["scale_lr"] if method == "quant" else None,
                     "ramp_fraction": settings["ramp_fraction"] if method == "prune" else None,
                     "mask_update_steps": settings["mask_update_steps"] if method == "prune" else None},
        "runs": [{k: v for k, v in r.items() if k != "representations"} for r in runs],
        "device": str(device()), "seconds": time.perf_counter() - began,
    }
    reps = pd.DataFrame([{"seed": r["seed"], **row} for r in runs for row in r["representations"]])
    reps.insert(0, "bits", bits)
    reps.insert(0, "method", method)
    reps.insert(0, "model", model_name)
    REPRESENTATIONS.write(reps[list(REPRESENTATIONS.columns)], out_csv)
    RUN.write(record, out_json)
    if work is not None:
        shutil.rmtree(work, ignore_errors=True)
    log(f"{model_name} {method} {bits} bits over seeds {record['seeds']}: test {record['metrics']} "
        f"(FP {record['fp_metrics']}), sparsity {record['sparsity']:.3f}")
    return record
