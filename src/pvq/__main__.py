"""``python -m pvq <command> ...``: the only entry point the Snakemake rules call.

Each command lives in its stage's ``cli`` module (imported lazily, so a plot never imports torch)
and provides ``HELP``, ``add_arguments(parser)`` and ``run(args)``. A damaged input artifact ends the
command with its ``ArtifactError`` message (which file, what is wrong, how to regenerate it), exit 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from pvq.io import ArtifactError

COMMANDS = {
    "allocation": "pvq.allocation.cli",
    "analytic": "pvq.analytic.cli",
    "perlayer": "pvq.perlayer.cli",
    "finetune": "pvq.finetune.cli",
    "formats": "pvq.formats.cli",
    "plot": "pvq.plots.cli",
    "provenance": "pvq.provenance_cli",
    "ptq": "pvq.ptq.cli",
    "report": "pvq.report.cli",
    "zoo": "pvq.zoo.cli",
}


def command_parser(name: str) -> tuple[argparse.ArgumentParser, object]:
    """The parser of one command, and its module."""
    module = importlib.import_module(COMMANDS[name])
    parser = argparse.ArgumentParser(prog=f"python -m pvq {name}", description=module.HELP,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    module.add_arguments(parser)
    return parser, module


def top_parser() -> argparse.ArgumentParser:
    """``python -m pvq --help``: every command with the first line of its help."""
    lines = [f"  {name:<11} {summary(importlib.import_module(module).HELP)}" for name, module in sorted(COMMANDS.items())]
    parser = argparse.ArgumentParser(
        prog="python -m pvq", usage="python -m pvq [-h] <command> [options]",
        description=__doc__.splitlines()[0].replace("``", ""),
        epilog="commands:\n" + "\n".join(lines) + "\n\n`python -m pvq <command> --help` lists a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=sorted(COMMANDS), help="the stage or step to run (listed below)")
    return parser


def summary(text: str) -> str:
    """The first line of a command's help."""
    return text.strip().splitlines()[0]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        top_parser().parse_args(argv[:1])  # prints the help or a usage error, and exits
    parser, module = command_parser(argv[0])
    try:
        return module.run(parser.parse_args(argv[1:])) or 0
    except ArtifactError as error:
        print(f"python -m pvq {argv[0]}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
