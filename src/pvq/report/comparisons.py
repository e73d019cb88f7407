"""The rows of every published-vs-reproduced table.

Two kinds: ``number`` (a value the paper prints, ours, and the difference; no verdict) and ``claim``
(a conclusion the paper draws, its verdict by ``pvq.report.verdicts`` and the evidence in numbers).
Published numbers come from pvq/data/paper, reproduced ones from the run's artifacts.
"""

from __future__ import annotations

import pandas as pd

from pvq.report.verdicts import INCONCLUSIVE, NO, PARTLY, YES

COLUMNS = ["kind", "item", "paper", "reproduced", "difference", "holds", "evidence", "source"]


def number(item: str, paper: float, reproduced: float, source: str) -> dict:
    return {"kind": "number", "item": item, "paper": float(paper), "reproduced": float(reproduced),
            "difference": float(reproduced - paper), "holds": None, "evidence": None, "source": source}


def claim(item: str, holds: str, evidence: str, source: str) -> dict:
    """``holds``: yes, no, partly or inconclusive (see pvq.report.verdicts)."""
    if holds not in (YES, NO, PARTLY, INCONCLUSIVE):
        raise ValueError(f"a claim's verdict is yes, no, partly or inconclusive, got {holds!r}")
    return {"kind": "claim", "item": item, "paper": None, "reproduced": None, "difference": None,
            "holds": holds, "evidence": evidence, "source": source}


def table(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS)
