"""Published vs reproduced for the per-layer bounds: Fig. 4 (certified brackets) and Table 3 (the layers).

A chunk's bracket is certified (pvq.perlayer.summary.chunk_boxes): quantization certainly wins a
chunk when its heuristic beats the best possible pruning, and a box that straddles the diagonal is
undecided. Shares of chunks are therefore known only within bounds (certain wins alone, or certain
wins plus every undecided box); a verdict is yes or no only when both bounds agree.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pvq.perlayer.summary import chunk_boxes
from pvq.report.comparisons import claim, number, table
from pvq.report.compare_analytic import HIGH_COMPRESSION_BITS
from pvq.report.paper import paper_table
from pvq.report.verdicts import INCONCLUSIVE, Estimate, combine, exceeds, tally, verdict

MOST = 0.5  # "mostly": more than half of the chunks
ALMOST_ALWAYS = 0.9  # §8 "almost always provably better": at least 90 % of the (chunk, bit width) boxes


def quant_win_share(boxes: pd.DataFrame) -> Estimate:
    """The share of boxes quantization wins, within bounds: certain wins / (certain + undecided);
    no boxes: anything from 0 to 1."""
    if boxes.empty:
        return Estimate(0.0, 0.0, 1.0)
    certain = float(np.mean(boxes["winner"] == "quant"))
    return Estimate(certain, certain, certain + float(np.mean(boxes["winner"] == "undecided")))


def median_gap(boxes: pd.DataFrame) -> Estimate:
    """Bounds on the median over chunks of the absolute quantization - pruning SNR gap (dB) at the optimum.

    Each chunk's true gap lies in [quant_low - prune_high, quant_high - prune_low]; the median of the
    lower ends and of the upper ends bound the median gap, whose absolute value is bounded from them.
    """
    if boxes.empty:
        return Estimate(0.0, 0.0, math.inf)
    low = float(np.median(boxes["quant_low_db"] - boxes["prune_high_db"]))
    high = float(np.median(boxes["quant_high_db"] - boxes["prune_low_db"]))
    least = 0.0 if low <= 0 <= high else min(abs(low), abs(high))
    return Estimate(least, least, max(abs(low), abs(high)))


def _share_words(boxes: pd.DataFrame) -> str:
    words = []
    for bits, group in boxes.groupby("bits"):
        counts = group["winner"].value_counts()
        words.append(f"{bits} bits {counts.get('quant', 0)}/{counts.get('undecided', 0)}/{counts.get('prune', 0)}")
    return "chunks won by quantization / undecided / won by pruning: " + ", ".join(words)


def _certified_words(boxes: pd.DataFrame) -> str:
    return (f"{boxes['prune_certified'].mean():.0%} of boxes with every pruning optimum certified, "
            f"{boxes['quant_exact'].mean():.0%} with every quantization optimum exact")


def compare_fig4(perlayer: pd.DataFrame) -> pd.DataFrame:
    """§4.3, Fig. 4, and §8 on the post-training comparison with certified bounds."""
    boxes = chunk_boxes(perlayer)
    moderate = boxes[~boxes["bits"].isin(HIGH_COMPRESSION_BITS)]
    high = boxes[boxes["bits"].isin(HIGH_COMPRESSION_BITS)]
    parts = [exceeds(quant_win_share(group), MOST) for _, group in moderate.groupby("bits")] or [INCONCLUSIVE]
    rows = [claim(
        "quantization outperforms pruning on most chunks at moderate compression (each of 4 bits and more)",
        combine(parts),
        f"{_share_words(boxes)} ({tally(parts)}); {_certified_words(boxes)}",
        "§4.3, Fig. 4")]
    parts, words = [], []
    if len(moderate):
        reference = median_gap(moderate)
        words.append(f"4+ bits {reference.lo:.1f}-{reference.hi:.1f} dB")
        for bits, group in high.groupby("bits"):
            gap = median_gap(group)
            words.append(f"{bits} bits {gap.lo:.1f}-{gap.hi:.1f} dB")
            parts.append("yes" if gap.hi < reference.lo else "no" if gap.lo >= reference.hi else INCONCLUSIVE)
    rows.append(claim(
        "the methods become more comparable at high compression (2-3 bits): a smaller median gap than at 4+ bits",
        combine(parts or [INCONCLUSIVE]),
        "bounds on the median absolute gap between the optimal quantization and pruning SNRs: " + (", ".join(words) or
                                                                                   "no bit width on one side"),
        "§4.3, Fig. 4"))
    share = quant_win_share(boxes)
    rows.append(claim(
        f"quantization is almost always provably better than pruning (at least {ALMOST_ALWAYS:.0%} of the "
        "chunk and bit-width boxes)",
        "yes" if share.lo >= ALMOST_ALWAYS else "no" if share.hi < ALMOST_ALWAYS else INCONCLUSIVE,
        f"quantization wins {share.lo:.0%} of {len(boxes)} boxes for certain, "
        f"{share.hi - share.lo:.0%} undecided, pruning {np.mean(boxes['winner'] == 'prune'):.0%}",
        "§8"))
    return table(rows)


def compare_table3(perlayer: pd.DataFrame) -> pd.DataFrame:
    """App. F, Table 3: the sub-problem dimension of the paper's layers that this run solved (matched
    by the names in pvq/data/paper/table3_perlayer.csv), and whether every pruning optimum is certified."""
    paper = paper_table("table3_perlayer")
    dims = perlayer.groupby(["model", "layer"])["n"].max()
    rows = []
    for entry in paper.drop_duplicates(["model", "layer"]).itertuples():
        key = (entry.pvq_model, entry.pvq_layer)
        if key in dims.index:
            same = "" if entry.pvq_layer == entry.layer else f", ours {entry.pvq_layer}"
            rows.append(number(f"sub-problem dimension, {entry.model} {entry.layer}{same}",
                               entry.dim, dims[key], entry.source))
    known = set(zip(paper["pvq_model"], paper["pvq_layer"]))
    matched = [f"{m} {l}" for m, l in dims.index if (m, l) in known]
    boxes = chunk_boxes(perlayer)
    certified = boxes.groupby(["model", "layer", "bits"])["prune_certified"].all()
    parts = [verdict(bool(c)) for c in certified]
    rows.append(claim(
        "the pruning problem of every chunk is solved to its global optimum",
        combine(parts or [INCONCLUSIVE]),
        f"every pruning optimum certified in {int(certified.sum())} of {len(certified)} (layer, bit width) "
        f"groups; {_certified_words(boxes)}; of the paper's "
        f"{paper.drop_duplicates(['model', 'layer']).shape[0]} distinct layers this run solved "
        f"{len(matched)}{': ' + ', '.join(matched) if matched else ''}",
        "§4.2"))
    return table(rows)
