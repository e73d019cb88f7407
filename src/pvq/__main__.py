"""``python -m pvq <command> ...``: the only entry point the Snakemake rules call.

Each command lives in its stage's ``cli`` module (imported lazily, so a plot never imports torch)
and provides ``HELP``, ``add_arguments(parser)`` and ``run(args)``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "allocation": "pvq.allocation.cli",
    "analytic": "pvq.analytic.cli",
    "perlayer": "pvq.perlayer.cli",
    "finetune": "pvq.finetune.cli",
    "formats": "pvq.formats.cli",
    "plot": "pvq.plots.cli",
    "provenance": "pvq.provenance_cli",
    "report": "pvq.report.cli",
    "zoo": "pvq.zoo.cli",
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m pvq", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=sorted(COMMANDS))
    if not argv or argv[0] not in COMMANDS:
        parser.parse_args(argv[:1])  # prints usage and exits
    module = importlib.import_module(COMMANDS[argv[0]])
    sub = argparse.ArgumentParser(prog=f"python -m pvq {argv[0]}", description=module.HELP)
    module.add_arguments(sub)
    return module.run(sub.parse_args(argv[1:])) or 0


if __name__ == "__main__":
    sys.exit(main())
