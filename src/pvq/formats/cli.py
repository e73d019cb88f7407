"""Formats: `sweep` every configured method over one model's tensors; `pareto` the model-level fronts;
`analytic` every grid against pruning on the normal and the truncated t."""

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
    analytic = sub.add_parser("analytic", help="grid formats vs pruning on the normal and the truncated t, exactly")
    analytic.add_argument("--grids", nargs="+", required=True, help="int<b> or fp<bits>-e<exp>m<man>")
    analytic.add_argument("--r-min", type=float, required=True)
    analytic.add_argument("--r-max", type=float, required=True)
    analytic.add_argument("--r-num", type=int, required=True)
    analytic.add_argument("--baseline-bits", type=int, default=16)
    analytic.add_argument("--scan-points", type=int, default=2000)
    analytic.add_argument("--out", required=True)


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
    elif args.action == "pareto":
        from pvq.formats.pareto import pareto_table

        table = pareto_table(pd.concat([pd.read_csv(path) for path in args.input], ignore_index=True))
        write_csv(table, args.out)
        print(table.to_string(index=False))
    else:
        from pvq.analytic.formats import formats_table
        from pvq.analytic.study import truncation_ranges
        from pvq.methods.spec import parse_grid

        grids = [parse_grid(token) for token in args.grids]
        ranges = truncation_ranges(args.r_min, args.r_max, args.r_num)
        table = formats_table(grids, ranges, args.baseline_bits, args.scan_points)
        write_csv(table, args.out)
        print(table.to_string(index=False))
