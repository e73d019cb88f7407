"""Allocation under a model-size budget: `allocate` one model's tensors over the budget sweep."""

from __future__ import annotations

import time

import pandas as pd

from pvq.io import write_csv

HELP = __doc__


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    allocate = sub.add_parser("allocate", help="options, MILP, greedy and baselines for one model")
    allocate.add_argument("--model", required=True)
    allocate.add_argument("--zoo", required=True, help="the model's zoo CSV: its tensors and their kurtosis")
    allocate.add_argument("--zoo-all", nargs="+", required=True,
                          help="every zoo CSV: the kurtosis rule's boundary (Fig. 3 right)")
    allocate.add_argument("--bits", type=int, nargs="+", required=True)
    allocate.add_argument("--sparsities", type=float, nargs="+", required=True)
    allocate.add_argument("--budgets", type=float, nargs="+", required=True, help="bits per weight")
    allocate.add_argument("--baseline-bits", type=int, default=16)
    allocate.add_argument("--scale-bits", type=int, default=16)
    allocate.add_argument("--mask-encoding", default="bitmap")
    allocate.add_argument("--index-bits", type=int, default=4)
    allocate.add_argument("--objective", default="weighted_nsr")
    allocate.add_argument("--solver", default="cbc")
    allocate.add_argument("--time-limit-s", type=float, default=60.0)
    allocate.add_argument("--candidates", type=int, default=100)
    allocate.add_argument("--workers", type=int, default=1)
    allocate.add_argument("--out", required=True)
    allocate.add_argument("--out-choices", required=True)


def run(args) -> None:
    from pvq.allocation.options import Storage, model_options
    from pvq.allocation.strategies import ModelAllocation, sweep_budgets
    from pvq.models.registry import weight_tensors
    from pvq.zoo.regions import kurtosis_boundary

    def say(line: str) -> None:
        print(line, flush=True)

    zoo = pd.read_csv(args.zoo)
    kurtosis = zoo.groupby("tensor", sort=False)["kurtosis"].first()
    tensors = weight_tensors(args.model)
    tensors = {name: tensors[name] for name in kurtosis.index}  # the tensors the zoo swept
    storage = Storage(args.baseline_bits, args.scale_bits, args.mask_encoding, args.index_bits)
    start = time.perf_counter()
    say(f"{args.model}: {len(tensors)} tensors, {sum(w.size for w in tensors.values())} weights; {storage}")
    options = model_options(tensors, args.bits, args.sparsities, storage, args.candidates, args.workers, say)
    say(f"options: {len(options)} in {time.perf_counter() - start:.1f} s")
    zoo_all = pd.concat([pd.read_csv(path) for path in args.zoo_all], ignore_index=True)
    boundary = kurtosis_boundary(zoo_all, masked=args.mask_encoding != "none")
    say("kurtosis boundary per bit width: " + ", ".join(f"{b}: {k:.3g}" for b, k in boundary.items()))
    allocation = ModelAllocation(options, kurtosis, boundary, args.objective, args.solver, args.time_limit_s,
                                 args.scale_bits)
    summary, choices = sweep_budgets(args.model, allocation, args.budgets, say)
    write_csv(summary, args.out)
    write_csv(choices, args.out_choices)
    say(f"done in {time.perf_counter() - start:.1f} s")
