"""Speed of the fine-tuning stage: one training step of the digits model in FP, with QAT (LSQ) and
with gradual pruning (target: QAT and pruning at most 1.3x the FP step), measured in one run.

    python benchmarks/bench_train.py            # step times and ratios (a few seconds)
    python benchmarks/bench_train.py --stage    # also the default tier's whole fine-tuning stage
                                                # (snakemake table1 table5 fig6 fig7 fig8, 2 cores)
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from pvq.finetune.gmp import PruneStrategy
from pvq.finetune.layers import compressible_layers
from pvq.finetune.loop import NoCompression, Schedule, seed_everything, train
from pvq.finetune.lsq import QuantStrategy
from pvq.finetune.tasks import DigitsTask
from pvq.models.digits import build_digits_resnet

REPO = Path(__file__).resolve().parents[1]
STEPS_PER_EPOCH = 16  # 1,074 training images in batches of 64


def step_seconds(make_strategy, epochs: int = 6, repeats: int = 3) -> float:
    """Median over repeats of (training time / steps), one thread, batch 64, model width 16."""
    task = DigitsTask(seed=0)
    times = []
    for _ in range(repeats):
        seed_everything(0, 1)
        model = build_digits_resnet(16)
        strategy = make_strategy()
        schedule = Schedule(epochs, 0.01, 64, 5e-4)
        strategy.attach_(model, compressible_layers(model), epochs * task.steps_per_epoch(64))
        began = time.perf_counter()
        train(model, task, strategy, schedule, seed=0, log=lambda _m: None)
        times.append((time.perf_counter() - began) / (epochs * task.steps_per_epoch(64)))
    return sorted(times)[len(times) // 2]


def stage_seconds() -> tuple[float, float]:
    """Wall time of the default tier's fine-tuning targets on 2 cores, and the sum of its job times."""
    with tempfile.TemporaryDirectory() as work:
        began = time.perf_counter()
        subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
                        "--directory", work, "--cores", "2", "table1", "table5", "fig6", "fig7", "fig8"],
                       check=True, capture_output=True)
        wall = time.perf_counter() - began
        jobs = 0.0
        for tsv in (Path(work) / "results" / "default" / "benchmarks").rglob("*.tsv"):
            with open(tsv) as handle:
                jobs += float(next(csv.DictReader(handle, delimiter="\t"))["s"])
    return wall, jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", action="store_true", help="also time the whole default-tier stage")
    args = parser.parse_args()
    torch.set_num_threads(1)
    fp = step_seconds(NoCompression)
    quant = step_seconds(lambda: QuantStrategy(4))
    prune = step_seconds(lambda: PruneStrategy(0.75))
    print(f"digits_resnet training step (batch 64, 1 thread): FP {1e3 * fp:.2f} ms, "
          f"QAT {1e3 * quant:.2f} ms ({quant / fp:.2f}x), pruning {1e3 * prune:.2f} ms ({prune / fp:.2f}x); "
          "target <= 1.3x")
    if args.stage:
        wall, jobs = stage_seconds()
        print(f"default tier fine-tuning stage (table1 table5 fig6 fig7 fig8, 2 cores): wall {wall:.0f} s, "
              f"sum of job times {jobs:.0f} s")


if __name__ == "__main__":
    main()
