"""Published vs reproduced, one function per paper target.

Every comparison is a table of rows of two kinds: ``number`` (a value the paper prints, ours, and the
difference) and ``claim`` (a qualitative conclusion of the paper, whether our artifacts support it,
and the evidence in numbers). Published numbers come from pvq/data, reproduced ones from artifacts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from pvq.report.paper import paper_table, published_zoo

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


def compare_table2(zoo: pd.DataFrame) -> pd.DataFrame:
    """App. C, Table 2: mean natural sparsity per bit width, against the paper and the authors' data.

    ``zoo`` holds our per-tensor rows (model, bits, natural_sparsity); means are unweighted over
    tensors, as the authors' released data reproduces the printed table that way.
    """
    paper = paper_table("table2_natural_sparsity").set_index("bits")["natural_sparsity_pct"]
    released = 100 * published_zoo().groupby("bits")["quant_sparsity"].mean()
    ours = 100 * zoo.groupby("bits")["natural_sparsity"].mean()
    models = ", ".join(sorted(zoo["model"].unique()))
    rows = []
    for bits in sorted(paper.index, reverse=True):
        source = "Table 2 (App. C)"
        rows.append(number(f"{bits}-bit natural sparsity (%), authors' released data (45 models)",
                           paper[bits], released[bits], source))
        if bits in ours.index:
            rows.append(number(f"{bits}-bit natural sparsity (%), reproduced on {models}",
                               paper[bits], ours[bits], source))
    ordered = ours.sort_index()
    rows.append(claim("natural sparsity grows as the bit width falls",
                      bool(ordered.is_monotonic_decreasing),
                      "reproduced: " + ", ".join(f"{b} bits {v:.1f}%" for b, v in ordered.items()),
                      "App. C"))
    return pd.DataFrame(rows, columns=COLUMNS)


def pruning_win_share(frame: pd.DataFrame, quant: str, prune: str) -> pd.Series:
    """Per bit width, the share of tensors whose pruning SNR beats their quantization SNR.

    Tensors with a non-finite SNR (an exact reconstruction, e.g. fp16 round-off in the authors'
    data) are left out, as the paper's plot leaves them out.
    """
    finite = frame[np.isfinite(frame[quant]) & np.isfinite(frame[prune])]
    return (finite[prune] > finite[quant]).groupby(finite["bits"]).mean()


def compare_fig3(zoo: pd.DataFrame) -> pd.DataFrame:
    """§3.4, Fig. 3: where pruning beats quantization on real tensors, and whether kurtosis predicts it."""
    released = published_zoo()
    theirs = pruning_win_share(released, "quant_sqnr", "pruning_sqnr")
    ours = pruning_win_share(zoo, "quant_snr_db", "prune_snr_db")
    rows = [number(f"{bits}-bit share of tensors where pruning wins (%), ours vs authors' data",
                   100 * theirs[bits], 100 * ours[bits], "Fig. 3 (left), released data")
            for bits in sorted(ours.index, reverse=True) if bits in theirs.index]
    rows.append(claim(
        "pruning becomes more beneficial at lower bit widths (higher sparsity)",
        bool(ours.sort_index().is_monotonic_decreasing),
        "share of tensors where pruning wins: " + ", ".join(f"{b} bits {100 * v:.1f}%"
                                                            for b, v in ours.sort_index().items()),
        "§3.4, Fig. 3 (left)"))
    aucs = {}
    for bits, group in zoo[np.isfinite(zoo["kurtosis"])].groupby("bits"):
        wins = group["prune_snr_db"] > group["quant_snr_db"]
        if wins.nunique() == 2:
            aucs[bits] = roc_auc_score(wins, group["kurtosis"])
    if aucs:
        rows.append(claim(
            "kurtosis predicts where pruning wins (ROC AUC of kurtosis above 0.5 at every bit width)",
            all(a > 0.5 for a in aucs.values()),
            "AUC " + ", ".join(f"{b} bits {a:.2f}" for b, a in sorted(aucs.items())),
            "§3.4, Fig. 3 (right)"))
    return pd.DataFrame(rows, columns=COLUMNS)


def _measured(table: pd.DataFrame) -> pd.DataFrame:
    """Rows with both methods measured (not-supported rows have empty cells)."""
    return table.dropna(subset=["quant", "prune"])


def _gaps_by_bits(table: pd.DataFrame) -> pd.Series:
    """Mean over models of quant - prune per bit width (points of the task metric)."""
    return (table["quant"] - table["prune"]).groupby(table["bits"]).mean().sort_index()


def _gap_words(gaps: pd.Series) -> str:
    return ", ".join(f"{b} bits {g:+.1f}" for b, g in gaps.sort_index(ascending=False).items())


def _finetune_claims(ours: pd.DataFrame, paper: pd.DataFrame, source: str, what: str) -> list[dict]:
    models = ", ".join(ours["model"].unique())
    paper = _measured(paper)
    wins = (ours["quant"] >= ours["prune"])
    paper_wins = int((paper["quant"] >= paper["prune"]).sum())
    rows = [claim(
        f"{what}: quantization is at least as accurate as pruning at every bit width",
        bool(wins.all()),
        f"ours ({models}): quantization >= pruning in {int(wins.sum())} of {len(wins)} cells, "
        f"quant - prune {_gap_words(_gaps_by_bits(ours))} points; paper: {paper_wins} of {len(paper)} cells",
        source)]
    gaps, paper_gaps = _gaps_by_bits(ours), _gaps_by_bits(paper)
    if len(gaps) > 1:
        rows.append(claim(
            f"{what}: the advantage of quantization grows as the bit width falls",
            bool(gaps.iloc[0] > gaps.iloc[-1]),
            f"ours: gap at {gaps.index[0]} bits {gaps.iloc[0]:+.1f} vs {gaps.index[-1]} bits {gaps.iloc[-1]:+.1f}; "
            f"paper (mean over its models): {paper_gaps.iloc[0]:+.1f} vs {paper_gaps.iloc[-1]:+.1f}",
            source))
    top = ours[ours["bits"] == ours["bits"].max()]
    drop = (top["fp"] - top["quant"]).max()
    paper_top = paper[paper["bits"] == paper["bits"].max()]
    rows.append(claim(
        f"{what}: {int(ours['bits'].max())}-bit QAT stays within 1 point of the FP model",
        bool(drop <= 1.0),
        f"ours: largest drop {drop:+.2f} points; paper: {(paper_top['fp'] - paper_top['quant']).max():+.1f}",
        source))
    return rows


def compare_table1(table1: pd.DataFrame) -> pd.DataFrame:
    """§5, Table 1: our model is not the paper's ImageNet models, so its conclusions are compared."""
    rows = _finetune_claims(_measured(table1), paper_table("table1_finetune"), "Table 1 (§5)", "fine-tuned")
    return pd.DataFrame(rows, columns=COLUMNS)


def compare_table5(tables: pd.DataFrame) -> pd.DataFrame:
    """App. H (later version), Table 5, read with Table 1 (``input_index`` 0: Table 5, 1: Table 1)."""
    long = _measured(tables[tables["input_index"] == 0])
    short = _measured(tables[tables["input_index"] == 1])
    paper_long, paper_short = paper_table("table5_finetune_long"), paper_table("table1_finetune")
    source = "Table 5 (App. H, later version)"
    rows = _finetune_claims(long, paper_long, source, "twice the fine-tuning")
    both = long.merge(short, on=["model", "bits"], suffixes=("_long", "_short"))
    paper_both = _measured(paper_long).merge(paper_short, on=["model", "bits"], suffixes=("_long", "_short"))
    if len(both):
        gain = {m: (both[f"{m}_long"] - both[f"{m}_short"]).mean() for m in ("quant", "prune")}
        paper_gain = {m: (paper_both[f"{m}_long"] - paper_both[f"{m}_short"]).mean() for m in ("quant", "prune")}
        rows.append(claim(
            "longer fine-tuning helps pruning more than quantization, without closing the gap",
            bool(gain["prune"] > gain["quant"] and (both["quant_long"] >= both["prune_long"]).all()),
            f"ours: mean gain quant {gain['quant']:+.2f}, prune {gain['prune']:+.2f} points; "
            f"paper (ViT): quant {paper_gain['quant']:+.1f}, prune {paper_gain['prune']:+.1f}",
            source))
    return pd.DataFrame(rows, columns=COLUMNS)
