"""Every configured method at every bit width on one pretrained model, scored on held-out photos.

Data and metrics are the fine-tuning stage's photo task (pvq.finetune.photo_distillation): the
photo scenes of the installed wheels split by name; calibration on seeded random crops of the
training scenes, evaluation on the task's fixed crops of the test scenes against the uncompressed
model: top-1 agreement (%), KL(teacher || model) and logit SNR (dB).
"""

from __future__ import annotations

import copy
import time

import pandas as pd
import torch

from pvq.finetune.photo_distillation import EVAL_BATCH, PhotoDistillationTask, scene_crops
from pvq.ptq.artifacts import PTQ_RESULTS
from pvq.ptq.methods import Settings, check_methods
from pvq.ptq.sequential import compress_model_

_CALIBRATION_STREAM = 7_101  # numpy SeedSequence entropy beside the task's own streams


def calibration_batches(task: PhotoDistillationTask, per_scene: int, seed: int) -> list[torch.Tensor]:
    """``per_scene`` seeded random crops of every training scene, in batches the size of the task's."""
    crops, _ = scene_crops(task.scenes["train"], per_scene, task.resolution, [seed, _CALIBRATION_STREAM],
                           task.min_scale, task.mean, task.std)
    return list(crops.split(EVAL_BATCH))


def run_ptq(model_name: str, methods, bits, settings: dict, progress=print) -> pd.DataFrame:
    """One row per (method, bits): the PTQ_RESULTS columns. ``settings``: the ptq config section plus
    ``photos`` (finetune.photos), ``seed`` and ``baseline_bits``."""
    methods = check_methods(methods)
    options = Settings.from_config(settings, settings["baseline_bits"])
    task = PhotoDistillationTask(model_name, {"photos": settings["photos"], "seed": settings["seed"]})
    batches = calibration_batches(task, settings["calibration_crops"], settings["seed"])
    reference = task.teacher
    progress(f"{model_name}: {sum(len(b) for b in batches)} calibration crops of {task.scenes['train']}, "
             f"test scenes {task.scenes['test']}")
    rows = []
    for method in methods:
        for b in sorted(bits, reverse=True):
            start = time.perf_counter()
            model = copy.deepcopy(reference).float().to(memory_format=torch.contiguous_format)
            record = compress_model_(model, method, int(b), batches, options)
            scores = task.evaluate(model, "test")
            rows.append({"method": method, "spec": record["spec"], "bits": int(b),
                         "bits_per_weight": record["bits_per_weight"], "agree": scores["agree"],
                         "kl": scores["kl"], "logit_snr_db": scores["logit_snr_db"]})
            progress(f"{method} b={b}: agree {scores['agree']:.1f}%, KL {scores['kl']:.4g}, logit SNR "
                     f"{scores['logit_snr_db']:.2f} dB, {record['bits_per_weight']:.3f} bits/weight "
                     f"({time.perf_counter() - start:.1f} s)")
    return pd.DataFrame(rows, columns=list(PTQ_RESULTS.columns))
