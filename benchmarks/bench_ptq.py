"""Speed of the post-training stage: whole-model compression of EfficientNet-Lite0 at one bit width
(every conv and linear layer, sequential through the compressed layers) with the default tier's
calibration (config.yaml: ptq.calibration_crops crops of each training scene at
finetune.photos.resolution px), per method; target: under 2 minutes per method on 2 cores. Wall
time (the calibration passes and the solvers) and CPU time of the process, so load from other
processes shows as the gap between them.

    python benchmarks/bench_ptq.py                    # gptq at 4 bits
    python benchmarks/bench_ptq.py --methods gptq sparsegpt sparsegpt+gptq --bits 4 --threads 2
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import torch

from pvq.config import load_config
from pvq.finetune.photo_distillation import PhotoDistillationTask
from pvq.ptq.experiment import calibration_batches
from pvq.ptq.methods import METHODS, Settings
from pvq.ptq.sequential import compress_model_

REPO = Path(__file__).resolve().parents[1]
MODEL = "efficientnet_lite0"
TARGET_S = 120.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=["gptq"], choices=METHODS)
    parser.add_argument("--bits", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = load_config(REPO / "config.yaml")
    section = config["ptq"]
    task = PhotoDistillationTask(MODEL, {"photos": config["finetune"]["photos"], "seed": config["seed"]})
    batches = calibration_batches(task, section["calibration_crops"], config["seed"])
    settings = Settings.from_config(section, config["baseline_bits"])
    print(f"{MODEL}: {sum(len(b) for b in batches)} calibration crops of {task.resolution} px, "
          f"{args.threads} threads, {args.bits} bits")
    for method in args.methods:
        model = copy.deepcopy(task.teacher).to(memory_format=torch.contiguous_format)
        wall, cpu = time.perf_counter(), time.process_time()
        record = compress_model_(model, method, args.bits, batches, settings)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        verdict = "met" if wall < TARGET_S else "NOT met"
        print(f"{method:>15}: {wall:7.1f} s wall, {cpu:7.1f} s CPU, {record['layers']} layers "
              f"(target {TARGET_S:.0f} s wall: {verdict})", flush=True)


if __name__ == "__main__":
    main()
