"""The settings of one fine-tuning job: the part of the validated config that job reads, nothing more.

A rule passes ``JobSettings.to_json()`` as its ``--settings`` param, so Snakemake reruns a job only
when a key it reads changes: a model's hyper-parameters reach that model's runs, ``scale_lr`` the
quantization runs, ``ramp_fraction`` the pruning runs, a task's data section the models of that task.
``values`` keeps the ``finetune`` section's own layout (plus the top-level ``seed``, ``baseline_bits``
and its task's data path, e.g. ``imagenet_path``), which is what pvq.finetune.experiment reads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pvq.config import DATA_PATHS

STEPS = ("baseline", "run", "sensitivity", "table")
METHODS = ("quant", "prune")
# The config sections (of finetune, or top-level) a task's data comes from. A task not listed here
# gets the whole finetune section and every data path: an unneeded rerun at worst, never a missing key.
TASK_DATA = {"digits": ("digits",), "photos": ("photos",), "imagenet": ("imagenet", "imagenet_path"),
             "voc": ("voc", "voc_path"), "coco": ("coco", "coco_path"), "wikitext": ("wikitext", "wikitext_path")}
# What the strategies read: LSQ's scale optimiser, GMP's schedule (pvq.finetune.experiment.make_strategy).
METHOD_KEYS = {"quant": ("scale_lr",), "prune": ("ramp_fraction", "mask_update_steps")}
RUN_KEYS = ("baseline_bits", "first_last")


class SettingsError(ValueError):
    """A job was handed settings built for another job."""


@dataclass(frozen=True)
class JobSettings:
    """One job's settings: which job (step, model, method, long) and the values it reads, as canonical
    JSON (sorted keys), so two equal settings are equal strings and a value cannot be changed."""

    step: str
    model: str | None
    method: str | None
    long: bool
    values_json: str

    @property
    def values(self) -> dict[str, Any]:
        """A fresh copy of the values, in the finetune section's layout."""
        return json.loads(self.values_json)

    def to_json(self) -> str:
        return json.dumps({"step": self.step, "model": self.model, "method": self.method, "long": self.long,
                           "values": self.values}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> JobSettings:
        data = json.loads(text)
        if not isinstance(data, dict) or set(data) != {"step", "model", "method", "long", "values"}:
            raise SettingsError("--settings must be the JSON of pvq.finetune.settings.JobSettings "
                                "(keys step, model, method, long, values), as the finetune rules pass it")
        return cls(data["step"], data["model"], data["method"], bool(data["long"]),
                   json.dumps(data["values"], sort_keys=True))

    def check(self, step: str, model: str | None = None, method: str | None = None, long: bool = False) -> None:
        """Stop a job run with another job's settings (the rule and the command must agree)."""
        mine, asked = (self.step, self.model, self.method, self.long), (step, model, method, long)
        if mine != asked:
            raise SettingsError(f"these settings were built for (step, model, method, long) = {mine}, "
                                f"not {asked}: pass job_settings(config, {step!r}, {model!r}, {method!r}, "
                                f"long={long}) from the rule")


def _task_sections(task: str, section: dict) -> tuple[str, ...]:
    return TASK_DATA.get(task, tuple(key for key in section if key != "models") + tuple(DATA_PATHS))


def job_settings(config: dict, step: str, model: str | None = None, method: str | None = None,
                 long: bool = False) -> JobSettings:
    """The settings job (``step``, ``model``, ``method``, ``long``) reads from the validated ``config``
    (schema defaults filled in): ``baseline`` and ``sensitivity`` need the model's task and data,
    ``run`` adds the model's hyper-parameters (its ``lr_grid`` resolved into ``lr_grid``, its ``bits`` list left out:
    that list says which jobs exist, not how one runs) and the method's strategy settings,
    ``table`` the rows not run and the bit widths."""
    if step not in STEPS:
        raise SettingsError(f"step must be one of {STEPS}, got {step!r}")
    section = config["finetune"]
    top = {"seed": config["seed"], "baseline_bits": config["baseline_bits"],
           **{key: config[key] for key in DATA_PATHS}}
    if step == "table":
        if model is not None or method is not None or long:
            raise SettingsError("the table step is one job over every run: no model, method or long")
        values = {"not_supported": section["not_supported"], "bits": section["bits"]}
        return JobSettings(step, None, None, False, json.dumps(values, sort_keys=True))
    if model not in section["models"]:
        raise SettingsError(f"model {model!r} is not in finetune.models ({', '.join(section['models'])})")
    if (method is not None or long) != (step == "run") or (step == "run" and method not in METHODS):
        raise SettingsError(f"step {step!r}: a method (one of {METHODS}) and long go with the run step only")
    hyper = dict(section["models"][model])
    task = hyper["task"]
    values = {"seed": top["seed"], "threads": section["threads"]}
    values.update({key: top[key] if key in top else section[key] for key in _task_sections(task, section)
                   if key in top or key in section})
    if step == "run":
        hyper.pop("bits", None)
        values["lr_grid"] = hyper.pop("lr_grid", section["lr_grid"])  # the model's own grid, or the shared one
        values.update({key: top[key] if key in top else section[key] for key in RUN_KEYS})
        values.update({key: section[key] for key in METHOD_KEYS[method]})
        if long:
            values["long_factor"] = section["long_factor"]
        values["models"] = {model: hyper}
    else:
        values["models"] = {model: {"task": task}}
        if step == "sensitivity":
            values["baseline_bits"] = top["baseline_bits"]
            values["sensitivity"] = {"bits": section["sensitivity"]["bits"]}
    return JobSettings(step, model, method, long, json.dumps(values, sort_keys=True))
