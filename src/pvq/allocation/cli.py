"""Allocation under a model-size budget: `allocate` one model's tensors over the budget sweep with the
paper's options, `allocate-formats` with configured method specs as the options; `summarize-choices`
what Fig. 11 draws besides the choices, `summarize-formats` what the MILP over method specs picked.

A zoo model's tensors and kurtosis come from the registry and its zoo CSV (``--zoo``); a trained
digits model's from its checkpoint (``--weights``), whose test accuracy is then measured with every
strategy's allocation applied (``--out-accuracy``: its correlation with the model error)."""

from __future__ import annotations

import time

import pandas as pd

from pvq.allocation.artifacts import (ACCURACY, CHOICES, CHOICES_SUMMARY, FORMATS_CHOICES, FORMATS_SHARES,
                                      FORMATS_SUMMARY, SUMMARY)
from pvq.zoo.artifacts import ZOO_SWEEP

HELP = __doc__


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, help="what to do")
    allocate = sub.add_parser("allocate", help="options, MILP, greedy and baselines for one model")
    add_source_arguments(allocate)
    allocate.add_argument("--zoo-all", nargs="+", required=True,
                          help="every zoo CSV: the kurtosis rule's boundary (Fig. 3 right)")
    allocate.add_argument("--bits", type=int, nargs="+", required=True,
                          help="quantization bit widths offered to every tensor (alone and after pruning)")
    allocate.add_argument("--sparsities", type=float, nargs="+", required=True,
                          help="magnitude-pruning sparsities offered, each in (0, 1)")
    allocate.add_argument("--budgets", type=float, nargs="+", required=True,
                          help="model-size budgets in bits per weight")
    allocate.add_argument("--baseline-bits", type=int, required=True, help="bits of an uncompressed weight (16: FP16)")
    allocate.add_argument("--scale-bits", type=int, required=True, help="bits stored per quantized tensor for its scale")
    allocate.add_argument("--mask-encoding", required=True,
                          help="cost of a pruned tensor's positions: bitmap, relative_index or none")
    allocate.add_argument("--index-bits", type=int, required=True,
                          help="bits per relative index (read with --mask-encoding relative_index)")
    add_solver_arguments(allocate)
    allocate.add_argument("--candidates", type=int, required=True, help="grid size of the MSE scale search")
    allocate.add_argument("--out", required=True, help="the budget sweep CSV: every strategy at every budget")
    allocate.add_argument("--out-choices", required=True, help="the MILP's choice per tensor and budget (CSV)")
    allocate.add_argument("--out-accuracy", help="correlation of model error and accuracy drop (--weights)")
    formats = sub.add_parser("allocate-formats", help="method specs as the options: MILP, greedy, one family, "
                                                      "one spec everywhere")
    add_source_arguments(formats)
    formats.add_argument("--spec", nargs="+", required=True,
                         help="method specs offered to every tensor (pvq.methods.spec: int4/per-channel/mse, mxfp4, "
                              "nvfp4, prune/2:4, prune/2:4+int4/per-channel/mse, ...)")
    formats.add_argument("--budgets", type=float, nargs="+", required=True,
                         help="model-size budgets in bits per weight")
    formats.add_argument("--scale-bits", type=int, required=True,
                         help="bits per tensor the capacity adds to floor(b N), as for the paper's options")
    add_solver_arguments(formats)
    formats.add_argument("--out", required=True, help="the budget sweep CSV: every strategy at every budget")
    formats.add_argument("--out-choices", required=True, help="the MILP's spec per tensor and budget (CSV)")
    summarize = sub.add_parser("summarize-choices", help="per budget: weights in pruned tensors, the zoo's "
                                                          "kurtosis boundary (Fig. 11)")
    summarize.add_argument("--choices", nargs="+", required=True, help="every model's MILP choices CSV")
    summarize.add_argument("--zoo", nargs="+", required=True, help="every zoo CSV: the kurtosis boundary")
    summarize.add_argument("--out", required=True, help="the summary CSV (allocation/choices_summary.csv)")
    shares = sub.add_parser("summarize-formats", help="per model and budget: the specs the MILP over method "
                                                      "specs picked, with their shares of weights and storage")
    shares.add_argument("--choices", nargs="+", required=True, help="every model's formats choices CSV")
    shares.add_argument("--out", required=True, help="the summary CSV (allocation/formats_shares.csv)")


def add_source_arguments(parser) -> None:
    """Where a model's tensors and kurtosis come from: its zoo CSV or a trained digits checkpoint."""
    parser.add_argument("--model", required=True, help="model name (a zoo model, or digits_resnet with --weights)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--zoo", help="the model's zoo CSV: its tensors and their kurtosis")
    source.add_argument("--weights", help="a trained digits_resnet state dict (fine-tuning stage's fp.pt): "
                                          "tensors, kurtosis and the test accuracy of every allocation")
    parser.add_argument("--seed", type=int, default=None, help="digits split seed (required with --weights)")


def add_solver_arguments(parser) -> None:
    """The MILP's objective, solver and time limit, and the threads computing the options."""
    parser.add_argument("--objective", required=True, help="model error minimised: weighted_nsr or nsr")
    parser.add_argument("--solver", required=True, help="MILP solver: cbc or highs")
    parser.add_argument("--time-limit-s", type=float, required=True, help="time limit of one MILP solve in seconds")
    parser.add_argument("--workers", type=int, required=True, help="threads computing tensors' options side by side")


def say(line: str) -> None:
    print(line, flush=True)


def load_source(args, reconstruct):
    """(tensors by name, kurtosis per tensor, accuracy probe or None) of ``--zoo`` or ``--weights``;
    ``reconstruct``: the probe's (w, option row) -> stored tensor."""
    from pvq.models.registry import weight_tensors

    if args.weights is None:
        zoo = ZOO_SWEEP.read(args.zoo, expect={"model": [args.model]})
        kurtosis = zoo.groupby("tensor", sort=False)["kurtosis"].first()
        tensors = weight_tensors(args.model)
        return {name: tensors[name] for name in kurtosis.index}, kurtosis, None  # the tensors the zoo swept
    import torch

    from pvq.allocation.apply import AccuracyProbe, model_tensors
    from pvq.finetune.artifacts import FP_WEIGHTS
    from pvq.metrics import kurtosis as sample_kurtosis
    from pvq.models.digits import digits_split, load_digits_resnet

    if args.seed is None:
        raise SystemExit(f"{args.model}: --weights needs --seed, the run's seed (it fixes the digits test split)")
    torch.set_num_threads(1)  # bit-for-bit accuracies between runs
    with FP_WEIGHTS.reading(args.weights):
        model = load_digits_resnet(args.weights)
    tensors = model_tensors(model)
    kurtosis = pd.Series({name: sample_kurtosis(w) for name, w in tensors.items()})
    probe = AccuracyProbe(model, digits_split(args.seed).test, stored=reconstruct)
    say(f"{args.model}: FP test accuracy {probe.fp_accuracy:.2f} %")
    return tensors, kurtosis, probe


def run(args) -> None:
    if args.action == "allocate-formats":
        return run_formats(args)
    if args.action == "summarize-formats":
        from pvq.allocation.summary import formats_shares

        shares = formats_shares(FORMATS_CHOICES.read_all(args.choices))
        FORMATS_SHARES.write(shares, args.out)
        return say(shares.to_string(index=False))
    if args.action == "summarize-choices":
        from pvq.allocation.summary import choices_summary

        summary = choices_summary(CHOICES.read_all(args.choices), ZOO_SWEEP.read_all(args.zoo))
        CHOICES_SUMMARY.write(summary, args.out)
        return say(summary.to_string(index=False))
    from pvq.allocation.options import Storage, model_options
    from pvq.allocation.strategies import ModelAllocation, sweep_budgets
    from pvq.zoo.regions import kurtosis_boundary

    def reconstruct(w, row):
        from pvq.allocation.apply import reconstruct as paper_option  # torch: only with --weights

        return paper_option(w, row.choice, row.bits, row.sparsity, args.candidates)

    tensors, kurtosis, probe = load_source(args, reconstruct)
    storage = Storage(args.baseline_bits, args.scale_bits, args.mask_encoding, args.index_bits)
    start = time.perf_counter()
    say(f"{args.model}: {len(tensors)} tensors, {sum(w.size for w in tensors.values())} weights; {storage}")
    options = model_options(tensors, args.bits, args.sparsities, storage, args.candidates, args.workers, say)
    say(f"options: {len(options)} in {time.perf_counter() - start:.1f} s")
    zoo_all = ZOO_SWEEP.read_all(args.zoo_all)
    boundary = kurtosis_boundary(zoo_all, masked=args.mask_encoding != "none")
    say("kurtosis boundary per bit width: " + ", ".join(f"{b}: {k:.3g}" for b, k in boundary.items()))
    allocation = ModelAllocation(options, kurtosis, boundary, args.objective, args.solver, args.time_limit_s,
                                 args.scale_bits)
    summary, choices = sweep_budgets(args.model, allocation, args.budgets, say, probe)
    SUMMARY.write(summary, args.out)
    CHOICES.write(choices, args.out_choices)
    if probe is not None and args.out_accuracy:
        from pvq.allocation.apply import accuracy_correlation

        correlation = accuracy_correlation(summary, probe.fp_accuracy)
        ACCURACY.write(correlation, args.out_accuracy)
        say("accuracy drop vs model error: " + ", ".join(
            f"{row.strategy} rho {row.spearman_rho:.2f}" for row in correlation.itertuples()))
    say(f"done in {time.perf_counter() - start:.1f} s")


def run_formats(args) -> None:
    from pvq.allocation.formats import MethodAllocation
    from pvq.allocation.method_options import method_model_options
    from pvq.allocation.strategies import sweep_budgets
    from pvq.formats.specs import checked_methods

    methods = checked_methods(args.spec, key="--spec")  # a bad spec stops here, before any work

    def reconstruct(w, row):
        return methods[row.spec].apply(w)[0]

    tensors, kurtosis, probe = load_source(args, reconstruct)
    start = time.perf_counter()
    say(f"{args.model}: {len(tensors)} tensors, {sum(w.size for w in tensors.values())} weights; "
        f"{len(methods)} methods: {', '.join(methods)}")
    options = method_model_options(tensors, methods, args.workers, say)
    say(f"options: {len(options)} in {time.perf_counter() - start:.1f} s")
    allocation = MethodAllocation(options, kurtosis, args.objective, args.solver, args.time_limit_s, args.scale_bits)
    summary, choices = sweep_budgets(args.model, allocation, args.budgets, say, probe)
    FORMATS_SUMMARY.write(summary, args.out)
    FORMATS_CHOICES.write(choices, args.out_choices)
    say(f"done in {time.perf_counter() - start:.1f} s")
