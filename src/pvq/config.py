"""Load, merge and validate a run's config against workflow/schemas before any job runs.

The schema (JSON Schema in YAML, one file per stage joined by relative ``$ref``) holds every key's
description and default; validation fills the defaults and reports every problem by key name.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = REPO_ROOT / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """A config that does not satisfy the schema; the message names every offending key."""


def load_yaml(path: str | Path) -> dict[str, Any]:
    with open(path) as handle:
        data = yaml.safe_load(handle)
    return data if data is not None else {}


def merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Recursive dict update, as Snakemake applies ``--configfile`` overlays, except that an empty
    mapping replaces the one it overlays (Snakemake's update keeps it unchanged): an overlay states
    ``finetune: {not_supported: {}}`` to empty that mapping, and ``{}`` for a section of settings
    returns it to the schema defaults."""
    merged = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and value and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def apply_overlays(config: dict[str, Any], overlays: list[dict[str, Any]]) -> dict[str, Any]:
    """Apply ``overlays`` in order onto ``config`` with :func:`merge`. On the config Snakemake merged
    from the same overlays this changes only what an overlay's empty mapping empties."""
    for overlay in overlays:
        config = merge(config, overlay)
    return config


def load_config(*paths: str | Path, schema_path: str | Path = SCHEMA_PATH) -> dict[str, Any]:
    """Merge config files left to right and validate the result."""
    config: dict[str, Any] = {}
    for path in paths:
        config = merge(config, load_yaml(path))
    return validate(config, schema_path)


def validate(config: dict[str, Any], schema_path: str | Path = SCHEMA_PATH) -> dict[str, Any]:
    """Return ``config`` with defaults filled in; raise ConfigError naming every bad key."""
    schema_path = Path(schema_path)
    schema = load_yaml(schema_path)
    registry = Registry(retrieve=lambda uri: Resource.from_contents(load_yaml(schema_path.parent / uri)))
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    problems = [_describe(error) for error in validator.iter_errors(config)]
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(sorted(problems)))
    filled = _fill_defaults(copy.deepcopy(config), schema, schema_path.parent)
    problems = _semantic_problems(filled)
    if problems:
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems))
    return filled


def _key(path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<top level>"


def _describe(error: jsonschema.ValidationError) -> str:
    where = _key(error.absolute_path)
    if error.validator in ("minItems", "minProperties") and len(error.instance) == 0:
        hint = (" (to build only some results, ask for their targets instead, e.g. "
                "`snakemake --cores 2 fig1 fig2`)") if where.split(".")[-1] == "models" else ""
        return f"config key '{where}' is empty; name at least one{hint}"
    if error.validator == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(known))
        prefix = f"{where}." if error.absolute_path else ""
        names = ", ".join(f"'{prefix}{name}'" for name in unknown)
        return f"unknown config key {names} (known here: {', '.join(known)})"
    return f"config key '{where}': {error.message}"


def _resolve(schema: dict[str, Any], directory: Path) -> tuple[dict[str, Any], Path]:
    if "$ref" not in schema:
        return schema, directory
    target = directory / schema["$ref"]
    return load_yaml(target), target.parent


def _fill_defaults(instance: Any, schema: dict[str, Any], directory: Path) -> Any:
    schema, directory = _resolve(schema, directory)
    if not isinstance(instance, dict):
        return instance
    for name, sub in schema.get("properties", {}).items():
        if name not in instance and "default" in sub:
            instance[name] = copy.deepcopy(sub["default"])
        if name in instance:
            instance[name] = _fill_defaults(instance[name], sub, directory)
    return instance


# Data paths (top-level keys): what a real run needs to find under each, and what the folder holds.
DATA_PATHS = {
    "imagenet_path": ((), "the root of your ImageNet copy (train/ and val/ class folders)"),
    "voc_path": (("VOCdevkit/VOC2012/JPEGImages", "VOCdevkit/VOC2012/SegmentationClass",
                  "VOCdevkit/VOC2012/ImageSets/Segmentation/train.txt",
                  "VOCdevkit/VOC2012/ImageSets/Segmentation/val.txt"),
                 "the folder holding VOCdevkit/VOC2012 of Pascal VOC 2012"),
    "coco_path": (("train2017", "val2017", "annotations/instances_train2017.json",
                   "annotations/instances_val2017.json"),
                  "the root of MS COCO 2017 (train2017/, val2017/, annotations/)"),
    "wikitext_path": (("wiki.train.raw", "wiki.valid.raw"), "the folder of WikiText-103's raw files "
                      "(wikitext-103-raw-v1.zip unpacked)"),
}


def check_paths(config: dict[str, Any]) -> None:
    """Raise ConfigError for configured input paths that do not exist or lack their data set's layout.

    Called when a real run starts (not at validation), so a dry run of the paper tier works on a
    machine without its data.
    """
    problems = []
    for key, (expected, what) in DATA_PATHS.items():
        path = config.get(key)
        if path is None:
            continue
        if not Path(path).is_dir():
            problems.append(f"config key '{key}': {path!r} is not a directory; point it at {what} or set it to null")
            continue
        missing = [name for name in expected if not (Path(path) / name).exists()]
        if missing:
            problems.append(f"config key '{key}': {path!r} has no {', '.join(missing)}; point it at {what}")
    if problems:
        raise ConfigError("\n".join(problems))


def _semantic_problems(config: dict[str, Any]) -> list[str]:
    """Checks that span several keys, which JSON Schema cannot express."""
    problems = []
    t_range = config["analytic"]["t_range"]
    if t_range["r_min"] > t_range["r_max"]:
        problems.append(f"config key 'analytic.t_range.r_min': {t_range['r_min']} exceeds "
                        f"analytic.t_range.r_max = {t_range['r_max']}")
    problems += _unknown_zoo_models(config["zoo"]["models"])
    perlayer = config["perlayer"]
    stray = sorted(set(perlayer["mip_bits"]) - set(perlayer["bits"]))
    if stray:
        problems.append(f"config key 'perlayer.mip_bits': {stray} not in perlayer.bits = {perlayer['bits']}")
    problems += _perlayer_format_problems(perlayer)
    trained = {"digits_resnet"} & set(config["finetune"]["models"])  # its fp.pt gives tensors and accuracy
    problems += [f"config key 'allocation.models': {name!r} is not in zoo.models (its zoo CSV gives the "
                 f"tensors and their kurtosis) nor the fine-tuning stage's digits_resnet"
                 for name in config["allocation"]["models"] if name not in config["zoo"]["models"] and name not in trained]
    problems += _finetune_problems(config)
    problems += _ptq_problems(config["ptq"])
    return problems


def _ptq_problems(ptq: dict[str, Any]) -> list[str]:
    """The joint method's kept values need a whole number of bits (pvq.ptq.methods.joint_value_bits)."""
    if "sparsegpt+gptq" not in ptq["methods"]:
        return []
    share = 1 - ptq["joint_sparsity"]
    bad = [b for b in ptq["bits"] if abs(b / share - round(b / share)) > 1e-9 or round(b / share) > 16]
    return [f"config key 'ptq.joint_sparsity': {ptq['joint_sparsity']} gives sparsegpt+gptq "
            f"{', '.join(f'{b / share:g}' for b in bad)}-bit values at ptq.bits {bad}; choose a sparsity for "
            "which b / (1 - sparsity) is a whole number of at most 16 bits (0.5)"] if bad else []


def _perlayer_format_problems(perlayer: dict[str, Any]) -> list[str]:
    """N:M patterns the exact solver takes (1 <= n < m, few choices per group), bits of the study."""
    import math

    from pvq.bounds.prune_nm import MAX_CHOICES

    formats = perlayer["formats"]
    problems = [f"config key 'perlayer.formats.bits': {b} not in perlayer.bits = {perlayer['bits']} (the "
                f"per-tensor box it is paired with comes from there)" for b in formats["bits"] if b not in perlayer["bits"]]
    for text in formats["nm"]:
        n, m = (int(part) for part in text.split(":"))
        if not n < m:
            problems.append(f"config key 'perlayer.formats.nm': {text!r} keeps {n} of {m}; need n < m (e.g. 2:4)")
        elif math.comb(m, n) > MAX_CHOICES:
            problems.append(f"config key 'perlayer.formats.nm': {text!r} has {math.comb(m, n)} choices per group, "
                            f"more than the exact N:M search enumerates ({MAX_CHOICES}); use a small m (2:4, 4:8)")
    return problems


# task -> its headline metric
FINETUNE_TASKS = {"digits": "acc", "photos": "agree", "imagenet": "acc", "voc": "miou", "coco": "map",
                  "wikitext": "ppl"}
# Models that exist for one task only, and the top-level data path each paper-tier task reads.
MODEL_TASKS = {"digits_resnet": "digits", "deeplabv3": "voc", "efficientdet": "coco", "opt_350m": "wikitext"}
TASK_PATHS = {"imagenet": "imagenet_path", "voc": "voc_path", "coco": "coco_path", "wikitext": "wikitext_path"}


def finetune_bits(finetune: dict[str, Any], model: str) -> list[int]:
    """A fine-tuned model's bit widths: its own list, else finetune.bits."""
    return finetune["models"][model].get("bits", finetune["bits"])


def _finetune_problems(config: dict[str, Any]) -> list[str]:
    """Tasks that fit their models, figures drawing models and bits that run, disjoint photo scenes."""
    from pvq.models.photos import SCENES

    finetune, problems = config["finetune"], []
    for name, hp in finetune["models"].items():
        where = f"config key 'finetune.models.{name}"
        own = MODEL_TASKS.get(name)
        if own is not None and hp["task"] != own:
            problems.append(f"{where}.task': {hp['task']!r}; {name} has task {own!r}")
        elif own is None and hp["task"] in MODEL_TASKS.values():
            owner = next(model for model, task in MODEL_TASKS.items() if task == hp["task"])
            problems.append(f"{where}.task': {hp['task']!r}; only {owner} has task {hp['task']!r}")
        if hp["metric"] != FINETUNE_TASKS[hp["task"]]:
            problems.append(f"{where}.metric': task {hp['task']!r} reports {FINETUNE_TASKS[hp['task']]!r}, "
                            f"not {hp['metric']!r}")
    for key in ("sensitivity", "representations"):
        for name in finetune[key]["models"]:
            if name not in finetune["models"]:
                problems.append(f"config key 'finetune.{key}.models': {name!r} is not in finetune.models")
            elif key == "representations" and finetune[key]["bits"] not in finetune_bits(finetune, name):
                problems.append(f"config key 'finetune.representations.bits': {finetune[key]['bits']} is not "
                                f"among {name}'s bits {finetune_bits(finetune, name)}")
    seen: dict[str, str] = {}
    for group in ("train_scenes", "val_scenes", "test_scenes"):
        for scene in finetune["photos"][group]:
            if scene not in SCENES:
                problems.append(f"config key 'finetune.photos.{group}': unknown scene {scene!r} "
                                f"(known: {', '.join(sorted(SCENES))})")
            elif scene in seen:
                problems.append(f"config key 'finetune.photos.{group}': scene {scene!r} is also in "
                                f"finetune.photos.{seen[scene]}; held-out scenes must never be trained on")
            seen.setdefault(scene, group)
    for task, key in TASK_PATHS.items():
        models = sorted(name for name, hp in finetune["models"].items() if hp["task"] == task)
        if models and config[key] is None:
            problems.append(f"config key '{key}': finetune.models {models} need it (task {task}); set {key}")
    return problems


def _unknown_zoo_models(models: list[str]) -> list[str]:
    from pvq.models.registry import available_models, unknown_models

    unknown = unknown_models(models)
    if not unknown:
        return []
    return [f"config key 'zoo.models': unknown model {name!r}; available: {', '.join(available_models())}"
            for name in unknown]
