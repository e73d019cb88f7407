"""Quantization cards (Garg et al., "Confounding Tradeoffs for Neural Network Quantization").

One card per experiment states the design choices that confound quantization-vs-pruning
comparisons: quantizer, what is quantized, bit widths, data and compute budget, baseline model, and
(for this paper) the pruning side and how storage is counted. Every field describes the run that was
made: settings from its resolved config, what was actually computed (models, tensors, layers, bit
widths, epochs, solver outcomes) from the artifacts the card is given, limits from the constants of
the code that enforces them, and the weights by ``pvq.models.registry.weights_name``.

Artifacts by experiment (``--input NAME=PATH``): analytic: normal, student_t; zoo: zoo;
perlayer: perlayer; allocation: allocation, allocation_formats (its formats variant, optional), and fp
for the fine-tuned digits model; finetune: runs, long, fp; ptq: ptq (its files named <model>.csv);
formats: formats, and optionally pareto and analytic_formats.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from pvq.artifacts import contract
from pvq.finetune.artifacts import FP_RECORD, RUN
from pvq.perlayer.crosscheck import scip_crosscheck
from pvq.quantize import fit_scales, grid_limits

Card = dict[str, list[tuple[str, str]]]
Artifacts = dict[str, list[str]]


def _paths(artifacts: Artifacts, name: str, experiment: str, required: bool = True) -> list[str]:
    paths = artifacts.get(name, [])
    if required and not paths:
        raise ValueError(f"the {experiment} card reads its artifacts: give --input {name}=<path> "
                         f"(see pvq.report.cards); got {sorted(artifacts) or 'none'}")
    return paths


def _csv(artifacts: Artifacts, name: str, experiment: str) -> pd.DataFrame:
    """The input ``name``'s tables, each checked against its contract (pvq.artifacts)."""
    return pd.concat([contract(name).read(p) for p in _paths(artifacts, name, experiment)], ignore_index=True)


JSON_CONTRACTS = {"fp": FP_RECORD, "runs": RUN, "long": RUN}


def _jsons(artifacts: Artifacts, name: str, experiment: str, required: bool = True) -> list[dict]:
    return [JSON_CONTRACTS[name].read(p) for p in _paths(artifacts, name, experiment, required)]


def _numbers(values) -> str:
    return ", ".join(f"{v:g}" for v in sorted(set(values)))


def _epochs(values) -> str:
    values = set(values)
    return f"{_numbers(values)} epoch{'' if values == {1} else 's'}"


def _count(n: int, thing: str) -> str:
    return f"{n:,} {thing}{'' if n == 1 else 's'}"


def weights_of(model: str, fp_records: dict[str, dict] | None = None) -> str:
    """The weights a model was read with: this run's own training where its fine-tuning stage trained
    it (an fp.json with epochs), else the registry's name of the published weights."""
    record = (fp_records or {}).get(model)
    if record is not None and record.get("epochs"):
        return (f"{model}: trained from scratch by this run ({record['epochs']} epochs, test "
                f"{record['metric_name']} {record['metric']:.1f}%)")
    if record is not None and record.get("weights"):  # the baseline named the published weights it read
        return f"{model}: {record['weights']}"
    from pvq.models.registry import weights_name

    try:
        return f"{model}: {weights_name(model)}"
    except (KeyError, ValueError):  # neither a PyPI nor a torchvision model, and no record of training it
        return f"{model}: weights of unknown origin (no fp.json of this run given)"


def _quantizer(scale: str, bits) -> list[tuple[str, str]]:
    lo, hi = grid_limits(min(bits))
    return [
        ("uniform / non-uniform", "uniform (integer grid)"),
        ("symmetric / asymmetric", f"symmetric, grid s·i with i in -2^(b-1)..2^(b-1)-1 (zero on the grid; "
                                   f"{min(bits)} bits: {lo}..{hi})"),
        ("static / dynamic", "static"),
        ("scale", scale),
    ]


def _storage(config: dict[str, Any], sparsities) -> list[tuple[str, str]]:
    baseline = config["baseline_bits"]
    return [
        ("baseline", f"FP{baseline}: b-bit quantization is compared with sparsity 1 - b/{baseline} "
                     f"(here {_numbers(np.round(sparsities, 4))})"),
        ("pruning mask", "not counted (the paper's idealised ratio)"),
        ("natural zeros of quantization", "not credited to quantization"),
    ]


def analytic_card(config: dict[str, Any], artifacts: Artifacts) -> Card:
    normal = _csv(artifacts, "normal", "analytic")
    student_t = _csv(artifacts, "student_t", "analytic")
    section = config["analytic"]
    bits = sorted(set(normal["bits"]) | set(student_t["bits"]))
    reach = student_t["quant_delta"] * student_t["bits"].map(lambda b: -grid_limits(b)[0]) / student_t["r"]
    return {
        "Quantization method": _quantizer(
            f"the step minimising the exact expected squared error: a log-spaced scan (at least "
            f"{section['delta_scan_points']} steps) over a step range proven to hold the optimum, then Brent on "
            f"every local minimum; the clipping range chosen on the truncated t spans {reach.min():.0%} to "
            f"{reach.max():.0%} of the support's end", bits)
        + [("granularity", "one step for the whole distribution")],
        "Pruning method": [("criterion", "magnitude: zero the values of smallest magnitude"),
                           ("granularity", "unstructured")],
        "Quantized operations": [("what", "a random variable, no network: the standard normal and Student's t "
                                          f"(nu = 2) truncated to [-r, r] for {student_t['r'].nunique()} values of r "
                                          f"from {student_t['r'].min():g} to {student_t['r'].max():g} (kurtosis "
                                          f"{student_t['kurtosis'].min():.1f} to {student_t['kurtosis'].max():.1f})")],
        "Bit widths": [("compared", ", ".join(str(b) for b in bits))],
        "Storage accounting": _storage(config, pd.concat([normal["sparsity"], student_t["sparsity"]])),
        "Resource complexity": [("data", "none: errors are integrals of the density, computed exactly "
                                         "from incomplete moments (no sampling)")],
        "Pretrained model": [("model", "none")],
    }


def scale_search_limits() -> dict[str, int]:
    """The tensor sizes below which ``fit_scales`` (as the zoo sweep calls it, with its defaults)
    searches exactly: window_size (exact over the near-best stretches) and exact_events (global)."""
    parameters = inspect.signature(fit_scales).parameters
    return {name: parameters[name].default for name in ("window_size", "exact_events", "candidates")}


def zoo_card(config: dict[str, Any], artifacts: Artifacts) -> Card:
    zoo = _csv(artifacts, "zoo", "zoo")
    limits = scale_search_limits()
    bits = sorted(zoo["bits"].unique())
    tensors = zoo.drop_duplicates(["model", "tensor"])
    small = int((tensors["numel"] <= limits["window_size"]).sum())
    per_model = "; ".join(f"{model}: {_count(len(group), 'tensor')}, {int(group['numel'].sum()):,} weights"
                          for model, group in tensors.groupby("model", sort=False))
    limit = config["zoo"]["max_tensors"]
    storage = _storage(config, zoo["sparsity"])
    if "prune_sparsity_masked" in zoo:
        storage.append(("pruning mask (variant)", "1 bit per weight counted: sparsity "
                                                  f"{_numbers(np.round(zoo['prune_sparsity_masked'], 4))}"))
    storage.append(("natural zeros (reported)", "share of weights quantized to exactly zero (Table 2)"))
    return {
        "Quantization method": _quantizer(
            f"minimises the tensor's squared error: the {config['zoo']['scale_candidates']}-range reference grid "
            f"over (0, max|w|]; tensors of at most {limits['window_size']:,} weights: the exact optimum over the "
            f"grid's near-best stretches (the global optimum where n (2^b - 1) <= {limits['exact_events']:,}); "
            "larger ones: a local scan and Lloyd steps; never worse than the grid. In this run "
            f"{small} of {len(tensors)} tensors have at most {limits['window_size']:,} weights", bits)
        + [("granularity", "per tensor")],
        "Pruning method": [("criterion", "magnitude: zero the weights of smallest magnitude"),
                           ("granularity", "unstructured, per tensor")],
        "Quantized operations": [("what", "conv and linear weight tensors; no activations, no biases, "
                                          "no fine-tuning (post-training, data-free)"),
                                 ("tensors", per_model + ("" if limit is None else
                                                          f" (the first {limit} of each model, by the config)"))],
        "Bit widths": [("compared", ", ".join(str(b) for b in bits))],
        "Storage accounting": storage,
        "Resource complexity": [("data", "none: weights only"),
                                ("compute", f"{_count(zoo['model'].nunique(), 'job')} (one per model), CPU; "
                                            "no training")],
        "Pretrained model": [("weights", "; ".join(weights_of(m) for m in zoo["model"].unique()))],
    }


def _status_words(rows: pd.DataFrame, column: str) -> str:
    counts = rows[column].value_counts()
    return ", ".join(f"{n} {status}" for status, n in counts.items())


def perlayer_card(config: dict[str, Any], artifacts: Artifacts) -> Card:
    rows = _csv(artifacts, "perlayer", "perlayer")
    section = config["perlayer"]
    limits = section["time_limits"]
    oneshot = section["oneshot"]
    order = {"act": "act-order (descending diag X^T X)", "natural": "natural order"}[oneshot["order"]]
    damping = f"dampening {oneshot['damp']:g} x mean(diag X^T X)"
    bits = sorted(rows["bits"].unique())
    layers = []
    for (model, layer), group in rows.groupby(["model", "layer"], sort=False):
        layers.append(f"{model} {layer}: {_count(group['chunk'].nunique(), 'chunk')} of "
                      f"{group['n'].max()} input features, "
                      f"{_count(group.groupby('chunk')['out_channel'].nunique().max(), 'output channel')} each, "
                      f"{group['m'].max():,} rows of X")
    if config["imagenet_path"]:
        data = f"ImageNet training images under {config['imagenet_path']}"
    else:
        from pvq.models.images import bundled_photos

        data = "the photos bundled with scikit-learn and matplotlib (" + ", ".join(sorted(bundled_photos())) + ")"
    return {
        "Quantization method": _quantizer(
            "per-tensor MSE-optimal step of the whole layer; integer codes then optimised per output channel "
            f"on the layer's inputs (Park & Boyd heuristic, exact sphere decoder, SDP lower bound; GPTQ, {order}, "
            f"{damping})", bits)
        + [("granularity", "per tensor (one step per layer)")],
        "Pruning method": [("criterion", "best subset on the layer's inputs (certified branch and bound; SCIP "
                                         "MIQP cross-check); heuristic: magnitude mask + least-squares refit"),
                           ("granularity", "unstructured, within each chunk of input features")],
        "One-shot methods (Table 6)": [
            ("quantization", f"GPTQ: rounding with error feedback through the inverse Hessian, {order}, {damping}"),
            ("pruning", f"greedy Optimal Brain Surgeon, the procedure SparseGPT approximates ({damping}); "
                        "Wanda (|w| x input norm) as published and with a least-squares refit"),
            ("both", "OBS then GPTQ on the survivors: the pruning keep, each survivor on the b-bit grid; gaps "
                     "to a certified lower bound (the larger of the two separate problems' bounds)"),
            ("dampening", "GPTQ and OBS solve the damped problem; every reported error is the undamped "
                          "||X (w - w0)||^2"),
            ("time", f"median {1000 * rows['quant_gptq_seconds'].median():.3g} ms (GPTQ), "
                     f"{1000 * rows['prune_obs_seconds'].median():.3g} ms (OBS) per problem")],
        "Quantized operations": [("what", "weights only, one chunk of a layer at a time"),
                                 ("layers", "; ".join(layers)),
                                 ("objective", "output MSE ||X (w - w0)||^2 per output channel")],
        "Bit widths": [("compared", ", ".join(str(b) for b in bits))],
        "Storage accounting": _storage(config, rows["sparsity"]),
        "Resource complexity": [
            ("calibration data", f"{section['calibration_images']} seeded random crops of {data}"),
            ("solver limits", f"pruning B&B {limits['prune_exact']} CPU-s, sphere decoder {limits['quant_exact']} "
                              f"CPU-s, SCIP {limits['mip']} CPU-s per problem"),
            ("solver outcomes", f"pruning: {_status_words(rows, 'prune_status')}; quantization: "
                                f"{_status_words(rows, 'quant_status')}; SDP bound: "
                                f"{_status_words(rows, 'quant_sdp_status')} (per output channel and bit width)"),
            ("SCIP cross-check", scip_crosscheck(rows).words())],
        "Pretrained model": [("weights", "; ".join(weights_of(m) for m in rows["model"].unique()))],
        **_perlayer_formats(artifacts, order, damping),
    }


def _perlayer_formats(artifacts: Artifacts, order: str, damping: str) -> dict:
    """The card's section on today's formats (Fig. 13), when the run made them."""
    if not _paths(artifacts, "perlayer_formats", "perlayer", required=False):
        return {}
    rows = _csv(artifacts, "perlayer_formats", "perlayer")
    optimum = rows[rows["solver"] == "optimum"]
    lines = []
    for spec, group in optimum.groupby("spec", sort=True):
        prune = group["family"].iloc[0] == "prune"
        fast = rows[(rows["spec"] == spec) & (rows["solver"] == ("obs" if prune else "gptq"))]
        what = ("certified N:M optimum (branch and bound over the groups), heuristic N:M magnitude + refit; "
                f"one-shot with the pattern: greedy OBS ({damping}), Wanda as published and with a refit"
                if prune else
                "exact optimum (sphere decoder) on each output channel's MSE-optimal FP16 scale; round to nearest, "
                f"GPTQ ({order}, {damping}) and the heuristic, the better of the two")
        low, high = group["bits_per_weight"].min(), group["bits_per_weight"].max()
        storage = f"{low:.3g}" if f"{low:.3g}" == f"{high:.3g}" else f"{low:.3g}-{high:.3g}"
        lines.append((spec, f"{what}; {storage} bits per weight; outcomes: {_status_words(group, 'status')}; median "
                            f"per problem {1000 * group['seconds'].median():.3g} ms (optimum), "
                            f"{1000 * fast['seconds'].median():.3g} ms ({'OBS' if prune else 'GPTQ'})"))
    lines.append(("gaps to the optimum", "tables/table6_formats_gap_to_optimum: per spec and method, beside Table 6"))
    return {"Formats beside the paper's (Fig. 13)": lines}


def allocation_card(config: dict[str, Any], artifacts: Artifacts) -> Card:
    results = _csv(artifacts, "allocation", "allocation")
    fp = {r["model"]: r for r in _jsons(artifacts, "fp", "allocation", required=False)}
    section = config["allocation"]
    base = config["baseline_bits"]
    mask = {"bitmap": "a bitmap, 1 bit per weight",
            "relative_index": f"a relative index, {section['index_bits']} bits per stored value plus filler entries",
            "none": "not counted (idealised)"}[section["mask_encoding"]]
    objective = {"weighted_nsr": "sum over tensors of n_t ||w_t - w_hat_t||^2 / ||w_t||^2",
                 "nsr": "sum over tensors of ||w_t - w_hat_t||^2 / ||w_t||^2"}[section["objective"]]
    milp = results[results["strategy"] == "milp"]
    models = list(results["model"].unique())
    trained = [m for m in models if fp.get(m, {}).get("epochs")]
    accuracy = "".join(f"; {m}: test accuracy of every allocation, on its fine-tuning test split" for m in trained)
    return {
        "Quantization method": _quantizer("minimises the tensor's squared error (as the zoo stage); after "
                                          "pruning, refitted on the survivors", section["bits"])
        + [("granularity", "per tensor")],
        "Pruning method": [("criterion", "magnitude: zero the weights of smallest magnitude"),
                           ("granularity", "unstructured, per tensor"),
                           ("sparsities", _numbers(section["sparsities"]))],
        "Quantized operations": [("what", "every conv and linear weight tensor the zoo swept; no activations, "
                                          "no fine-tuning (post-training, data-free)"),
                                 ("per tensor", f"one of FP{base}, b-bit quantization, pruning (survivors FP{base}), "
                                                "or pruning then quantizing the survivors")],
        "Bit widths": [("offered", ", ".join(str(b) for b in section["bits"])),
                       ("budgets", _numbers(results["budget_bits"]) + " bits per weight")],
        "Storage accounting": [("baseline", f"FP{base}"),
                               ("quantization", f"b bits per weight + {section['scale_bits']} bits of scale per tensor"),
                               ("pruning mask", mask),
                               ("budget", f"floor(b N) bits + {section['scale_bits']} per tensor"),
                               ("natural zeros of quantization", "not credited")],
        "Resource complexity": [("objective", objective),
                                ("solver", f"multiple-choice knapsack as a MILP, {section['solver']} via PuLP, "
                                           f"{section['time_limit_s']:g} s limit per budget; Lagrangian greedy as "
                                           f"cross-check; MILP outcomes: {_status_words(milp, 'solver_status')}"),
                                ("strategies", ", ".join(results["strategy"].unique())),
                                ("data", "none: weights only" + accuracy)],
        "Pretrained model": [("weights", "; ".join(weights_of(m, fp) for m in models))],
        **_allocation_formats(section, artifacts),
    }


def _allocation_formats(section: dict[str, Any], artifacts: Artifacts) -> Card:
    """The formats variant's section (method specs as the options), when its results are given."""
    if not _paths(artifacts, "allocation_formats", "allocation", required=False):
        return {}
    results = _csv(artifacts, "allocation_formats", "allocation")
    milp = results[results["strategy"] == "milp"]
    return {"Formats variant (method specs as options)": [
        ("options", f"{len(section['specs'])} method specs offered to every tensor: {', '.join(section['specs'])}"),
        ("storage accounting", "exact, as pvq.methods counts it: every weight's code, every scale at its own bit "
                               "width, a tensor scale where the format has one, pruning masks or N:M metadata; "
                               "natural zeros not credited"),
        ("budget", f"as above: floor(b N) bits + {section['scale_bits']} per tensor"),
        ("strategies", ", ".join(results["strategy"].unique())),
        ("solver", f"MILP outcomes: {_status_words(milp, 'solver_status')}")]}


def _lr_words(records: list[dict]) -> str:
    lrs = [run["lr"] for r in records for run in r["runs"]]  # every seed's chosen learning rate
    return f"{min(lrs):.3g}" if min(lrs) == max(lrs) else f"{min(lrs):.3g} to {max(lrs):.3g}"


def _photo_words(section: dict[str, Any]) -> str:
    """The photos task's data: scenes per split, crops, what is held out."""
    p = section["photos"]
    return (f"natural photos inside the scikit-learn, matplotlib and scikit-image wheels, split by scene: "
            f"training {', '.join(p['train_scenes'])} (fresh seeded random crops and flips, {p['resolution']} px, "
            f"{p['steps_per_epoch']} batches per epoch); validation {', '.join(p['val_scenes'])}; held out for the "
            f"reported metrics {', '.join(p['test_scenes'])} ({p['eval_crops']} random crops each, the same for "
            "every run, never seen in training)")


# The paper tier's other Table 1 tasks (pvq.finetune.voc, .coco, .wikitext): their losses, and their data.
PAPER_TASK_LOSSES = {
    "voc": "pixel cross-entropy, VOC's boundary pixels ignored",
    "coco": "effdet's focal loss and box loss on the anchors its labeler assigns",
    "wikitext": "next-token cross-entropy",
}


def _paper_task_data(config: dict[str, Any]) -> dict[str, str]:
    section = config["finetune"]
    voc, coco, text = section["voc"], section["coco"], section["wikitext"]
    return {
        "voc": (f"Pascal VOC 2012 at {config['voc_path']} ({voc['val_images']} training images held out for the lr "
                f"choice, the val split as test; random rescale, flip and {voc['crop_size']} px crops; mIoU over "
                f"the 21 classes with the shorter side at {voc['base_size']} px)"),
        "coco": (f"MS COCO 2017 at {config['coco_path']} ({coco['val_images']} training images held out for the lr "
                 f"choice, val2017 as test; effdet's {coco['architecture']} input pipeline; COCO AP@[.5:.95] by "
                 "pycocotools)"),
        "wikitext": (f"WikiText-103 (raw) at {config['wikitext_path']}, tokenized by {text['checkpoint']}'s tokenizer "
                     f"into {text['sequence_length']}-token blocks ({text['val_blocks']} training blocks held out "
                     "for the lr choice; perplexity on the validation split; micro-batches of "
                     f"{text['micro_batch_size']} sequences)"),
    }


def finetune_card(config: dict[str, Any], artifacts: Artifacts) -> Card:
    runs = _jsons(artifacts, "runs", "finetune")
    long = _jsons(artifacts, "long", "finetune", required=False)
    fp = {r["model"]: r for r in _jsons(artifacts, "fp", "finetune", required=False)}
    section = config["finetune"]
    models = list(dict.fromkeys(r["model"] for r in runs))
    schedules = []
    for model in models:
        mine = [r for r in runs if r["model"] == model]
        s = mine[0]["schedule"]
        schedules.append(f"{model}: {_count(len(mine), 'run')} ({', '.join(sorted({r['method'] for r in mine}))} "
                         f"at {_numbers(r['bits'] for r in mine)} bits), {_epochs(r['epochs'] for r in mine)}, "
                         f"{s['optimizer']}, batch {s['batch_size']}, weight decay {s['weight_decay']:g}, "
                         f"chosen lr {_lr_words(mine)}")
    grid = ", ".join(f"0.33^{k}" for k in section["lr_grid"])
    layers = ("every conv and linear weight" if section["first_last"] == "compress"
              else "every conv and linear weight except the first and last (kept in floating point)")
    if any(section["models"][m]["task"] == "wikitext" for m in models):
        layers += ("; OPT: every linear layer of the decoder, its token and position embeddings and the LM "
                   "head tied to the token embedding left in floating point")
    skipped = "; ".join(f"{name}: {entry['reason']}" for name, entry in section["not_supported"].items())
    from pvq.finetune.experiment import DIGITS
    from pvq.report.compare_finetune import examples_per_test_set

    tasks = {model: section["models"][model]["task"] for model in models}
    data, losses = [], []
    if DIGITS in models:
        digits = section["digits"]
        train = "all" if digits["train_samples"] is None else f"the first {digits['train_samples']}"
        data.append(f"sklearn digits: fixed seeded 60/20/20 split ({train} training images, "
                    f"{examples_per_test_set([DIGITS], config['seed'])[DIGITS]} test images), random translation by up "
                    f"to {digits['shift']} px")
    photos = [m for m, task in tasks.items() if task == "photos"]
    if photos:
        data.append(f"{', '.join(photos)}: {_photo_words(section)}")
        losses.append(f"{', '.join(photos)}: distillation from the uncompressed model, T^2 KL(teacher || student) "
                      f"on the logits, T = {section['photos']['temperature']:g}")
    imagenet = [m for m, task in tasks.items() if task == "imagenet"]
    if imagenet:
        data.append(f"ImageNet at {config['imagenet_path']} ({section['imagenet']['val_images']} training images "
                    "held out for the lr choice, official val set as test)")
    data += [words for task, words in _paper_task_data(config).items() if task in tasks.values()]
    losses += [f"{', '.join(m for m, t in tasks.items() if t == task)}: {words}"
               for task, words in PAPER_TASK_LOSSES.items() if task in tasks.values()]
    labelled = [m for m, task in tasks.items() if task in ("digits", "imagenet")]
    if labelled:
        losses.append(f"{', '.join(labelled)}: cross-entropy with the labels")
    batchnorm = "statistics re-estimated on training data after training, for both methods"
    if "wikitext" in tasks.values():
        batchnorm += " (OPT has layer norms only: nothing to re-estimate)"
    if photos:
        batchnorm += (f" ({', '.join(photos)}: BN frozen while training, statistics re-estimated relative to the "
                      "uncompressed model's, i.e. its ImageNet statistics moved by the shift compression causes on "
                      "training crops, before training and after every epoch)")
    per_cell = sorted({len(r["seeds"]) for r in runs})
    seeds = _numbers(s for r in runs for s in r["seeds"])
    seeds = (f"{seeds} (one run per cell)" if per_cell == [1] else
             f"{seeds}: {_numbers(per_cell)} per cell, both methods on the same data per seed (paired); "
             "tables give 95 % intervals and the paired winner")
    seconds = sum(r["seconds"] for r in runs + long)
    devices = ", ".join(sorted({r["device"] for r in runs + long}))
    return {
        "Quantization method": _quantizer("learned with LSQ (straight-through rounding, gradient scale "
                                          f"1/sqrt(N Qp)), initialised at the MSE-optimal scale; own Adam, "
                                          f"lr {section['scale_lr']:g}", sorted({r['bits'] for r in runs}))
        + [("granularity", "per tensor"),
           ("training", "quantization-aware training of all weights and scales jointly")],
        "Pruning method": [("criterion", "magnitude, per tensor (every layer at the same sparsity)"),
                           ("granularity", "unstructured"),
                           ("schedule", f"gradual (Zhu & Gupta cubic), ramp over the first "
                                        f"{section['ramp_fraction']:.0%} of the steps, masks updated every "
                                        f"{section['mask_update_steps']} step(s), then fixed")],
        "Quantized operations": [("what", f"weights only ({layers}); activations and batch norm in "
                                          "floating point, batch norm not folded"),
                                 ("batch norm", batchnorm)],
        "Bit widths": [("compared", _numbers(r["bits"] for r in runs))],
        "Storage accounting": _storage(config, [r["sparsity_target"] for r in runs if r["sparsity_target"] is not None]
                                       or [1 - b / config["baseline_bits"] for b in section["bits"]]),
        "Resource complexity": [
            ("fine-tuning", "; ".join(schedules)),
            ("learning-rate grid", f"base lr x {grid}, best by validation metric, the same for both methods"),
            ("Table 5", (f"{_count(len(long), 'run')} with {_epochs(r['epochs'] for r in long)} "
                         f"({section['long_factor']}x)") if long else "not run"),
            ("seeds", seeds),
            ("data", "; ".join(data)),
            ("loss", "; ".join(losses)),
            ("compute", f"{seconds / 60:.1f} minutes of fine-tuning on {devices}"),
        ],
        "Pretrained model": [
            ("weights", "; ".join(weights_of(m, fp) for m in models)),
            ("not run", skipped or "none"),
        ],
    }


def ptq_card(config: dict[str, Any], artifacts: Artifacts) -> Card:
    from pathlib import Path

    paths = _paths(artifacts, "ptq", "ptq")
    rows = _csv(artifacts, "ptq", "ptq")
    models = [Path(p).stem for p in paths]
    section, photos = config["ptq"], config["finetune"]["photos"]
    order = {"act": "act-order (descending diag X^T X)", "natural": "natural order"}[section["order"]]
    damping = f"dampening {section['damp']:g} x mean(diag X^T X)"
    methods = list(dict.fromkeys(rows["method"]))
    bits = sorted(rows["bits"].unique())
    storage = "; ".join(f"{m}: {_numbers(np.round(rows.loc[rows['method'] == m, 'bits_per_weight'], 3))}"
                        for m in methods)
    best = []
    for b, group in rows.groupby("bits"):
        top = group.sort_values(["kl", "agree"], ascending=[True, False]).iloc[0]
        best.append(f"{b} bits: {top['method']} (KL {top['kl']:.3g}, agreement {top['agree']:.1f}%)")
    joint = rows[rows["method"] == "sparsegpt+gptq"]
    return {
        "Quantization method": _quantizer("per output channel, MSE-optimal FP16 step fitted to the weights "
                                          "(int<b>/per-channel/mse); RTN rounds to nearest; GPTQ chooses the codes "
                                          f"with error feedback through the inverse Hessian ({order}, {damping})", bits)
        + [("granularity", "per output channel")],
        "Pruning method": [
            ("criteria", "magnitude: smallest |w| of the whole tensor (no data); Wanda: |w| x input norm, the same "
                         "count in every row, kept weights unchanged; SparseGPT: OBS saliency in one pass over the "
                         f"columns ({order}, mask chosen per block of {section['block']} columns, {damping}), kept "
                         "weights updated"),
            ("granularity", "unstructured; FP16 values and a 1-bit-per-weight bitmap")],
        "Both (sparsegpt+gptq)": [
            ("method", f"{section['joint_sparsity']:g} of the weights zeroed and the rest on b / "
                       f"(1 - {section['joint_sparsity']:g}) bits, chosen and rounded in one SparseGPT pass; steps "
                       "fitted on the magnitude-pruned tensor"),
            ("specs", ", ".join(joint["spec"]) if len(joint) else "not run")],
        "Quantized operations": [
            ("what", "the weights of every conv and linear layer (batch norm and biases unchanged, activations FP32)"),
            ("procedure", "layer by layer in forward order, each fitted to the calibration inputs that reach it "
                          "through the layers already compressed (GPTQ / SparseGPT); depthwise convs channel by "
                          "channel on each channel's own inputs; no fine-tuning")],
        "Bit widths": [("compared", ", ".join(str(b) for b in bits)),
                       ("best by KL (then agreement)", "; ".join(best))],
        "Storage accounting": _storage(config, [1 - b / config["baseline_bits"] for b in bits])
        + [("exact bits per weight, bitmaps and FP16 scales counted (pvq.methods)", storage)],
        "Resource complexity": [
            ("calibration data", f"{section['calibration_crops']} seeded random crops ({photos['resolution']} px) of "
                                 f"each training scene: {', '.join(photos['train_scenes'])}"),
            ("evaluation", f"{photos['eval_crops']} fixed crops of each held-out scene "
                           f"({', '.join(photos['test_scenes'])}): top-1 agreement with the uncompressed model, "
                           "KL(uncompressed || compressed), logit SNR"),
            ("compute", f"{section['threads']} CPU thread(s) per model")],
        "Pretrained model": [("weights", "; ".join(weights_of(m) for m in models))],
    }


# What a scale rule does, by its spec token; a rule not listed is described by its docstring.
RULE_WORDS = {"mse": "MSE-optimal: the scale format's value of least squared error per unit",
              "max": "max rule: the unit's largest magnitude onto the grid's top level",
              "shared-exp": "OCP MX v1.0 shared exponent 2^(floor(log2 max|v|) - emax_elem)"}


def _format_words(fmt) -> str:
    return f"{fmt.name.upper()} ({fmt.bits} bits)"


def _grid_words(grid) -> str:
    from pvq.methods import Int

    if isinstance(grid, Int):
        return f"INT{grid.bits}, integers {grid.low}..{grid.top:g}"
    return f"FP{grid.bits} E{grid.exp}M{grid.man} (largest {grid.top:g}, smallest {grid.smallest:g})"


def _quantizer_words(quantizer) -> str:
    """A Quantizer value in words: grid, scaling unit, scale rule, scale storage."""
    from pvq.methods import PerChannel, PerGroup

    unit = {PerChannel: "one scale per output channel"}.get(type(quantizer.granularity), "one scale per tensor")
    if isinstance(quantizer.granularity, PerGroup):
        unit = f"one scale per {quantizer.granularity.size} consecutive weights along the reduction dimension"
    rule = RULE_WORDS.get(quantizer.rule.token, (type(quantizer.rule).__doc__ or quantizer.rule.token).strip())
    tensor = ("" if quantizer.tensor_scale is None
              else f", times one {_format_words(quantizer.tensor_scale)} scale per tensor")
    return f"{_grid_words(quantizer.grid)}; {unit}, {rule}, stored as {_format_words(quantizer.scale_format)}{tensor}"


def _pruner_words(pruner) -> str:
    """A Pruner value in words: pattern, criterion, how positions and values are stored."""
    from pvq.methods import NM, Bitmap, EntropyBound, NMIndex

    pattern = pruner.pattern
    shape = (f"{pattern.n}:{pattern.m}, {pattern.n} kept of every {pattern.m} consecutive weights along the "
             "reduction dimension" if isinstance(pattern, NM) else f"unstructured, sparsity {pattern.sparsity:g}")
    positions = pruner.positions
    if isinstance(positions, Bitmap):
        where = "a bitmap, 1 bit per weight"
    elif isinstance(positions, NMIndex):
        where = f"N:M metadata, {math.ceil(math.log2(pattern.m))} bits per kept weight"
    elif isinstance(positions, EntropyBound):
        where = "the entropy bound H(sparsity) per weight"
    else:
        where = f"a relative index, {positions.index_bits} bits per kept weight plus filler entries"
    return f"{type(pruner.criterion).__name__.lower()}, {shape}; kept values {_format_words(pruner.values)}, positions in {where}"


def _bits_range(values) -> str:
    low, high = f"{min(values):.4g}", f"{max(values):.4g}"
    return low if low == high else f"{low}-{high}"


def formats_card(config: dict[str, Any], artifacts: Artifacts) -> Card:
    """Every method spec the formats sweep ran, described from its parsed value (pvq.methods), with the
    bits per weight measured on this run's tensors."""
    from pvq.methods import parse

    rows = _csv(artifacts, "formats", "formats")
    methods = {spec: parse(spec) for spec in dict.fromkeys(rows["spec"])}
    lines: dict[str, list[tuple[str, str]]] = {"quant": [], "prune": [], "joint": []}
    grids = set()
    for spec, method in methods.items():
        mine = rows[rows["spec"] == spec]
        if method.family == "quant":
            words, grids = _quantizer_words(method), grids | {method.grid.bits}
        elif method.family == "prune":
            words = _pruner_words(method)
        else:
            words, grids = (f"{_pruner_words(method.pruner)}; then the kept weights: "
                            f"{_quantizer_words(method.quantizer)}"), grids | {method.quantizer.grid.bits}
        lines[method.family].append((spec, f"{words}; {_bits_range(mine['bits_per_weight'])} bits per weight on "
                                           f"{_count(len(mine), 'tensor')}"))
    tensors = rows.drop_duplicates(["model", "tensor"])
    per_model = "; ".join(f"{model}: {_count(len(group), 'tensor')}, {int(group['numel'].sum()):,} weights"
                          for model, group in tensors.groupby("model", sort=False))
    limit = config["formats"]["max_tensors"]
    card: Card = {
        "Quantization method": lines["quant"] or [("specs", "none run")],
        "Pruning method": lines["prune"] or [("specs", "none run")],
        "Both (prune, then quantize the kept weights)": lines["joint"] or [("specs", "none run")],
        "Quantized operations": [("what", "conv and linear weight tensors; no activations, no biases, no "
                                          "fine-tuning (post-training, data-free)"),
                                 ("tensors", per_model + ("" if limit is None else
                                                          f" (the first {limit} of each model, by the config)"))],
        "Bit widths": [("grids", ", ".join(str(b) for b in sorted(grids)) or "none"),
                       ("bits per weight", f"{_bits_range(rows['bits_per_weight'])}, every value, scale and "
                                           "position bit counted per tensor (pvq.methods)")],
        "Storage accounting": [("scales", "each at its own format's bits, as listed per spec"),
                               ("pruning positions", "as listed per spec"),
                               ("natural zeros of quantization", "stored as codes like any other value (not credited)")],
        "Resource complexity": [("data", "none: weights only"),
                                ("compute", f"{_count(rows['model'].nunique(), 'job')} (one per model), CPU; "
                                            "no training")],
        "Pretrained model": [("weights", "; ".join(weights_of(m) for m in rows["model"].unique()))],
    }
    if _paths(artifacts, "pareto", "formats", required=False):
        pareto = _csv(artifacts, "pareto", "formats")
        card["Pareto front (Fig. 12)"] = [
            (model, ", ".join(group.sort_values("bits_per_weight").loc[group["front_all"], "spec"]))
            for model, group in pareto.groupby("model", sort=False)]
    if _paths(artifacts, "analytic_formats", "formats", required=False):
        analytic = _csv(artifacts, "analytic_formats", "formats")
        card["Analytic comparison (Fig. 2, formats)"] = [
            ("grids", ", ".join(dict.fromkeys(analytic["format"]))),
            ("distributions", ", ".join(f"{d} ({_count(len(g.drop_duplicates('kurtosis')), 'kurtosis value')})"
                                        for d, g in analytic.groupby("distribution", sort=False))),
            ("method", "each grid per tensor with its MSE-optimal scale, expected errors exact (quadrature), "
                       "against magnitude pruning at the same bits per weight")]
    return card


BUILDERS: dict[str, Callable[[dict[str, Any], Artifacts], Card]] = {
    "analytic": analytic_card,
    "zoo": zoo_card,
    "perlayer": perlayer_card,
    "allocation": allocation_card,
    "finetune": finetune_card,
    "ptq": ptq_card,
    "formats": formats_card,
}


def _cell(text: str) -> str:
    """A Markdown table cell: a '|' in the text would end the cell."""
    return str(text).replace("|", "\\|")


def render(experiment: str, card: Card, config: dict[str, Any], artifacts: Artifacts) -> str:
    """Markdown: one table per category, as the cards of Garg et al. group their trade-offs."""
    files = ", ".join(f"`{p}`" for paths in artifacts.values() for p in paths)
    lines = [f"# Quantization card: {experiment}", "",
             f"Run `{config['run_name']}`, seed {config['seed']}. Generated from the resolved config and the "
             f"run's artifacts: {files or 'none'}.", ""]
    for category, entries in card.items():
        lines += [f"## {category}", "", "| design choice | this experiment |", "|---|---|"]
        lines += [f"| {_cell(name)} | {_cell(value)} |" for name, value in entries]
        lines.append("")
    return "\n".join(lines)


def quantization_card(experiment: str, config: dict[str, Any], artifacts: Artifacts) -> str:
    if experiment not in BUILDERS:
        raise KeyError(f"no quantization card for experiment {experiment!r}; known: {sorted(BUILDERS)}")
    return render(experiment, BUILDERS[experiment](config, artifacts), config, artifacts)
