"""Every table is written three ways: CSV (for code), Markdown (for the README/report), LaTeX (booktabs)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pvq.io import Table, write_csv, write_text

SUFFIXES = (".csv", ".md", ".tex")


def table_paths(stem: str | Path) -> list[Path]:
    """The three files of table ``stem`` (a path without suffix)."""
    return [Path(f"{stem}{suffix}") for suffix in SUFFIXES]


def to_markdown(frame: pd.DataFrame, float_format: str = ".1f") -> str:
    """Missing values (NaN, None) print as empty cells."""
    cells = frame.astype(object).where(frame.notna(), None)
    return cells.to_markdown(index=False, floatfmt=float_format, missingval="") + "\n"


def to_latex(frame: pd.DataFrame, caption: str, label: str, float_format: str = "{:.1f}") -> str:
    """A booktabs tabular inside a table environment."""
    floats = frame.select_dtypes("float").columns
    styler = (frame.style.hide(axis="index")
              .format(na_rep="", escape="latex")
              .format(float_format, subset=floats, na_rep="")
              .format_index(escape="latex", axis=1))
    return styler.to_latex(hrules=True, caption=caption, label=label, position="t",
                           position_float="centering")


def write_table(frame: pd.DataFrame, stem: str | Path, caption: str, float_format: str = ".1f",
                contract: Table | None = None) -> None:
    """Write ``stem``.csv (full precision), .md and .tex (rounded to ``float_format``); a table other
    stages read has a ``contract``, which its CSV is checked against."""
    csv, md, tex = table_paths(stem)
    if contract is None:
        write_csv(frame, csv)
    else:
        contract.write(frame, csv)
    write_text(to_markdown(frame, float_format), md)
    write_text(to_latex(frame, caption, f"tab:{Path(stem).name}", "{:" + float_format + "}"), tex)
