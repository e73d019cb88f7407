"""What users meet first: `python -m pvq --help`, every option's help text, and bad counts rejected."""

from __future__ import annotations

import argparse
import subprocess
import sys

import numpy as np
import pytest

from pvq import bounds
from pvq.__main__ import COMMANDS, command_parser


def undocumented(parser: argparse.ArgumentParser, prefix: str) -> list[str]:
    """Every argument (positional, option, subcommand) of ``parser`` and its subparsers without a help text."""
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        name = "/".join(action.option_strings) or action.dest
        if not (action.help or "").strip():
            missing.append(f"{prefix} {name}")
        if isinstance(action, argparse._SubParsersAction):
            documented = {choice.dest for choice in action._choices_actions if (choice.help or "").strip()}
            for command, sub in action.choices.items():
                if command not in documented:
                    missing.append(f"{prefix} {command} (subcommand)")
                missing += undocumented(sub, f"{prefix} {command}")
    return missing


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_option_of_every_command_has_a_help_text(command):
    parser, _ = command_parser(command)
    assert undocumented(parser, command) == []


def test_the_checker_finds_an_undocumented_option():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="step", help="the step")
    sub.add_parser("a", help="documented").add_argument("--x", help="documented")
    sub.add_parser("b").add_argument("--y")
    assert undocumented(parser, "p") == ["p b (subcommand)", "p b --y"]


def test_top_level_help_lists_every_command_with_its_summary():
    result = subprocess.run([sys.executable, "-m", "pvq", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for command in COMMANDS:
        assert f"\n  {command} " in result.stdout, command
    assert "Model-zoo sweep" in result.stdout and "--help` lists a command's options" in result.stdout


def test_unknown_command_is_a_usage_error():
    result = subprocess.run([sys.executable, "-m", "pvq", "zooo"], capture_output=True, text=True)
    assert result.returncode == 2 and "invalid choice: 'zooo'" in result.stderr


@pytest.mark.parametrize("keep", [4.5, 4.0, "4.0", "4", True, None])
@pytest.mark.parametrize("solver", ["prune_heuristic", "solve_prune_exact", "solve_prune_mip"])
def test_a_non_integer_keep_is_an_error_not_truncated(solver, keep):
    rng = np.random.default_rng(0)
    X, w0 = rng.normal(size=(12, 6)), rng.normal(size=6)
    with pytest.raises(TypeError, match=f"keep must be an integer number of weights, got {keep!r}"):
        getattr(bounds, solver)(X, w0, keep)


def test_numpy_integers_are_a_valid_keep():
    rng = np.random.default_rng(0)
    X, w0 = rng.normal(size=(12, 6)), rng.normal(size=6)
    assert np.count_nonzero(bounds.prune_heuristic(X, w0, np.int64(2)).weights) == 2


def test_figures_and_comparisons_check_their_inputs_without_importing_torch():
    code = "import sys, pvq.plots.cli, pvq.report.cli, pvq.artifacts; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
