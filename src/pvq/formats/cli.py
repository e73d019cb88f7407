"""Formats: `sweep` every configured method over one model's tensors; `pareto` the model-level fronts;
`analytic` every grid against pruning on the normal and the truncated t."""

from __future__ import annotations

from pvq.analytic.artifacts import ANALYTIC_FORMATS
from pvq.formats.artifacts import FORMATS_PARETO, FORMATS_SWEEP

HELP = __doc__


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, help="what to compute")
    sweep = sub.add_parser("sweep", help="apply every method spec to every conv/linear tensor of one model")
    sweep.add_argument("--model", required=True, help="a zoo model name (pvq.models.registry)")
    sweep.add_argument("--spec", nargs="+", required=True, help="method specs (see pvq.methods.spec)")
    sweep.add_argument("--max-tensors", type=int, default=None, help="only the first N tensors")
    sweep.add_argument("--workers", type=int, required=True, help="processes sweeping tensors side by side")
    sweep.add_argument("--out", required=True, help="the per-model CSV (formats/<model>.csv)")
    pareto = sub.add_parser("pareto", help="model-level points and Pareto fronts from per-model CSVs")
    pareto.add_argument("--input", nargs="+", required=True, help="the per-model formats CSVs")
    pareto.add_argument("--out", required=True, help="the model-level points and fronts (formats/pareto.csv)")
    analytic = sub.add_parser("analytic", help="grid formats vs pruning on the normal and the truncated t, exactly")
    analytic.add_argument("--grids", nargs="+", required=True, help="int<b> or fp<bits>-e<exp>m<man>")
    analytic.add_argument("--r-min", type=float, required=True, help="smallest truncation range r of the t")
    analytic.add_argument("--r-max", type=float, required=True, help="largest truncation range r of the t")
    analytic.add_argument("--r-num", type=int, required=True, help="number of ranges (geometric grid)")
    analytic.add_argument("--baseline-bits", type=int, required=True,
                          help="b-bit grids are compared with pruning at sparsity 1 - b/baseline")
    analytic.add_argument("--scan-points", type=int, required=True,
                          help="points of the global scan over the scale before Brent refinement")
    analytic.add_argument("--out", required=True, help="the table (analytic/formats.csv)")


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
        FORMATS_SWEEP.write(frame, args.out)
    elif args.action == "pareto":
        from pvq.formats.pareto import pareto_table

        table = pareto_table(FORMATS_SWEEP.read_all(args.input))
        FORMATS_PARETO.write(table, args.out)
        print(table.to_string(index=False))
    else:
        from pvq.analytic.formats import formats_table
        from pvq.analytic.study import truncation_ranges
        from pvq.methods.spec import parse_grid

        grids = [parse_grid(token) for token in args.grids]
        ranges = truncation_ranges(args.r_min, args.r_max, args.r_num)
        table = formats_table(grids, ranges, args.baseline_bits, args.scan_points)
        ANALYTIC_FORMATS.write(table, args.out)
        print(table.to_string(index=False))
