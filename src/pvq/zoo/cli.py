"""Model-zoo sweep: `sweep` one model's tensors to a CSV; `table2` from the per-model CSVs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pvq.io import write_csv
from pvq.tables import write_table

HELP = __doc__
TABLE2_CAPTION = ("Natural sparsity in quantized tensors (App. C, Table 2): mean share of weights (%) that "
                  "the MSE-optimal per-tensor symmetric quantizer maps to exactly zero, per bit width.")


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    sweep = sub.add_parser("sweep", help="quantize and prune every conv/linear tensor of one model")
    sweep.add_argument("--model", required=True)
    sweep.add_argument("--bits", type=int, nargs="+", required=True)
    sweep.add_argument("--baseline-bits", type=int, default=16)
    sweep.add_argument("--candidates", type=int, default=100, help="grid size of the scale search")
    sweep.add_argument("--max-tensors", type=int, default=None, help="only the first N tensors")
    sweep.add_argument("--workers", type=int, default=1, help="threads sweeping tensors side by side")
    sweep.add_argument("--out", required=True)
    table = sub.add_parser("table2", help="Table 2 from per-model sweep CSVs")
    table.add_argument("--input", nargs="+", required=True)
    table.add_argument("--out", required=True, help="the CSV; .md and .tex are written beside it")


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
        write_csv(frame, args.out)
    else:
        from pvq.zoo.summary import natural_sparsity_table

        zoo = pd.concat([pd.read_csv(path) for path in args.input], ignore_index=True)
        table = natural_sparsity_table(zoo)
        write_table(table, Path(args.out).with_suffix(""), TABLE2_CAPTION)
        print(table.to_string(index=False))
