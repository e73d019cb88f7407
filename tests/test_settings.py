"""Stage settings: a default lives in the config schema only (workflow/schemas/), never again in a
settings dataclass, an argparse option or a rule; a job's command carries what the schema says."""

from __future__ import annotations

import argparse
import re
import shlex
from dataclasses import MISSING, fields

import pytest
import yaml

from conftest import PAPER, REPO, SMOKE, snakemake
from pvq.allocation import cli as allocation_cli
from pvq.allocation.options import Storage
from pvq.analytic import cli as analytic_cli
from pvq.formats import cli as formats_cli
from pvq.perlayer import cli as perlayer_cli
from pvq.perlayer.solve import Limits, OneShot
from pvq.ptq import cli as ptq_cli
from pvq.ptq.methods import Settings as PtqSettings
from pvq.report import cli as report_cli
from pvq.zoo import cli as zoo_cli

PERLAYER_SCHEMA = yaml.safe_load((REPO / "workflow" / "schemas" / "perlayer.schema.yaml").read_text())


def schema_default(schema: dict, *keys: str):
    for key in keys:
        schema = schema["properties"][key]
    return schema["default"]


def subcommand(add_arguments, name: str | None) -> argparse.ArgumentParser:
    """The parser of subcommand ``name`` (None: a command without subcommands, such as ``ptq``)."""
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    if name is None:
        return parser
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return subparsers.choices[name]


def options_with_a_default(parser: argparse.ArgumentParser) -> list[str]:
    """Options a caller may leave out and still get a value: a default that is not "absent" (None)."""
    return [action.option_strings[0] for action in parser._actions
            if action.option_strings and action.dest != "help" and not action.required
            and action.default is not None]


@pytest.mark.parametrize("settings", [Limits, OneShot, Storage, PtqSettings])
def test_stage_settings_have_no_defaults_of_their_own(settings):
    assert [f.name for f in fields(settings) if f.default is not MISSING or f.default_factory is not MISSING] == []


# The commands whose every value comes from their rule (None: a command without subcommands).
COMMANDS = [(perlayer_cli, "collect"), (perlayer_cli, "solve"), (perlayer_cli, "formats"),
            (analytic_cli, "normal"), (analytic_cli, "student-t"), (formats_cli, "sweep"), (formats_cli, "analytic"),
            (zoo_cli, "sweep"), (allocation_cli, "allocate"), (allocation_cli, "allocate-formats"), (ptq_cli, None),
            (report_cli, "compare")]


@pytest.mark.parametrize("cli, step", COMMANDS, ids=[f"{c.__name__.split('.')[1]}-{s}" for c, s in COMMANDS])
def test_commands_take_every_value_from_the_rule(cli, step):
    assert options_with_a_default(subcommand(cli.add_arguments, step)) == []


@pytest.mark.parametrize("step", ["allocate", "allocate-formats"])
def test_a_trained_models_allocation_needs_the_runs_seed(tmp_path, step):
    """--seed fixes the digits test split of a --weights run: left out, the command stops before any work."""
    from pvq.__main__ import main

    weights = tmp_path / "fp.pt"
    weights.write_bytes(b"never read")
    specific = (["--bits", "4", "--sparsities", "0.5", "--baseline-bits", "16", "--mask-encoding", "bitmap",
                 "--index-bits", "4", "--candidates", "100", "--zoo-all", str(tmp_path / "zoo.csv")]
                if step == "allocate" else ["--spec", "int4/per-tensor/mse"])
    with pytest.raises(SystemExit, match="--weights needs --seed"):
        main(["allocation", step, "--model", "digits_resnet", "--weights", str(weights), *specific, "--budgets", "4",
              "--scale-bits", "16", "--objective", "nsr", "--solver", "cbc", "--time-limit-s", "1", "--workers", "1",
              "--out", str(tmp_path / "a.csv"), "--out-choices", str(tmp_path / "c.csv")])
    assert not (tmp_path / "a.csv").exists()


def test_the_checker_sees_a_default():
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=float, default=60.0, help="x")
    parser.add_argument("--path", default=None, help="absent unless given")
    parser.add_argument("--bits", type=int, required=True, help="x")
    assert options_with_a_default(parser) == ["--limit"]


def test_limits_from_config_take_the_validated_section():
    from pvq.config import load_config

    section = load_config(REPO / "config.yaml", SMOKE)["perlayer"]
    limits = Limits.from_config(section)
    assert (limits.prune_exact, limits.quant_exact, limits.mip) == (
        schema_default(PERLAYER_SCHEMA, "time_limits", "prune_exact"),
        schema_default(PERLAYER_SCHEMA, "time_limits", "quant_exact"),
        schema_default(PERLAYER_SCHEMA, "time_limits", "mip"))
    assert limits.mip_bits == (2, 4, 8) and limits.heuristic_samples == 16  # smoke.yaml's values


def flag_values(command: str, flag: str) -> list[str]:
    words = shlex.split(command)
    return [words[i + 1] for i, word in enumerate(words[:-1]) if word == flag]


@pytest.mark.pipeline
def test_a_config_without_time_limits_runs_the_schema_defaults(tmp_path):
    """An overlay that empties perlayer.time_limits and perlayer.oneshot: every solver job's command
    carries the schema's defaults (a default restated in a rule or the CLI would show here)."""
    overlay = tmp_path / "no_limits.yaml"
    overlay.write_text("perlayer:\n  time_limits: {}\n  oneshot: {}\n")
    result = snakemake("table3", "fig13", "-n", "-p", "--cores", "1", "--configfile", str(SMOKE), str(overlay),
                       workdir=tmp_path)
    commands = [line for line in result.stdout.splitlines() if "python -m pvq perlayer" in line]
    solve = [c for c in commands if re.search(r"perlayer solve ", c)]
    formats = [c for c in commands if re.search(r"perlayer formats ", c)]
    assert solve and formats, result.stdout[-3000:]
    times = {"--prune-time-limit": ("time_limits", "prune_exact"),
             "--quant-time-limit": ("time_limits", "quant_exact")}
    solver = {**times, "--mip-time-limit": ("time_limits", "mip"), "--damp": ("oneshot", "damp"),
              "--order": ("oneshot", "order")}
    for command, flags in [(c, solver) for c in solve] + [(c, times) for c in formats]:
        for flag, keys in flags.items():
            default = schema_default(PERLAYER_SCHEMA, *keys)
            values = flag_values(command, flag)
            assert len(values) == 1, (flag, command)
            assert (values[0] if isinstance(default, str) else float(values[0])) == default, (flag, command)



def printed_commands(stdout: str, command: str) -> list[str]:
    return [line[line.index(command):] for line in stdout.splitlines() if command + " " in line]


@pytest.mark.pipeline
def test_converted_commands_carry_the_configs_values(tmp_path):
    """A dry run with values unlike the schema's defaults in every key the zoo sweep, the allocation,
    PTQ and the comparisons read: each job's command carries the config's value (a value restated in
    a rule shows here; one restated in the CLI fails test_commands_take_every_value_from_the_rule)."""
    from pvq.config import load_config

    overlay = tmp_path / "unusual.yaml"
    overlay.write_text("seed: 3\nzoo: {scale_candidates: 37}\n"
                       "allocation: {models: [efficientnet_lite0, digits_resnet], scale_bits: 9, index_bits: 5,"
                       " mask_encoding: relative_index, objective: nsr, solver: highs, time_limit_s: 7.5}\n")
    config = load_config(REPO / "config.yaml", SMOKE, overlay)
    stdout = snakemake("fig10", "fig15", "fig14", "compare", "-n", "-p", "--cores", "2", "--configfile", str(SMOKE),
                       str(overlay), workdir=tmp_path).stdout
    allocation, zoo = config["allocation"], config["zoo"]
    solver = {"--scale-bits": allocation["scale_bits"], "--objective": allocation["objective"],
              "--solver": allocation["solver"], "--time-limit-s": allocation["time_limit_s"]}
    expected = {
        "python -m pvq zoo sweep": {"--baseline-bits": config["baseline_bits"], "--candidates": zoo["scale_candidates"],
                                    "--max-tensors": zoo["max_tensors"], "--bits": zoo["bits"][0]},
        "python -m pvq allocation allocate": {
            **solver, "--baseline-bits": config["baseline_bits"], "--candidates": zoo["scale_candidates"],
            "--mask-encoding": allocation["mask_encoding"], "--index-bits": allocation["index_bits"]},
        "python -m pvq allocation allocate-formats": solver,
        "python -m pvq ptq": {"--threads": config["ptq"]["threads"]},
        "python -m pvq report compare": {"--seed": config["seed"]},
    }
    for command, flags in expected.items():
        lines = printed_commands(stdout, command)
        assert lines, (command, stdout[-3000:])
        for line in lines:
            for flag, value in flags.items():
                assert [type(value)(v) for v in flag_values(line, flag)] == [value], (flag, line)
            if "--weights" in line:  # the trained digits model: its test split is the run's seed
                assert flag_values(line, "--seed") == [str(config["seed"])], line
    trained = [line for line in printed_commands(stdout, "python -m pvq allocation") if "--weights" in line]
    assert len(trained) == 2, stdout[-3000:]  # allocate and allocate-formats of digits_resnet


# Fine-tuning: each job's --settings holds only what that job reads (pvq.finetune.settings).

def finetune_jobs(config: dict) -> dict[tuple, str]:
    """Every fine-tuning job the rules make for ``config``, keyed (step, model, method, long), with the
    --settings its rule passes."""
    from pvq.finetune.settings import job_settings

    section = config["finetune"]
    jobs = {("table", None, None, False): job_settings(config, "table").to_json()}
    for model in section["models"]:
        jobs[("baseline", model, None, False)] = job_settings(config, "baseline", model).to_json()
        for method in ("quant", "prune"):
            for long in (False, True):
                jobs[("run", model, method, long)] = job_settings(config, "run", model, method, long=long).to_json()
    for model in section["sensitivity"]["models"]:
        jobs[("sensitivity", model, None, False)] = job_settings(config, "sensitivity", model).to_json()
    return jobs


def changed_jobs(edit) -> set[tuple]:
    """The jobs whose --settings differ after ``edit`` (a function of the raw config) is applied."""
    import copy

    from pvq.config import load_config, validate

    base = load_config(REPO / "config.yaml", SMOKE)
    edited = copy.deepcopy(base)
    edit(edited)
    before, after = finetune_jobs(base), finetune_jobs(validate(edited))
    assert before.keys() == after.keys()
    return {job for job in before if before[job] != after[job]}


def runs(model: str, methods=("quant", "prune"), longs=(False, True)) -> set[tuple]:
    return {("run", model, method, long) for method in methods for long in longs}


def test_one_models_learning_rate_changes_only_that_models_runs():
    def edit(config):
        config["finetune"]["models"]["digits_resnet"]["lr"] *= 2

    assert changed_jobs(edit) == runs("digits_resnet")


def test_a_strategy_setting_changes_only_its_methods_runs():
    def scale_lr(config):
        config["finetune"]["scale_lr"] *= 2

    def ramp(config):
        config["finetune"]["ramp_fraction"] = 0.5

    assert changed_jobs(scale_lr) == runs("digits_resnet", ["quant"]) | runs("efficientnet_lite0", ["quant"])
    assert changed_jobs(ramp) == runs("digits_resnet", ["prune"]) | runs("efficientnet_lite0", ["prune"])


def test_a_tasks_data_changes_only_the_models_of_that_task():
    def photos(config):
        config["finetune"]["photos"]["resolution"] = 80

    def digits_width(config):
        config["finetune"]["digits"]["width"] = 16

    lite0 = {("baseline", "efficientnet_lite0", None, False), ("sensitivity", "efficientnet_lite0", None, False)}
    digits = {("baseline", "digits_resnet", None, False), ("sensitivity", "digits_resnet", None, False)}
    assert changed_jobs(photos) == lite0 | runs("efficientnet_lite0")
    assert changed_jobs(digits_width) == digits | runs("digits_resnet")


def test_keys_that_choose_jobs_or_drawings_change_no_jobs_settings():
    def bits(config):
        config["finetune"]["models"]["efficientnet_lite0"]["bits"] = [2, 4]

    def drawn(config):
        config["finetune"]["representations"]["models"] = ["digits_resnet"]

    def imagenet(config):
        config["imagenet_path"] = "/data/imagenet"  # only ImageNet-task models read it

    def long_factor(config):
        config["finetune"]["long_factor"] = 3

    def sensitivity_bits(config):
        config["finetune"]["sensitivity"]["bits"] = [3, 4]

    def not_supported(config):
        config["finetune"]["not_supported"] = {"DeepLab-V3": {"metric": "mIoU", "reason": "no VOC"}}

    assert changed_jobs(bits) == set()
    assert changed_jobs(drawn) == set()
    assert changed_jobs(imagenet) == set()
    assert changed_jobs(long_factor) == runs("digits_resnet", longs=[True]) | runs("efficientnet_lite0", longs=[True])
    assert changed_jobs(sensitivity_bits) == {("sensitivity", "digits_resnet", None, False),
                                              ("sensitivity", "efficientnet_lite0", None, False)}
    assert changed_jobs(not_supported) == {("table", None, None, False)}


def test_run_settings_hold_what_the_run_reads():
    from pvq.config import load_config
    from pvq.finetune.settings import job_settings

    config = load_config(REPO / "config.yaml", SMOKE)
    quant = job_settings(config, "run", "efficientnet_lite0", "quant").values
    hyper = config["finetune"]["models"]["efficientnet_lite0"]
    assert quant["models"] == {"efficientnet_lite0": {k: v for k, v in hyper.items() if k not in ("bits", "lr_grid")}}
    assert quant["lr_grid"] == hyper["lr_grid"]  # the model's own grid
    assert quant["photos"] == config["finetune"]["photos"] and "digits" not in quant and "imagenet" not in quant
    assert quant["scale_lr"] == config["finetune"]["scale_lr"] and "ramp_fraction" not in quant
    assert (quant["seed"], quant["baseline_bits"], quant["first_last"]) == (
        config["seed"], config["baseline_bits"], config["finetune"]["first_last"])
    digits = job_settings(config, "run", "digits_resnet", "prune", long=True).values
    assert digits["lr_grid"] == config["finetune"]["lr_grid"]  # no grid of its own: the shared one
    assert digits["long_factor"] == config["finetune"]["long_factor"] and "scale_lr" not in digits


def test_an_imagenet_models_settings_carry_the_imagenet_path():
    from pvq.config import load_config
    from pvq.finetune.settings import job_settings

    config = load_config(REPO / "config.yaml", PAPER)
    model = next(m for m, hp in config["finetune"]["models"].items() if hp["task"] == "imagenet")
    values = job_settings(config, "baseline", model).values
    assert values["imagenet_path"] == config["imagenet_path"] and values["imagenet"] == config["finetune"]["imagenet"]
    assert "photos" not in values and "digits" not in values


def test_a_task_without_a_data_entry_gets_the_whole_section():
    """A new task (say one with its own finetune.<task> section) runs with every key until TASK_DATA
    names its sections: reruns too many jobs, never misses a key."""
    import copy

    from pvq.config import load_config
    from pvq.finetune.settings import TASK_DATA, job_settings

    config = copy.deepcopy(load_config(REPO / "config.yaml", SMOKE))
    config["finetune"]["models"]["efficientnet_lite0"]["task"] = "pose"
    config["finetune"]["pose"] = {"crop": 513}
    assert "pose" not in TASK_DATA
    values = job_settings(config, "run", "efficientnet_lite0", "quant").values
    assert values["pose"] == {"crop": 513} and values["photos"] == config["finetune"]["photos"]
    assert {"imagenet_path", "voc_path", "coco_path", "wikitext_path"} <= values.keys()
    assert values["models"].keys() == {"efficientnet_lite0"}


def test_each_paper_task_gets_its_own_data_path_and_section():
    """DeepLab-V3, EfficientDet and OPT jobs read finetune.voc/coco/wikitext and voc/coco/wikitext_path:
    they get those, and no other task's."""
    from pvq.config import load_config
    from pvq.finetune.settings import job_settings

    config = load_config(REPO / "config.yaml", PAPER)
    for model, task in (("deeplabv3", "voc"), ("efficientdet", "coco"), ("opt_350m", "wikitext")):
        assert config["finetune"]["models"][model]["task"] == task
        for step in ("baseline", "run"):
            values = job_settings(config, step, model, "prune" if step == "run" else None).values
            assert values[task] == config["finetune"][task] and values[f"{task}_path"] == config[f"{task}_path"]
            others = {"voc", "coco", "wikitext", "imagenet", "photos", "digits"} - {task}
            assert not others & values.keys() and "imagenet_path" not in values


def test_a_job_refuses_another_jobs_settings(tmp_path):
    from pvq.__main__ import main
    from pvq.config import load_config
    from pvq.finetune.settings import JobSettings, SettingsError, job_settings

    config = load_config(REPO / "config.yaml", SMOKE)
    baseline = job_settings(config, "baseline", "digits_resnet").to_json()
    with pytest.raises(SettingsError, match=r"built for \(step, model, method, long\) = \('baseline'"):
        main(["finetune", "table", "--input", str(tmp_path / "x.json"), "--settings", baseline,
              "--caption", "c", "--out", str(tmp_path / "t.csv")])
    with pytest.raises(SettingsError, match="JobSettings"):
        JobSettings.from_json('{"seed": 0}')  # the old whole-section JSON
    with pytest.raises(SettingsError, match="not in finetune.models"):
        job_settings(config, "run", "resnet9000", "quant")
    with pytest.raises(SettingsError, match="run step only"):
        job_settings(config, "baseline", "digits_resnet", "quant")
    assert JobSettings.from_json(baseline).to_json() == baseline


def finetune_commands(stdout: str) -> dict[tuple, str]:
    """(step, model, method, long) -> --settings of every `python -m pvq finetune` command printed."""
    commands = {}
    for line in stdout.splitlines():
        if "python -m pvq finetune " not in line:
            continue
        words = shlex.split(line[line.index("python -m pvq finetune "):])
        value = {flag: words[i + 1] for i, flag in enumerate(words[:-1]) if flag.startswith("--")}
        key = (words[4], value.get("--model"), value.get("--method"), "--long" in words)
        commands[key] = value["--settings"]
    return commands


@pytest.mark.pipeline
def test_snakemake_passes_a_changed_models_key_only_to_its_jobs(tmp_path):
    """Two dry runs, the second with digits_resnet's epochs changed: the printed commands' --settings
    differ for digits_resnet's runs only."""
    overlay = tmp_path / "epochs.yaml"
    overlay.write_text("finetune:\n  models:\n    digits_resnet: {epochs: 3}\n")
    targets = ["table1", "table5", "fig6"]
    before = finetune_commands(snakemake(*targets, "-n", "-p", "--cores", "1", "--configfile", str(SMOKE),
                                         workdir=tmp_path / "a").stdout)
    after = finetune_commands(snakemake(*targets, "-n", "-p", "--cores", "1", "--configfile", str(SMOKE),
                                        str(overlay), workdir=tmp_path / "b").stdout)
    assert before.keys() == after.keys() and len(before) > 6
    assert {job for job in before if before[job] != after[job]} == {
        ("run", "digits_resnet", method, long) for method in ("quant", "prune") for long in (False, True)}


@pytest.mark.parametrize("model", ["digits_resnet", "efficientnet_lite0"])
@pytest.mark.parametrize("method", ["quant", "prune"])
def test_a_runs_settings_answer_what_the_experiment_asks(model, method):
    """The run's own cut of the config gives the experiment the same schedule, grid, seeds and strategy
    as the whole section does (a key missing from the cut would raise here)."""
    from pvq.config import load_config
    from pvq.finetune import experiment
    from pvq.finetune.settings import job_settings

    config = load_config(REPO / "config.yaml", SMOKE)
    whole = {**config["finetune"], "seed": config["seed"], "baseline_bits": config["baseline_bits"],
             "imagenet_path": config["imagenet_path"]}
    mine = job_settings(config, "run", model, method, long=True).values
    for settings in (whole, mine):
        assert experiment.task_kind(model, settings) == config["finetune"]["models"][model]["task"]
    assert experiment.lr_grid_of(model, mine) == experiment.lr_grid_of(model, whole)
    assert experiment.run_seeds(model, mine) == experiment.run_seeds(model, whole)
    assert experiment.schedule_of(model, mine, mine["long_factor"]) == experiment.schedule_of(
        model, whole, whole["long_factor"])
    assert vars(experiment.make_strategy(method, 4, mine)) == vars(experiment.make_strategy(method, 4, whole))
