"""Speed of the allocation MILP: EfficientNet-Lite2, every conv/linear tensor x every option, budget sweep.

Builds the options of config.yaml's allocation section (FP16, 7 bit widths, 9 sparsities alone and
with each bit width: 80 per tensor) once, then per budget of 2..8 bits per weight times the MILP with
each solver (HiGHS, CBC) and the greedy, and prints the MILP's error relative to the greedy's and the
two solvers' disagreement, and how many options survive reduced-cost fixing. Target (issue #8): under 1 s per budget.
``--options formats`` does the same with the formats variant's options (every ``allocation.specs``
method on every tensor, ``pvq.allocation.method_options``).

    PYTHONPATH=src python benchmarks/bench_allocation.py [--model efficientnet_lite2] [--options formats]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from pvq.allocation.formats import MethodAllocation
from pvq.allocation.knapsack import MultipleChoiceKnapsack
from pvq.allocation.method_options import method_model_options
from pvq.allocation.options import Storage, model_options
from pvq.allocation.strategies import ModelAllocation
from pvq.config import REPO_ROOT, load_config
from pvq.formats.specs import checked_methods
from pvq.models.registry import weight_tensors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="efficientnet_lite2")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--options", choices=["paper", "formats"], default="paper",
                        help="the paper's options or the formats variant's (allocation.specs)")
    args = parser.parse_args()
    config = load_config(REPO_ROOT / "config.yaml")
    section = config["allocation"]
    tensors = weight_tensors(args.model)
    kurtosis = pd.Series(np.nan, index=list(tensors))
    start, cpu = time.perf_counter(), time.process_time()
    if args.options == "paper":
        storage = Storage.from_config(config)
        options = model_options(tensors, section["bits"], section["sparsities"], storage, workers=args.workers)
        allocation = ModelAllocation(options, kurtosis, {}, section["objective"], scale_bits=section["scale_bits"])
    else:
        methods = checked_methods(section["specs"], key="allocation.specs")
        options = method_model_options(tensors, methods, workers=args.workers)
        allocation = MethodAllocation(options, kurtosis, section["objective"], scale_bits=section["scale_bits"])
    built, built_cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"{args.model}: {len(tensors)} tensors, {sum(w.size for w in tensors.values())} weights, "
          f"{len(options)} {args.options} options ({len(options) // len(tensors)} per tensor) built in {built:.1f} s "
          f"({built_cpu:.1f} CPU-s)")
    knapsack = MultipleChoiceKnapsack(allocation.group, allocation.cost, allocation.size)
    print(f"undominated options: {len(knapsack.undominated())}")
    print("budget  kept  highs_s  cbc_s  greedy_s  greedy_vs_milp  cbc_vs_highs  status")
    times = {"highs": [], "cbc": []}
    for budget in section["budget_bits"]:
        capacity = allocation.capacity(budget)
        greedy = knapsack.greedy(capacity)
        kept = len(knapsack.reduced_options(capacity, greedy.cost))
        found = {name: knapsack.milp(capacity, name, section["time_limit_s"]) for name in times}
        for name, result in found.items():
            times[name].append(result.seconds)
        print(f"{budget:6.1f}  {kept:4d}  {found['highs'].seconds:7.2f}  {found['cbc'].seconds:5.2f}  "
              f"{greedy.seconds:8.3f}  {greedy.cost / found['highs'].cost - 1:+14.2e}  "
              f"{found['cbc'].cost / found['highs'].cost - 1:+12.2e}  {found['highs'].status}/{found['cbc'].status}")
    for name, values in times.items():
        print(f"{name}: mean {np.mean(values):.2f} s, max {np.max(values):.2f} s per budget "
              f"(target < 1 s: {'met' if np.max(values) < 1 else 'not met'})")


if __name__ == "__main__":
    main()
