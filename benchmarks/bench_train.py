"""Speed of the fine-tuning stage: one EfficientNet-Lite0 training step of the default tier (photo
distillation, 32 crops of 96 px, one thread, channels-last) uncompressed, with QAT (LSQ, 4 bits) and
with gradual pruning (sparsity 0.75, masks recomputed every step as during the ramp); target: QAT and
pruning at most 1.3x the uncompressed step. CPU time of the process (one thread), so load from other
processes does not count; the strategies are interleaved so drifts hit all alike.

    python benchmarks/bench_train.py            # step times, ratios, images per second (a minute)
    python benchmarks/bench_train.py --stage    # also the default tier's whole fine-tuning stage
                                                # (snakemake table1 table5 fig6 fig7 fig8, 2 cores)
"""

from __future__ import annotations

import argparse
import copy
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path


from pvq.config import load_config
from pvq.finetune.gmp import PruneStrategy
from pvq.finetune.layers import compressible_layers
from pvq.finetune.loop import NoCompression, Schedule, optimizers_for, seed_everything, train_step
from pvq.finetune.lsq import QuantStrategy
from pvq.finetune.photo_distillation import PhotoDistillationTask

REPO = Path(__file__).resolve().parents[1]
MODEL = "efficientnet_lite0"


def lite0_settings() -> dict:
    config = load_config(REPO / "config.yaml")
    return {**config["finetune"], "seed": config["seed"], "baseline_bits": config["baseline_bits"]}


def step_seconds(task, make_strategy, batches, schedule: Schedule, ramp_steps: int = 10_000) -> float:
    """CPU seconds per train_step on ``batches`` (median after one warm-up step), a fresh copy of the
    teacher with the strategy attached; pruning's ramp is long, so its masks change every step."""
    model = copy.deepcopy(task.teacher)
    strategy = make_strategy()
    strategy.attach_(model, compressible_layers(model), ramp_steps)
    optimizers = optimizers_for(model, strategy, schedule)
    model.eval()  # the photo task trains with frozen statistics
    times = []
    for step, (x, y) in enumerate(batches):
        began = time.process_time()
        train_step(model, task, strategy, optimizers, x, y, step)
        times.append(time.process_time() - began)
    return sorted(times[1:])[len(times[1:]) // 2]


def stage_seconds() -> tuple[float, float]:
    """Wall time of the default tier's fine-tuning targets on 2 cores, and the sum of its jobs' CPU time."""
    with tempfile.TemporaryDirectory() as work:
        began = time.perf_counter()
        subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
                        "--directory", work, "--cores", "2", "table1", "table5", "fig6", "fig7", "fig8"],
                       check=True, capture_output=True)
        wall = time.perf_counter() - began
        cpu = 0.0
        for tsv in (Path(work) / "results" / "default" / "benchmarks").rglob("*.tsv"):
            with open(tsv) as handle:
                cpu += float(next(csv.DictReader(handle, delimiter="\t"))["cpu_time"])
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", action="store_true", help="also time the whole default-tier stage")
    parser.add_argument("--steps", type=int, default=6, help="timed steps per strategy and repeat")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    seed_everything(0, 1)
    settings = lite0_settings()
    hp = settings["models"][MODEL]
    schedule = Schedule(1, hp["lr"], hp["batch_size"], hp["weight_decay"], hp["optimizer"])
    task = PhotoDistillationTask(MODEL, settings)
    began = time.process_time()
    batches = [b for epoch in range(args.steps // task.steps + 1) for b in task.train_batches(epoch, 0, hp["batch_size"])]
    batches = batches[:args.steps]
    data = (time.process_time() - began) / len(batches)
    strategies = {"uncompressed": NoCompression, "QAT (LSQ, 4 bits)": lambda: QuantStrategy(4),
                  "pruning (GMP, 0.75)": lambda: PruneStrategy(0.75)}
    found = {name: [] for name in strategies}
    for _ in range(args.repeats):
        for name, make in strategies.items():
            found[name].append(step_seconds(task, make, batches, schedule))
    step = {name: sorted(t)[len(t) // 2] for name, t in found.items()}
    base = step["uncompressed"]
    size, res = hp["batch_size"], settings["photos"]["resolution"]
    print(f"EfficientNet-Lite0 training step, {size} crops of {res} px, 1 thread, CPU time "
          f"(crops + teacher logits: {1e3 * data:.0f} ms per batch, not included):")
    for name, seconds in step.items():
        whole = seconds + data
        print(f"  {name:22s} {1e3 * seconds:7.0f} ms ({seconds / base:.2f}x), {size / seconds:6.1f} images/s; "
              f"with data {size / whole:6.1f} images/s ({whole / (base + data):.2f}x)")
    print("target: QAT and pruning <= 1.3x the uncompressed step")
    if args.stage:
        wall, cpu = stage_seconds()
        print(f"default tier fine-tuning stage (table1 table5 fig6 fig7 fig8, 2 cores): wall {wall:.0f} s, "
              f"CPU time of its jobs {cpu:.0f} s")


if __name__ == "__main__":
    main()
