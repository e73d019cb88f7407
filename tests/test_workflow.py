"""The workflow as a whole: lint, dry runs of every tier, config errors before any job, targets."""

from __future__ import annotations

import re

import pytest

from conftest import PAPER, REPO, SMOKE, snakemake


def test_lint_is_clean():
    result = snakemake("--lint", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "good condition" in result.stdout + result.stderr


@pytest.mark.parametrize("overlay", [None, SMOKE, PAPER], ids=["default", "smoke", "paper"])
def test_dry_run(tmp_path, overlay):
    args = ["-n", "--cores", "2"] + (["--configfile", str(overlay)] if overlay else [])
    snakemake(*args, workdir=tmp_path)


@pytest.mark.parametrize("overlay, key", [
    ("analytic:\n  bits: [1, 40]\n", "analytic.bits[0]"),
    ("analytic:\n  bits: [1, 40]\n", "analytic.bits[1]"),
    ("analytc:\n  bits: [2]\n", "'analytc'"),
    ("analytic:\n  profile:\n    sparsity: 1.0\n", "analytic.profile.sparsity"),
    ("analytic:\n  t_range:\n    r_min: -1\n", "analytic.t_range.r_min"),
    ("analytic:\n  t_range:\n    num: 0\n", "analytic.t_range.num"),
])
def test_bad_config_fails_before_any_job_naming_the_key(tmp_path, overlay, key):
    bad = tmp_path / "bad.yaml"
    bad.write_text("run_name: bad\n" + overlay)
    result = snakemake("--cores", "2", "--configfile", str(bad), workdir=tmp_path, check=False)
    assert result.returncode != 0
    assert key in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


def test_named_target_builds_only_what_it_needs(tmp_path):
    snakemake("fig2", "--cores", "2", "--configfile", str(SMOKE), workdir=tmp_path)
    run = tmp_path / "results" / "smoke"
    assert (run / "figures" / "fig2_student_t.pdf").exists()
    assert not (run / "analytic" / "normal.csv").exists()
    assert not (run / "figures" / "fig1_normal.pdf").exists()
    again = snakemake("fig2", "-n", "--cores", "2", "--configfile", str(SMOKE), workdir=tmp_path)
    assert "Nothing to be done" in again.stdout + again.stderr


def test_snakefile_targets_are_documented_in_readme():
    readme = (REPO / "README.md").read_text()
    targets = re.findall(r"^rule (\w+):\n    input:\n        TARGETS\[", (REPO / "Snakefile").read_text(), re.M)
    assert len(targets) >= 16
    for target in targets:
        assert f"| `{target}` |" in readme, target


def readme_snakemake_commands() -> list[str]:
    """Every ``snakemake ...`` the README tells a reader to type, in code spans and code blocks."""
    text = (REPO / "README.md").read_text()
    commands = re.findall(r"`(snakemake [^`]*)`", text)
    commands += [line.split("#")[0].strip() for line in text.splitlines() if line.startswith("snakemake ")]
    return [c for c in commands if "<" not in c and "..." not in c]  # <rule>, ...: placeholders


def test_readme_commands_parse_as_the_reader_means_them():
    """``--configfile`` takes several files, so a target written after it is read as a config file."""
    from snakemake.cli import get_argument_parser

    rules = set(re.findall(r"^rule (\w+):", (REPO / "Snakefile").read_text(), re.M))
    commands = readme_snakemake_commands()
    assert len(commands) >= 10
    for command in commands:
        args = get_argument_parser().parse_args(command.split()[1:])
        for configfile in args.configfile or []:
            assert (REPO / configfile).is_file(), (command, str(configfile))
        for target in args.targets:
            assert target in rules or target.startswith("results/"), (command, target)


def test_the_readme_checker_sees_a_target_swallowed_by_configfile():
    from snakemake.cli import get_argument_parser

    args = get_argument_parser().parse_args("--cores 2 --configfile configs/cpu-long.yaml table1".split())
    assert [str(f) for f in args.configfile] == ["configs/cpu-long.yaml", "table1"] and not args.targets


def test_missing_imagenet_path_stops_a_real_run_before_any_job_but_not_a_dry_run(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"run_name: bad\nimagenet_path: {tmp_path / 'no-imagenet-here'}\n")
    snakemake("-n", "--cores", "2", "--configfile", str(bad), workdir=tmp_path)
    result = snakemake("--cores", "2", "--configfile", str(bad), workdir=tmp_path, check=False)
    assert result.returncode != 0
    assert "config key 'imagenet_path'" in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


def test_missing_task_data_paths_stop_a_real_run_before_any_job_but_not_a_dry_run(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"run_name: bad\nvoc_path: {tmp_path / 'no-voc'}\ncoco_path: {tmp_path}\n"
                   f"wikitext_path: {tmp_path / 'no-wikitext'}\n")
    snakemake("-n", "--cores", "2", "--configfile", str(bad), workdir=tmp_path)
    result = snakemake("--cores", "2", "--configfile", str(bad), workdir=tmp_path, check=False)
    assert result.returncode != 0
    shown = result.stdout + result.stderr
    assert "config key 'voc_path'" in shown and "config key 'wikitext_path'" in shown
    assert "config key 'coco_path'" in shown and "has no train2017" in shown  # a folder without COCO's layout
    assert not (tmp_path / "results").exists()


def test_the_slurm_profile_gives_each_fine_tuning_job_its_models_limit(tmp_path):
    """The profile's per-model runtime expressions evaluate per job (a dry run prints the resources)."""
    result = snakemake("table1", "-n", "--cores", "2", "--configfile", str(PAPER), "--workflow-profile",
                       str(REPO / "workflow" / "profiles" / "slurm"), "--executor", "local", workdir=tmp_path)
    shown = result.stdout + result.stderr
    runtimes = {}
    for block in shown.split("\n\n"):
        output = re.search(r"output: \S*finetune/(\w+)/quant-b4\.json", block)
        runtime = re.search(r"runtime=(\d+)", block)
        if output and runtime:
            runtimes[output.group(1)] = int(runtime.group(1))
    assert runtimes["opt_350m"] == runtimes["efficientdet"] == 5760
    assert runtimes["deeplabv3"] == runtimes["resnet18"] == 2880
