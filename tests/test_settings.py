"""Stage settings: a default lives in the config schema only (workflow/schemas/), never again in a
settings dataclass, an argparse option or a rule; a job's command carries what the schema says."""

from __future__ import annotations

import argparse
import re
import shlex
from dataclasses import MISSING, fields

import pytest
import yaml

from conftest import REPO, SMOKE, snakemake
from pvq.perlayer import cli as perlayer_cli
from pvq.perlayer.solve import Limits, OneShot

PERLAYER_SCHEMA = yaml.safe_load((REPO / "workflow" / "schemas" / "perlayer.schema.yaml").read_text())


def schema_default(schema: dict, *keys: str):
    for key in keys:
        schema = schema["properties"][key]
    return schema["default"]


def subcommand(add_arguments, name: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return subparsers.choices[name]


def options_with_a_default(parser: argparse.ArgumentParser) -> list[str]:
    """Options a caller may leave out and still get a value: a default that is not "absent" (None)."""
    return [action.option_strings[0] for action in parser._actions
            if action.option_strings and action.dest != "help" and not action.required
            and action.default is not None]


@pytest.mark.parametrize("settings", [Limits, OneShot])
def test_perlayer_settings_have_no_defaults_of_their_own(settings):
    assert [f.name for f in fields(settings) if f.default is not MISSING or f.default_factory is not MISSING] == []


@pytest.mark.parametrize("step", ["collect", "solve", "formats"])
def test_perlayer_commands_take_every_value_from_the_rule(step):
    assert options_with_a_default(subcommand(perlayer_cli.add_arguments, step)) == []


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
    result = snakemake("-n", "-p", "--cores", "1", "--configfile", str(SMOKE), str(overlay), "table3", "fig13",
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
