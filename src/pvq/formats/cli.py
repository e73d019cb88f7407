"""Formats sweep: `sweep` every configured method over one model's tensors; `pareto` the model-level fronts."""

from __future__ import annotations

import pandas as pd

from pvq.io import write_csv

HELP = __doc__


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    sweep = sub.add_parser("sweep", help="apply every method spec to every conv/linear tensor of one model")
    sweep.add_argument("--model", required=True)
    sweep.add_argument("--spec", nargs="+", required=True, help="method specs (see pvq.methods.spec)")
    sweep.add_argument("--max-tensors", type=int, default=None, help="only the first N tensors")
    sweep.add_argument("--workers", type=int, default=1, help="threads sweeping tensors side by side")
    sweep.add_argument("--out", required=True)
    pareto = sub.add_parser("pareto", help="model-level points and Pareto fronts from per-model CSVs")
    pareto.add_argument("--input", nargs="+", required=True)
    pareto.add_argument("--out", required=True)


def run(args) -> None:
    if args.action == "sweep":
        from pvq.formats.specs import checked_methods
        from pvq.formats.sweep import sweep_model
        from pvq.models.registry import weight_tensors

        methods = checked_methods(args.spec, key="--spec")
        tensors = weight_tensors(args.model)
        if args.max_tensors is not None:
            tensors = dict(list(tensors.items())[: args.max_tensors])
        print(f"{args.model}: {len(tensors)} tensors, {sum(w.size for w in tensors.values())} weights, "
              f"{len(methods)} methods", flush=True)
        frame = sweep_model(args.model, tensors, methods, args.workers, progress=lambda line: print(line, flush=True))
        write_csv(frame, args.out)
    else:
        from pvq.formats.pareto import pareto_table

        table = pareto_table(pd.concat([pd.read_csv(path) for path in args.input], ignore_index=True))
        write_csv(table, args.out)
        print(table.to_string(index=False))
