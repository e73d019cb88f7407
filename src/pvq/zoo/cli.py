"""Model-zoo sweep: `sweep` one model's tensors to a CSV; `table2` and Fig. 3's `regions` from the per-model CSVs."""

from __future__ import annotations

from pathlib import Path


from pvq.tables import write_table
from pvq.zoo.artifacts import ZOO_REGIONS, ZOO_SWEEP

HELP = __doc__
TABLE2_CAPTION = ("Natural sparsity in quantized tensors (App. C, Table 2): mean share of weights (%) that "
                  "the MSE-optimal per-tensor symmetric quantizer maps to exactly zero, per bit width.")


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, help="what to do")
    sweep = sub.add_parser("sweep", help="quantize and prune every conv/linear tensor of one model")
    sweep.add_argument("--model", required=True, help="efficientnet_lite0/1/2 or a torchvision model name")
    sweep.add_argument("--bits", type=int, nargs="+", required=True,
                       help="bit widths b, each against pruning at sparsity 1 - b/baseline-bits")
    sweep.add_argument("--baseline-bits", type=int, required=True, help="bits of an uncompressed weight (16: FP16)")
    sweep.add_argument("--candidates", type=int, required=True, help="grid size of the scale search")
    sweep.add_argument("--max-tensors", type=int, default=None, help="only the first N tensors")
    sweep.add_argument("--workers", type=int, required=True, help="threads sweeping tensors side by side")
    sweep.add_argument("--out", required=True, help="one row per (tensor, bits) (CSV)")
    table = sub.add_parser("table2", help="Table 2 from per-model sweep CSVs")
    table.add_argument("--input", nargs="+", required=True, help="the per-model sweep CSVs")
    table.add_argument("--out", required=True, help="the CSV; .md and .tex are written beside it")
    regions = sub.add_parser("regions", help="Fig. 3 (right): where pruning wins by kurtosis and bits (KDE)")
    regions.add_argument("--input", nargs="+", required=True, help="the per-model sweep CSVs")
    regions.add_argument("--out", required=True, help="the win probability on a kurtosis grid and the boundary (CSV)")


def run(args) -> None:
    if args.action == "sweep":
        from pvq.models.registry import weight_tensors
        from pvq.zoo.sweep import sweep_model

        tensors = weight_tensors(args.model)
        if args.max_tensors is not None:
            tensors = dict(list(tensors.items())[: args.max_tensors])
        print(f"{args.model}: {len(tensors)} tensors, {sum(w.size for w in tensors.values())} weights, "
              f"bits {args.bits}", flush=True)
        frame = sweep_model(args.model, tensors, args.bits, args.baseline_bits, args.candidates,
                            progress=lambda line: print(line, flush=True), workers=args.workers)
        ZOO_SWEEP.write(frame, args.out)
    elif args.action == "regions":
        from pvq.zoo.regions import kurtosis_regions

        ZOO_REGIONS.write(kurtosis_regions(ZOO_SWEEP.read_all(args.input)), args.out)
    else:
        from pvq.zoo.summary import natural_sparsity_table

        zoo = ZOO_SWEEP.read_all(args.input)
        table = natural_sparsity_table(zoo)
        write_table(table, Path(args.out).with_suffix(""), TABLE2_CAPTION)
        print(table.to_string(index=False))
