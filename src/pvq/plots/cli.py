"""Draw one figure from its CSV tables: python -m pvq plot <figure> --input name=path ... --out f.pdf f.png

Every input is checked against the contract its name has in pvq.artifacts before anything is drawn."""

from __future__ import annotations

import importlib

import pandas as pd

from pvq.artifacts import contract
from pvq.io import save_figure

HELP = __doc__


def add_arguments(parser) -> None:
    parser.add_argument("figure", help="module under pvq.plots, e.g. fig1_normal")
    parser.add_argument("--input", action="append", default=[], metavar="NAME=PATH",
                        help="a table the figure reads; a name given twice concatenates its tables")
    parser.add_argument("--out", nargs="+", required=True, help="output files (.pdf, .png)")


def run(args) -> None:
    module = importlib.import_module(f"pvq.plots.{args.figure}")
    parts: dict[str, list[pd.DataFrame]] = {}
    for item in args.input:
        name, sep, path = item.partition("=")
        if not sep:
            raise SystemExit(f"--input expects NAME=PATH, got {item!r}")
        parts.setdefault(name, []).append(contract(name).read(path))
    tables = {name: pd.concat(frames, ignore_index=True) for name, frames in parts.items()}
    missing = set(module.INPUTS) - set(tables)
    if missing:
        raise SystemExit(f"figure {args.figure} needs inputs {sorted(missing)}")
    save_figure(module.draw(**tables), *args.out)
