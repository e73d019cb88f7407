"""The contract of every table a figure or a published-vs-reproduced comparison reads, by the name its
``--input`` gives it (``python -m pvq plot <figure> --input zoo=...``). The contracts live beside the
code that writes each artifact (``pvq.<stage>.artifacts``); a new input name needs a line here."""

from __future__ import annotations

from pvq.allocation.artifacts import ACCURACY, CHOICES, CHOICES_SUMMARY, FORMATS_SHARES, FORMATS_SUMMARY, SUMMARY
from pvq.analytic.artifacts import ANALYTIC_FORMATS, NORMAL, NORMAL_LEVELS, NORMAL_PROFILE, STUDENT_T
from pvq.formats.artifacts import FORMATS_PARETO, FORMATS_SWEEP
from pvq.finetune.artifacts import REPRESENTATIONS, SENSITIVITY, SENSITIVITY_CORRELATION, TABLE1, TABLE5
from pvq.io import Table
from pvq.perlayer.artifacts import CHUNK_BOXES, FORMAT_BOXES, LAYER_BOUNDS, LAYER_FORMATS
from pvq.ptq.artifacts import PTQ_RESULTS
from pvq.zoo.artifacts import ZOO_REGIONS, ZOO_SWEEP

INPUTS: dict[str, Table] = {
    "normal": NORMAL,
    "profile": NORMAL_PROFILE,
    "levels": NORMAL_LEVELS,
    "student_t": STUDENT_T,
    "analytic_formats": ANALYTIC_FORMATS,
    "pareto": FORMATS_PARETO,
    "formats": FORMATS_SWEEP,
    "zoo": ZOO_SWEEP,
    "zoo_regions": ZOO_REGIONS,
    "perlayer": LAYER_BOUNDS,
    "perlayer_boxes": CHUNK_BOXES,
    "format_boxes": FORMAT_BOXES,
    "perlayer_formats": LAYER_FORMATS,
    "allocation": SUMMARY,
    "allocation_formats": FORMATS_SUMMARY,
    "formats_shares": FORMATS_SHARES,
    "choices": CHOICES,
    "choices_summary": CHOICES_SUMMARY,
    "accuracy": ACCURACY,
    "sensitivity": SENSITIVITY,
    "correlation": SENSITIVITY_CORRELATION,
    "representations": REPRESENTATIONS,
    "table1_finetune": TABLE1,
    "table5_finetune_long": TABLE5,
    "ptq": PTQ_RESULTS,
}


def contract(name: str) -> Table:
    """The contract of input ``name``; a KeyError naming the known ones otherwise."""
    if name not in INPUTS:
        raise KeyError(f"no contract for input {name!r} (known: {', '.join(sorted(INPUTS))}); "
                       "declare it in pvq.artifacts.INPUTS")
    return INPUTS[name]
