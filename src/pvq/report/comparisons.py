"""Published vs reproduced, one function per paper target.

Every comparison is a table of rows of two kinds: ``number`` (a value the paper prints, ours, and the
difference) and ``claim`` (a qualitative conclusion of the paper, whether our artifacts support it,
and the evidence in numbers). Published numbers come from pvq/data, reproduced ones from artifacts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pvq.report.paper import paper_table

COLUMNS = ["kind", "item", "paper", "reproduced", "difference", "holds", "evidence", "source"]


def number(item: str, paper: float, reproduced: float, source: str) -> dict:
    return {"kind": "number", "item": item, "paper": float(paper), "reproduced": float(reproduced),
            "difference": float(reproduced - paper), "holds": None, "evidence": None, "source": source}


def claim(item: str, holds: bool, evidence: str, source: str) -> dict:
    return {"kind": "claim", "item": item, "paper": None, "reproduced": None, "difference": None,
            "holds": "yes" if holds else "no", "evidence": evidence, "source": source}


def compare_fig1(normal: pd.DataFrame) -> pd.DataFrame:
    """§3.3 on the standard normal: the two quoted SNRs and 'quantization is much better'."""
    quoted = paper_table("fig1_normal")
    rows = []
    quant = quoted[quoted["quantity"] == "quant_snr_db"].iloc[0]
    prune = quoted[quoted["quantity"] == "prune_snr_db"].iloc[0]
    ours_q = normal.loc[normal["bits"] == quant["bits"], "quant_snr_db"]
    ours_p = normal.loc[np.isclose(normal["sparsity"], prune["sparsity"]), "prune_snr_db"]
    if len(ours_q):
        rows.append(number(f"INT{int(quant['bits'])} SNR (dB)", quant["snr_db"], ours_q.iloc[0], quant["source"]))
    if len(ours_p):
        rows.append(number(f"{prune['sparsity']:.0%} pruning SNR (dB)", prune["snr_db"], ours_p.iloc[0],
                           prune["source"]))
    margin = normal["quant_snr_db"] - normal["prune_snr_db"]
    rows.append(claim(
        "quantization has the higher SNR at every compared bit width on the normal",
        bool((margin > 0).all()),
        f"margin {margin.min():.1f} to {margin.max():.1f} dB over bits "
        f"{int(normal['bits'].min())}-{int(normal['bits'].max())}",
        "§3.3, Fig. 1 (right)"))
    return pd.DataFrame(rows, columns=COLUMNS)


def crossover_kurtosis(student_t: pd.DataFrame) -> pd.DataFrame:
    """Per bit width, the smallest kurtosis on the grid from which pruning has the higher SNR (NaN: never)."""
    rows = []
    for bits, table in student_t.sort_values("kurtosis").groupby("bits"):
        prune_wins = (table["winner"] == "prune").to_numpy()
        # The first grid point from which pruning keeps winning up to the largest kurtosis.
        tail = np.flatnonzero(~prune_wins)
        start = 0 if tail.size == 0 else tail[-1] + 1
        kurt = table["kurtosis"].iloc[start] if start < len(table) else np.nan
        rows.append({"bits": int(bits), "prune_wins_from_kurtosis": kurt})
    return pd.DataFrame(rows)


def compare_fig2(student_t: pd.DataFrame) -> pd.DataFrame:
    """§3.3 on the truncated t: outliers hurt quantization, pruning wins only at 2-3 bits and high kurtosis."""
    rows = []
    lo, hi = student_t["kurtosis"].min(), student_t["kurtosis"].max()
    span = student_t.sort_values("kurtosis").groupby("bits").agg(
        quant=("quant_snr_db", lambda s: s.iloc[-1] - s.iloc[0]),
        prune=("prune_snr_db", lambda s: s.iloc[-1] - s.iloc[0]))
    rows.append(claim(
        "quantization SNR falls as the outliers grow",
        bool((span["quant"] < 0).all()),
        f"from kurtosis {lo:.1f} to {hi:.1f} it changes by {span['quant'].min():.1f} to "
        f"{span['quant'].max():.1f} dB across bit widths",
        "§3.3, Fig. 2 (middle)"))
    rows.append(claim(
        "pruning SNR does not change under more severe outliers (within 1 dB)",
        bool((span["prune"].abs() < 1.0).all()),
        f"from kurtosis {lo:.1f} to {hi:.1f} it changes by {span['prune'].min():+.1f} to "
        f"{span['prune'].max():+.1f} dB across sparsities",
        "§3.3, Fig. 2 (left) caption"))
    moderate = student_t[student_t["bits"] >= 4]
    if len(moderate):
        share = float((moderate["winner"] == "quant").mean())
        rows.append(claim(
            "quantization has the higher SNR in most cases at moderate compression (4 bits and more)",
            share > 0.5, f"quantization wins {share:.0%} of the (kurtosis, bits >= 4) grid",
            "§3.3, Fig. 2 (right)"))
    low = student_t[student_t["bits"] <= 3]
    if len(low):
        crossing = crossover_kurtosis(student_t)
        words = ", ".join(f"{r.bits} bits from {r.prune_wins_from_kurtosis:.1f}"
                          if np.isfinite(r.prune_wins_from_kurtosis) else f"{r.bits} bits never"
                          for r in crossing.itertuples())
        rows.append(claim(
            "pruning wins at very high compression (2-3 bits) once the tails are heavy",
            bool((low["winner"] == "prune").any()),
            f"pruning has the higher SNR at kurtosis above: {words}",
            "§3.3, Fig. 2 (right)"))
    return pd.DataFrame(rows, columns=COLUMNS)
