"""Report artifacts: published-vs-reproduced tables (one per figure and table of the paper) and
quantization cards (one per experiment), both from the run's own artifacts."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import pandas as pd

from pvq.artifacts import contract
from pvq.io import write_text
from pvq.report import cards, compare_analytic, compare_finetune, compare_perlayer, compare_zoo
from pvq.tables import write_table

HELP = __doc__

# name (the table is tables/compare_<name>.*) -> (function, LaTeX caption); its inputs are the
# function's table arguments, given as --input <argument>=<csv>.
COMPARISONS = {
    "fig1_normal": (compare_analytic.compare_fig1, "Fig. 1, standard normal: published vs reproduced"),
    "fig2_student_t": (compare_analytic.compare_fig2, "Fig. 2, truncated t: published vs reproduced"),
    "fig3_zoo_snr": (compare_zoo.compare_fig3, "Fig. 3, real tensors: published vs reproduced"),
    "fig4_perlayer": (compare_perlayer.compare_fig4, "Fig. 4, per-layer bounds: the paper's conclusions here"),
    "fig5_t_kurtosis": (compare_analytic.compare_fig5, "Fig. 5, kurtosis of the truncated t: the paper's claims"),
    "fig6_snr_vs_accuracy": (compare_finetune.compare_fig6,
                             "Fig. 6 (App. D), layer SNR vs model accuracy: the paper's conclusion here"),
    "fig7_representations_by_layer": (compare_finetune.compare_fig7,
                                      "Fig. 7 (App. H/I), representations per layer: the paper's conclusions here"),
    "fig8_representations_last_layer": (compare_finetune.compare_fig8,
                                        "Fig. 8 (App. H/I), last-layer representations: the paper's conclusions here"),
    "table1_finetune": (compare_finetune.compare_table1,
                        "Table 1, QAT vs pruning with fine-tuning: the paper's conclusions on our models"),
    "table2_natural_sparsity": (compare_zoo.compare_table2, "Table 2, natural sparsity: published vs reproduced"),
    "table3_perlayer": (compare_perlayer.compare_table3, "Table 3, per-layer problems: published vs reproduced"),
    "table5_finetune_long": (compare_finetune.compare_table5,
                             "Table 5, longer fine-tuning: the paper's conclusions on our models"),
}


def table_arguments(function) -> list[str]:
    """The tables a comparison reads: its arguments other than ``test_examples``."""
    return [name for name in inspect.signature(function).parameters if name != "test_examples"]


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="artifact", required=True, help="what to write")
    compare = sub.add_parser("compare", help="a published-vs-reproduced table")
    compare.add_argument("comparison", choices=sorted(COMPARISONS), help="the figure or table compared")
    compare.add_argument("--input", action="append", required=True, metavar="NAME=PATH",
                         help="a reproduced CSV the comparison reads; a name given twice concatenates")
    compare.add_argument("--seed", type=int, required=True,
                         help="the run's seed (fixes the digits test split, whose size bounds a run's accuracy)")
    compare.add_argument("--out", required=True, help="the CSV; .md and .tex are written beside it")
    card = sub.add_parser("card", help="a quantization card")
    card.add_argument("experiment", choices=sorted(cards.BUILDERS), help="the experiment (stage) described")
    card.add_argument("--config-json", required=True, help="the resolved config, as JSON")
    card.add_argument("--input", action="append", default=[], metavar="NAME=PATH",
                      help="an artifact of the experiment the card describes (see pvq.report.cards)")
    card.add_argument("--out", required=True, help="the card (Markdown)")


def named_paths(items: list[str]) -> dict[str, list[str]]:
    paths: dict[str, list[str]] = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep:
            raise SystemExit(f"--input expects NAME=PATH, got {item!r}")
        paths.setdefault(name, []).append(path)
    return paths


def run(args) -> None:
    paths = named_paths(args.input)
    if args.artifact == "card":
        text = cards.quantization_card(args.experiment, json.loads(args.config_json), paths)
        write_text(text, args.out)
        return
    compare, caption = COMPARISONS[args.comparison]
    wanted = table_arguments(compare)
    if set(paths) != set(wanted):
        raise SystemExit(f"comparison {args.comparison} reads --input {', '.join(f'{n}=...' for n in wanted)}; "
                         f"got {sorted(paths)}")
    tables = {name: pd.concat([contract(name).read(p) for p in paths[name]], ignore_index=True) for name in wanted}
    extra = {}
    if "test_examples" in inspect.signature(compare).parameters:
        models = set().union(*(t["model"] for t in tables.values()))
        extra["test_examples"] = compare_finetune.examples_per_test_set(models, args.seed)
    table = compare(**tables, **extra)
    write_table(table, Path(args.out).with_suffix(""), caption, float_format=".2f")
    with pd.option_context("display.max_colwidth", None, "display.width", 250):
        print(table.to_string(index=False))
