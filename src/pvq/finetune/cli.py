"""Fine-tuning (§5, App. D, G-I): FP baseline, one (model, method, bits) run, layer sensitivity, Tables 1/5.

``--settings`` is the JSON of the job's own settings (pvq.finetune.settings.JobSettings: what that job
reads of the config's finetune section, seed, baseline_bits and its task's data path; the rule builds it)."""

from __future__ import annotations

import sys
from pathlib import Path

HELP = __doc__


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="step", required=True, help="the step")
    baseline = sub.add_parser("baseline", help="train (digits) or load (pretrained models) the FP model")
    baseline.add_argument("--out-weights", required=True, help="fp.pt: the FP state dict")
    run = sub.add_parser("run", help="fine-tune with QAT or gradual pruning over the lr grid")
    run.add_argument("--method", choices=["quant", "prune"], required=True,
                     help="quant: QAT with LSQ; prune: gradual magnitude pruning")
    run.add_argument("--bits", type=int, required=True,
                     help="bit width b (pruning: sparsity 1 - b/baseline_bits, the same size)")
    run.add_argument("--long", action="store_true", help="Table 5: long_factor times the epochs")
    run.add_argument("--out-representations", required=True,
                     help="distances to the FP model's activations per seed, epoch and layer (CSV)")
    run.add_argument("--checkpoint-dir", help="where a killed job's progress is kept")
    sens = sub.add_parser("sensitivity", help="one layer compressed at a time, no fine-tuning (App. D)")
    sens.add_argument("--out-correlation", required=True,
                      help="correlation of layer SNR and metric drop per method (CSV)")
    for p, out in ((baseline, "the FP record: test and validation metric, history (JSON)"),
                   (run, "the cell's record: every seed's test metrics at its best learning rate, and their means (JSON)"),
                   (sens, "one row per (layer, method, bits) (CSV)")):
        p.add_argument("--model", required=True, help="a model of finetune.models")
        p.add_argument("--settings", required=True, help="JSON of the job's settings (JobSettings.to_json)")
        p.add_argument("--out", required=True, help=out)
    for p in (run, sens):
        p.add_argument("--fp-weights", required=True, help="fp.pt of `finetune baseline`")
        p.add_argument("--fp-json", required=True, help="fp.json of `finetune baseline`")
    table = sub.add_parser("table", help="Table 1 or 5 from the runs' JSONs")
    table.add_argument("--input", nargs="+", required=True, help="the runs' JSONs")
    table.add_argument("--settings", required=True, help="JSON of the job's settings (JobSettings.to_json)")
    table.add_argument("--caption", required=True, help="the table's caption (.md, .tex)")
    table.add_argument("--out", required=True, help="the CSV; .md and .tex are written beside it")


def _log(message: str) -> None:
    print(message, flush=True)


def run(args) -> None:
    from pvq.finetune.settings import JobSettings

    job = JobSettings.from_json(args.settings)
    job.check(args.step, getattr(args, "model", None), getattr(args, "method", None), getattr(args, "long", False))
    settings = job.values
    if args.step == "table":
        from pvq.finetune.artifacts import TABLE1
        from pvq.finetune.tables import finetune_table
        from pvq.tables import write_table

        table = finetune_table(args.input, settings["not_supported"], settings["bits"])
        write_table(table, Path(args.out).with_suffix(""), args.caption, contract=TABLE1)
        print(table.to_string(index=False))
        return
    from pvq.finetune import experiment

    if args.step == "baseline":
        experiment.train_baseline(args.model, settings, args.out_weights, args.out, log=_log)
    elif args.step == "run":
        experiment.finetune_run(args.model, args.method, args.bits, settings, args.fp_weights, args.fp_json,
                                args.out, args.out_representations, long=args.long,
                                checkpoint_dir=args.checkpoint_dir, log=_log)
    else:
        from pvq.finetune.artifacts import SENSITIVITY, SENSITIVITY_CORRELATION
        from pvq.finetune.layers import compressible_layers
        from pvq.finetune.loop import seed_everything
        from pvq.finetune.sensitivity import layer_sensitivity, sensitivity_correlation

        seed_everything(settings["seed"], settings["threads"])
        task = experiment.build_task(args.model, settings)
        model = experiment.load_fp_model(args.model, settings, args.fp_weights, task.channels_last)
        layers = list(compressible_layers(model, "compress"))
        table = layer_sensitivity(model, task, layers, settings["sensitivity"]["bits"],
                                  settings["baseline_bits"], log=_log)
        table.insert(0, "model", args.model)
        correlation = sensitivity_correlation(table)
        correlation.insert(0, "model", args.model)
        SENSITIVITY.write(table, args.out)
        SENSITIVITY_CORRELATION.write(correlation, args.out_correlation)
        print(correlation.to_string(index=False), file=sys.stdout)
