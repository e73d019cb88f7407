"""Per-layer post-training bounds: collect calibration inputs, solve a part of a layer, merge, Table 3."""

from __future__ import annotations

from pvq.perlayer.artifacts import (CHUNK_BOXES, FORMAT_BOXES, FORMATS_PART, LAYER_BOUNDS, LAYER_FORMATS, LAYER_INPUTS,
                                   LAYER_PART, TABLE6, TABLE6_FORMATS)

HELP = __doc__


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="step", required=True, help="the step")
    collect = sub.add_parser("collect", help="one model: calibration inputs of its layers -> .npz")
    collect.add_argument("--model", required=True, help="efficientnet_lite0/1/2 or a torchvision model name")
    collect.add_argument("--layers", nargs="+", required=True, help="module names of the layers to study")
    collect.add_argument("--bits", type=int, nargs="+", required=True,
                         help="bit widths whose per-tensor MSE-optimal steps are stored")
    collect.add_argument("--chunk-features", type=int, required=True,
                         help="input features per chunk (sub-problem dimension n)")
    collect.add_argument("--chunks", type=int, required=True, help="chunks per layer (0 = all)")
    collect.add_argument("--out-channels", type=int, required=True, help="per chunk (0 = all)")
    collect.add_argument("--images", type=int, required=True, help="calibration crops")
    collect.add_argument("--imagenet", default=None, help="ImageNet root (default: bundled photos)")
    collect.add_argument("--seed", type=int, required=True, help="seed of the crops, chunks and channels chosen")
    collect.add_argument("--out", required=True, help="the layers' inputs and weights (.npz)")

    solve = sub.add_parser("solve", help="every solver on part i of P of one layer's chunks -> CSV")
    solve.add_argument("--inputs", required=True, help="the model's .npz from `perlayer collect`")
    solve.add_argument("--model", required=True, help="model name (recorded in the CSV)")
    solve.add_argument("--layer", required=True, help="module name of the layer")
    solve.add_argument("--part", type=int, required=True, help="this job's part, 0 .. parts - 1")
    solve.add_argument("--parts", type=int, required=True, help="parts the layer's chunks are split into (round-robin)")
    solve.add_argument("--baseline-bits", type=int, required=True, help="bits of an uncompressed weight (16: FP16)")
    solve.add_argument("--prune-time-limit", type=float, required=True,
                       help="CPU seconds per problem for the pruning branch and bound")
    solve.add_argument("--quant-time-limit", type=float, required=True,
                       help="CPU seconds per problem for the quantization sphere decoder")
    solve.add_argument("--mip-time-limit", type=float, required=True, help="CPU seconds per problem for SCIP")
    solve.add_argument("--mip-channels", type=int, required=True,
                       help="output channels per chunk whose pruning optimum SCIP also solves")
    solve.add_argument("--mip-bits", type=int, nargs="*", required=True,
                       help="bit widths (their pruning sparsities) at which those channels go to SCIP")
    solve.add_argument("--heuristic-samples", type=int, required=True,
                       help="random roundings of the Park & Boyd quantization heuristic")
    solve.add_argument("--damp", type=float, required=True,
                       help="GPTQ's and OBS's dampening of X^T X, times its mean diagonal (> 0)")
    solve.add_argument("--order", choices=["act", "natural"], required=True,
                       help="GPTQ's column order: act (descending diag X^T X) or natural")
    solve.add_argument("--seed", type=int, required=True, help="seed of the random roundings")
    solve.add_argument("--out", required=True, help="the part's rows (CSV)")

    formats = sub.add_parser("formats", help="N:M pruning and per-channel INT on one layer's problems -> CSV")
    formats.add_argument("--inputs", required=True, help="the model's .npz from `perlayer collect`")
    formats.add_argument("--model", required=True, help="model name (its weights give the groups and scales)")
    formats.add_argument("--layer", required=True, help="module name of the layer")
    formats.add_argument("--chunk-features", type=int, required=True,
                         help="input features per chunk, as the inputs were collected with")
    formats.add_argument("--nm", nargs="*", required=True, help="N:M patterns, e.g. 2:4 1:4 (none: no value)")
    formats.add_argument("--channel-bits", type=int, nargs="*", required=True,
                         help="bit widths of per-channel INT (each must be a per-layer bit width)")
    formats.add_argument("--prune-time-limit", type=float, required=True,
                         help="CPU seconds per problem for the N:M branch and bound")
    formats.add_argument("--quant-time-limit", type=float, required=True,
                         help="CPU seconds per problem for the quantization sphere decoder")
    formats.add_argument("--damp", type=float, required=True,
                         help="GPTQ's and OBS's dampening of X^T X, times its mean diagonal (> 0)")
    formats.add_argument("--order", choices=["act", "natural"], required=True,
                         help="GPTQ's column order: act (descending diag X^T X) or natural")
    formats.add_argument("--part", type=int, required=True, help="this job's part, 0 .. parts - 1")
    formats.add_argument("--parts", type=int, required=True, help="parts the layer's chunks are split into (round-robin)")
    formats.add_argument("--out", required=True, help="the part's rows (CSV)")

    merge_formats = sub.add_parser("merge-formats", help="concatenate a layer's formats part CSVs")
    merge_formats.add_argument("--inputs", nargs="+", required=True, help="every formats part CSV of one layer")
    merge_formats.add_argument("--out", required=True, help="the layer's formats CSV")

    merge = sub.add_parser("merge", help="concatenate a layer's part CSVs")
    merge.add_argument("--inputs", nargs="+", required=True, help="every part CSV of one layer")
    merge.add_argument("--out", required=True, help="the layer's CSV")

    table = sub.add_parser("table3", help="Table 3: per layer and bit width, where each method wins")
    table.add_argument("--inputs", nargs="+", required=True, help="the layers' CSVs")
    table.add_argument("--out", required=True, help="the table's .csv (.md and .tex beside it)")

    boxes = sub.add_parser("boxes", help="Fig. 4's chunk boxes and the one-shot methods' marks -> CSV")
    boxes.add_argument("--inputs", nargs="+", required=True, help="the layers' CSVs")
    boxes.add_argument("--out", required=True, help="the boxes (CSV)")

    fboxes = sub.add_parser("format-boxes", help="Fig. 13's boxes: today's formats beside the paper's -> CSV")
    fboxes.add_argument("--bounds", nargs="+", required=True, help="the layers' CSVs (paper's methods)")
    fboxes.add_argument("--formats", nargs="+", required=True, help="the layers' formats CSVs")
    fboxes.add_argument("--out", required=True, help="the boxes (CSV)")

    gaps = sub.add_parser("table6", help="Table 6: one-shot methods' gap to the certified optimum")
    gaps.add_argument("--inputs", nargs="+", required=True, help="the layers' CSVs")
    gaps.add_argument("--out", required=True, help="the table's .csv (.md and .tex beside it)")

    fgaps = sub.add_parser("table6-formats", help="Table 6 on today's formats: gap to the certified optimum")
    fgaps.add_argument("--inputs", nargs="+", required=True, help="the layers' formats CSVs")
    fgaps.add_argument("--out", required=True, help="the table's .csv (.md and .tex beside it)")


def run(args) -> None:
    if args.step == "collect":
        from pvq.perlayer.collect import Selection, collect_model

        selection = Selection(args.chunk_features, args.chunks, args.out_channels, args.seed)
        collect_model(args.model, args.layers, args.out, selection, args.bits, args.images, args.imagenet)
    elif args.step == "solve":
        from pvq.perlayer.collect import load_layer
        from pvq.perlayer.solve import Limits, OneShot, solve_chunks

        with LAYER_INPUTS.reading(args.inputs):
            arrays, chunks = load_layer(args.inputs, args.layer)
        limits = Limits(prune_exact=args.prune_time_limit, quant_exact=args.quant_time_limit,
                        mip=args.mip_time_limit, mip_channels=args.mip_channels,
                        mip_bits=tuple(args.mip_bits),
                        heuristic_samples=args.heuristic_samples)
        mine = chunks[args.part::args.parts]
        print(f"{args.model} {args.layer}: part {args.part} of {args.parts}: {len(mine)} chunks", flush=True)
        oneshot = OneShot(damp=args.damp, order=args.order)
        LAYER_PART.write(solve_chunks(args.model, args.layer, arrays, mine, limits, args.baseline_bits, args.seed,
                                      oneshot), args.out)
    elif args.step == "formats":
        from pvq.perlayer.collect import load_layer
        from pvq.perlayer.formats import FormatSettings, solve_formats
        from pvq.perlayer.models import load_model_for_inputs, weight_layer
        from pvq.perlayer.solve import OneShot

        with LAYER_INPUTS.reading(args.inputs):
            _, chunks = load_layer(args.inputs, args.layer)
        module = weight_layer(load_model_for_inputs(args.model)[0], args.layer)
        settings = FormatSettings(tuple(args.nm), tuple(args.channel_bits), args.prune_time_limit,
                                  args.quant_time_limit, OneShot(damp=args.damp, order=args.order))
        weight = module.weight.detach().double().numpy()
        mine = chunks[args.part::args.parts]
        print(f"{args.model} {args.layer}: formats part {args.part} of {args.parts}: {len(mine)} chunks", flush=True)
        FORMATS_PART.write(solve_formats(args.model, args.layer, weight, getattr(module, "groups", 1), mine,
                                         args.chunk_features, settings), args.out)
    elif args.step == "merge-formats":
        merged = FORMATS_PART.read_all(args.inputs).sort_values(["chunk", "out_channel", "spec", "solver"])
        LAYER_FORMATS.write(merged, args.out)
    elif args.step == "format-boxes":
        from pvq.perlayer.summary import format_boxes

        FORMAT_BOXES.write(format_boxes(LAYER_BOUNDS.read_all(args.bounds), LAYER_FORMATS.read_all(args.formats)),
                           args.out)
    elif args.step == "merge":
        merged = LAYER_PART.read_all(args.inputs).sort_values(["chunk", "out_channel", "bits"])
        LAYER_BOUNDS.write(merged, args.out)
    elif args.step == "boxes":
        from pvq.perlayer.summary import chunk_boxes

        CHUNK_BOXES.write(chunk_boxes(LAYER_BOUNDS.read_all(args.inputs)), args.out)
    elif args.step == "table6":
        from pvq.perlayer.summary import table6
        from pvq.tables import write_table

        frame = table6(LAYER_BOUNDS.read_all(args.inputs))
        write_table(frame, args.out.removesuffix(".csv"), caption=TABLE6_CAPTION, float_format=".2f",
                    contract=TABLE6)
        print(frame.to_string(index=False))
    elif args.step == "table6-formats":
        from pvq.perlayer.summary import table6_formats
        from pvq.tables import write_table

        frame = table6_formats(LAYER_FORMATS.read_all(args.inputs))
        write_table(frame, args.out.removesuffix(".csv"), caption=TABLE6_FORMATS_CAPTION, float_format=".2f",
                    contract=TABLE6_FORMATS)
        print(frame.to_string(index=False))
    else:
        from pvq.perlayer.summary import table3
        from pvq.tables import write_table

        frame = table3(LAYER_BOUNDS.read_all(args.inputs))
        write_table(frame, args.out.removesuffix(".csv"), caption=TABLE3_CAPTION)
        print(frame.to_string(index=False))


TABLE3_CAPTION = ("Per-layer post-training comparison (paper Table 3 and Fig. 4): for each layer, the "
                  "sub-problem dimension, the number of chunks, and per bit width the share of chunks "
                  "where quantization or pruning is better whatever the optimiser (its box lies "
                  "entirely on one side of the diagonal).")

TABLE6_CAPTION = ("Today's one-shot methods against the certified optimum, per bit width: GPTQ and the "
                  "paper's Park & Boyd heuristic for quantization; greedy OBS (the procedure SparseGPT "
                  "approximates), Wanda, Wanda with refit and the paper's magnitude + refit for pruning "
                  "(sparsity 1 - b/16); OBS then GPTQ for both at once. Gaps in dB over the (chunk, "
                  "output channel) problems whose optimum is certified (certified of problems); for the "
                  "joint problem the reference is a certified lower bound on the error, so its gaps are "
                  "upper bounds. Verdict changed: the share of chunks where the better of quantization "
                  "and pruning differs from the paper heuristics' verdict when GPTQ quantizes and the "
                  "row's method prunes (the GPTQ row: pruning stays magnitude + refit).")

TABLE6_FORMATS_CAPTION = ("Today's one-shot methods against the certified optimum on today's formats (Table 6's "
                          "companion, the problems of Fig. 13), per spec: for N:M pruning, greedy OBS (the "
                          "procedure SparseGPT approximates), Wanda and Wanda with refit, each with the pattern, "
                          "and the heuristic (N:M magnitude + refit); for per-channel INT, round to nearest, GPTQ "
                          "and the heuristic (the better of the two), on each output channel's MSE-optimal grid. "
                          "Gaps in dB over the (chunk, output channel) problems whose optimum is certified "
                          "(certified of problems; split: problems whose chunk cuts the pattern's groups, left "
                          "out). Verdict changed: the share of chunk pairings (N:M spec with per-channel spec) "
                          "where the better of the two differs from the heuristics' verdict when the row's pair "
                          "replaces them: GPTQ with the row's pruning method, or the row's quantization method "
                          "with N:M magnitude + refit.")
