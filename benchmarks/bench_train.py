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


def time_steps(make_strategy, task, epochs: int) -> float:
    """Seconds per training step, one thread, batch 64, model width 16 (validation etc. excluded)."""
    seed_everything(0, 1)
    model = build_digits_resnet(16)
    strategy = make_strategy()
    steps = epochs * task.steps_per_epoch(64)
    strategy.attach_(model, compressible_layers(model), steps)
    began = time.perf_counter()
    train(model, task, strategy, Schedule(epochs, 0.01, 64, 5e-4), seed=0, log=lambda _m: None)
    return (time.perf_counter() - began) / steps


def step_seconds(strategies: dict, epochs: int = 4, repeats: int = 5) -> dict[str, float]:
    """Median per-step time of each strategy, the strategies interleaved so load drifts hit all alike."""
    task = DigitsTask(seed=0)
    times = {name: [] for name in strategies}
    for _ in range(repeats):
        for name, make in strategies.items():
            times[name].append(time_steps(make, task, epochs))
    return {name: sorted(t)[len(t) // 2] for name, t in times.items()}


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
    found = step_seconds({"fp": NoCompression, "quant": lambda: QuantStrategy(4),
                          "prune": lambda: PruneStrategy(0.75)})
    fp, quant, prune = found["fp"], found["quant"], found["prune"]
    print(f"digits_resnet training step (batch 64, 1 thread): FP {1e3 * fp:.2f} ms, "
          f"QAT {1e3 * quant:.2f} ms ({quant / fp:.2f}x), pruning {1e3 * prune:.2f} ms ({prune / fp:.2f}x); "
          "target <= 1.3x")
    if args.stage:
        wall, jobs = stage_seconds()
        print(f"default tier fine-tuning stage (table1 table5 fig6 fig7 fig8, 2 cores): wall {wall:.0f} s, "
              f"sum of job times {jobs:.0f} s")


if __name__ == "__main__":
    main()
