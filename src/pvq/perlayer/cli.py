"""Per-layer post-training bounds: collect calibration inputs, solve a part of a layer, merge, Table 3."""

from __future__ import annotations

import pandas as pd

from pvq.io import write_csv

HELP = __doc__


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="step", required=True)
    collect = sub.add_parser("collect", help="one model: calibration inputs of its layers -> .npz")
    collect.add_argument("--model", required=True)
    collect.add_argument("--layers", nargs="+", required=True)
    collect.add_argument("--bits", type=int, nargs="+", required=True)
    collect.add_argument("--chunk-features", type=int, required=True)
    collect.add_argument("--chunks", type=int, required=True, help="chunks per layer (0 = all)")
    collect.add_argument("--out-channels", type=int, required=True, help="per chunk (0 = all)")
    collect.add_argument("--images", type=int, required=True, help="calibration crops")
    collect.add_argument("--imagenet", default=None, help="ImageNet root (default: bundled photos)")
    collect.add_argument("--seed", type=int, default=0)
    collect.add_argument("--out", required=True)

    solve = sub.add_parser("solve", help="every solver on part i of P of one layer's chunks -> CSV")
    solve.add_argument("--inputs", required=True)
    solve.add_argument("--model", required=True)
    solve.add_argument("--layer", required=True)
    solve.add_argument("--part", type=int, required=True)
    solve.add_argument("--parts", type=int, required=True)
    solve.add_argument("--baseline-bits", type=int, default=16)
    solve.add_argument("--prune-time-limit", type=float, required=True)
    solve.add_argument("--quant-time-limit", type=float, required=True)
    solve.add_argument("--mip-time-limit", type=float, required=True)
    solve.add_argument("--mip-channels", type=int, required=True)
    solve.add_argument("--mip-bits", type=int, nargs="*", default=[])
    solve.add_argument("--heuristic-samples", type=int, required=True)
    solve.add_argument("--seed", type=int, default=0)
    solve.add_argument("--out", required=True)

    merge = sub.add_parser("merge", help="concatenate a layer's part CSVs")
    merge.add_argument("--inputs", nargs="+", required=True)
    merge.add_argument("--out", required=True)

    table = sub.add_parser("table3", help="Table 3: per layer and bit width, where each method wins")
    table.add_argument("--inputs", nargs="+", required=True)
    table.add_argument("--out", required=True, help="the table's .csv (.md and .tex beside it)")


def run(args) -> None:
    if args.step == "collect":
        from pvq.perlayer.collect import Selection, collect_model

        selection = Selection(args.chunk_features, args.chunks, args.out_channels, args.seed)
        collect_model(args.model, args.layers, args.out, selection, args.bits, args.images, args.imagenet)
    elif args.step == "solve":
        from pvq.perlayer.collect import load_layer
        from pvq.perlayer.solve import Limits, solve_chunks

        arrays, chunks = load_layer(args.inputs, args.layer)
        limits = Limits(prune_exact=args.prune_time_limit, quant_exact=args.quant_time_limit,
                        mip=args.mip_time_limit, mip_channels=args.mip_channels,
                        mip_bits=tuple(args.mip_bits),
                        heuristic_samples=args.heuristic_samples)
        mine = chunks[args.part::args.parts]
        print(f"{args.model} {args.layer}: part {args.part} of {args.parts}: {len(mine)} chunks", flush=True)
        write_csv(solve_chunks(args.model, args.layer, arrays, mine, limits, args.baseline_bits, args.seed),
                  args.out)
    elif args.step == "merge":
        frames = [pd.read_csv(path) for path in args.inputs]
        merged = pd.concat(frames, ignore_index=True).sort_values(["chunk", "out_channel", "bits"])
        write_csv(merged, args.out)
    else:
        from pvq.perlayer.summary import table3
        from pvq.tables import write_table

        frame = table3(pd.concat([pd.read_csv(path) for path in args.inputs], ignore_index=True))
        write_table(frame, args.out.removesuffix(".csv"), caption=TABLE3_CAPTION)
        print(frame.to_string(index=False))


TABLE3_CAPTION = ("Per-layer post-training comparison (paper Table 3 and Fig. 4): for each layer, the "
                  "sub-problem dimension, the number of chunks, and per bit width the share of chunks "
                  "where quantization or pruning is better whatever the optimiser (its box lies "
                  "entirely on one side of the diagonal).")
