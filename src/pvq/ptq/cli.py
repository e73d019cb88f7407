"""Post-training compression of a whole pretrained model (beyond the paper; Fig. 14): every method at
every bit width, layer by layer through the already compressed layers, scored on held-out photos."""

from __future__ import annotations

import json

from pvq.ptq.artifacts import PTQ_RESULTS

HELP = __doc__


def add_arguments(parser) -> None:
    parser.add_argument("--model", required=True, help="a pretrained registry model with a photo task (efficientnet_lite0)")
    parser.add_argument("--methods", nargs="+", required=True,
                        help="rtn, gptq, magnitude, wanda, sparsegpt, sparsegpt+gptq (pvq.ptq.methods)")
    parser.add_argument("--bits", nargs="+", type=int, required=True, help="bit widths b (equal storage: sparsity 1 - b/16)")
    parser.add_argument("--settings", required=True,
                        help="JSON: the ptq config section plus photos (finetune.photos), seed and baseline_bits")
    parser.add_argument("--threads", type=int, required=True, help="CPU threads for torch")
    parser.add_argument("--out", required=True, help="the results CSV (ptq/<model>.csv)")


def run(args) -> None:
    import torch

    from pvq.ptq.experiment import run_ptq

    torch.set_num_threads(args.threads)
    frame = run_ptq(args.model, args.methods, args.bits, json.loads(args.settings),
                    progress=lambda line: print(line, flush=True))
    PTQ_RESULTS.write(frame, args.out)
    print(frame.to_string(index=False))
