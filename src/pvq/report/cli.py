"""Report artifacts: published-vs-reproduced tables and quantization cards."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from pvq.artifacts import contract
from pvq.io import write_text
from pvq.report import cards, comparisons
from pvq.tables import write_table

HELP = __doc__

# target -> (the name(s) of its inputs in pvq.artifacts, the comparison, the caption)
COMPARISONS = {
    "fig1": ("normal", comparisons.compare_fig1, "Fig. 1 on the normal: published vs reproduced"),
    "fig2": ("student_t", comparisons.compare_fig2, "Fig. 2 on the truncated t: published vs reproduced"),
    "fig3": ("zoo", comparisons.compare_fig3, "Fig. 3 on real tensors: published vs reproduced"),
    "table2": ("zoo", comparisons.compare_table2, "Table 2, natural sparsity: published vs reproduced"),
    "table1": ("table1_finetune", comparisons.compare_table1,
               "Table 1, QAT vs pruning with fine-tuning: the paper's conclusions on our model"),
    "table5": (("table5_finetune_long", "table1_finetune"), comparisons.compare_table5,
               "Table 5, longer fine-tuning: the paper's conclusions on our model"),
}


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="artifact", required=True, help="what to write")
    compare = sub.add_parser("compare", help="a published-vs-reproduced table")
    compare.add_argument("target", choices=sorted(COMPARISONS), help="the figure or table compared")
    compare.add_argument("--input", nargs="+", required=True, help="the reproduced CSV(s)")
    compare.add_argument("--out", required=True, help="the CSV; .md and .tex are written beside it")
    card = sub.add_parser("card", help="a quantization card")
    card.add_argument("experiment", choices=sorted(cards.BUILDERS), help="the experiment (stage) described")
    card.add_argument("--config-json", required=True, help="the resolved config, as JSON")
    card.add_argument("--out", required=True, help="the card (Markdown)")


def run(args) -> None:
    if args.artifact == "compare":
        names, compare, caption = COMPARISONS[args.target]
        names = (names,) if isinstance(names, str) else names  # input i has names[i]; the last repeats
        # input_index tells apart several inputs (Table 5 is read with Table 1 beside it).
        reproduced = pd.concat([contract(names[min(i, len(names) - 1)]).read(path).assign(input_index=i)
                                for i, path in enumerate(args.input)], ignore_index=True)
        table = compare(reproduced)
        write_table(table, Path(args.out).with_suffix(""), caption, float_format=".2f")
        print(table.to_string(index=False))
    else:
        write_text(cards.quantization_card(args.experiment, json.loads(args.config_json)), args.out)
