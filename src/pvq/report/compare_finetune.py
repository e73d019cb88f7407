"""Published vs reproduced for fine-tuning: Table 1, Table 5 (App. H, later version), Fig. 6 (App. D)
and Fig. 7/8 (App. H/I). Our models are not the paper's ImageNet ones, so the paper's conclusions are
checked, each cell with its uncertainty:

- a Table 1/5 cell uses the table's ``winner`` (a paired comparison over seeds) where the table has
  one, else its 95 % intervals (``quant_lo`` ... ``prune_hi``) where it has them, else the Wilson
  interval of one run's test accuracy on its ``test_examples`` (test-set noise only);
- Fig. 6 uses the correlation's Fisher-z interval over its points;
- every cell is read in its metric's direction (pvq.finetune.directions): for perplexity the lower
  value wins, and quantization's lead is prune - quant;
- Fig. 7/8 use the spread over seeds (rows with a ``seed`` column); one run has no estimate of it,
  so its changes are inconclusive whatever their size.
"""

from __future__ import annotations

import math

import pandas as pd

from pvq.finetune.directions import higher_is_better
from pvq.report.comparisons import claim, table
from pvq.report.compare_analytic import HIGH_COMPRESSION_BITS
from pvq.report.paper import paper_table
from pvq.report.verdicts import (INCONCLUSIVE, NO, YES, Estimate, accuracy_estimate, below, combine,
                                 correlation_estimate, difference, exceeds, mean_estimate, only_at, tally, verdict)

STRONG = 0.5  # App. D "strong correlation": |r| above 0.5 (Cohen's "large") with 95 % confidence


def examples_per_test_set(models, seed: int) -> dict[str, int]:
    """Test examples behind each model's accuracy where the run implies them: the digits task's test
    split (pvq.models.digits.digits_split with the run's seed). Other models: unknown (left out).
    (The run records do not store it; accuracy_estimate checks every accuracy is a count of it.)"""
    from pvq.finetune.experiment import DIGITS

    if DIGITS not in set(models):
        return {}
    from pvq.models.digits import digits_split

    return {DIGITS: len(digits_split(seed).test)}


def _present(row: pd.Series, column: str) -> bool:
    value = row.get(column)
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def cell_estimate(row: pd.Series, column: str, test_examples: dict[str, int]) -> Estimate | None:
    """``column`` (quant, prune or fp) of a table row with its interval, or None if none is known."""
    if not _present(row, column):
        return None
    if _present(row, f"{column}_lo") and _present(row, f"{column}_hi"):
        return Estimate(row[column], row[f"{column}_lo"], row[f"{column}_hi"])
    n = test_examples.get(row["model"])
    return accuracy_estimate(row[column], n) if n else None


def cell_winner(row: pd.Series, test_examples: dict[str, int]) -> str:
    """quant, prune or inconclusive for one (model, bits) cell (see the module docstring)."""
    if _present(row, "winner"):
        return row["winner"]
    lead = gap(row, test_examples)
    if lead is None:
        return INCONCLUSIVE
    return "quant" if lead.lo > 0 else "prune" if lead.hi < 0 else INCONCLUSIVE


def gap(row: pd.Series, test_examples: dict[str, int]) -> Estimate | None:
    """Quantization's lead in one cell with its MOVER interval (None without intervals): quant - prune
    where higher is better, prune - quant where lower is (perplexity)."""
    quant, prune = cell_estimate(row, "quant", test_examples), cell_estimate(row, "prune", test_examples)
    if quant is None or prune is None:
        return None
    return difference(quant, prune) if higher_is_better(row["metric"]) else difference(prune, quant)


def uncertainty_words(frame: pd.DataFrame, test_examples: dict[str, int]) -> str:
    if "winner" in frame and frame["winner"].notna().any():
        seeds = f" over {int(frame['seeds'].min())}+ seeds" if "seeds" in frame else ""
        return f"winner per cell from the table's paired comparison{seeds}"
    if {"quant_lo", "quant_hi"} <= set(frame) and frame["quant_lo"].notna().any():
        return "95 % intervals of the table"
    known = {m: n for m, n in test_examples.items() if m in set(frame["model"])}
    if known:
        sizes = ", ".join(f"{n} for {m}" for m, n in known.items())
        return f"one run each: 95 % Wilson intervals on the test examples ({sizes}), test-set noise only"
    return "no uncertainty known: every cell inconclusive"


def _measured(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows with both methods measured (not-supported rows have empty cells)."""
    return frame.dropna(subset=["quant", "prune"])


def exact(frame: pd.DataFrame) -> pd.DataFrame:
    """The paper's printed numbers as estimates without uncertainty (an exact tie: neither wins)."""
    return frame.assign(**{f"{m}_{end}": frame[m] for m in ("quant", "prune") for end in ("lo", "hi")})


def _win_parts(winners: pd.Series) -> list[str]:
    return [YES if w == "quant" else NO if w == "prune" else INCONCLUSIVE for w in winners]


def _winner_words(winners: pd.Series) -> str:
    counts = winners.value_counts()
    return (f"quantization ahead in {counts.get('quant', 0)}, pruning in {counts.get('prune', 0)}, "
            f"tied or within the uncertainty in {len(winners) - counts.get('quant', 0) - counts.get('prune', 0)} "
            f"of {len(winners)} cells")


def _name(frame: pd.DataFrame, model: str, metric: str) -> str:
    """The model, with the metric where the model reports several (Lite0: agree and acc)."""
    return f"{model} {metric}" if frame.loc[frame["model"] == model, "metric"].nunique() > 1 else model


def _cells(frame: pd.DataFrame, where: pd.Series) -> str:
    return ", ".join(f"{_name(frame, r.model, r.metric)} {r.bits} bits"
                     for r in frame[where.to_numpy()].itertuples()) or "no cell"


def _only_high_compression(frame: pd.DataFrame, winners: pd.Series) -> str:
    """'Pruning is ahead only at very high compression': ahead in some 2-3-bit cell (yes; no if
    quantization is ahead in all of them, inconclusive otherwise), and in no cell of 4+ bits (yes if
    quantization is ahead in all of them, no if pruning is ahead in one, else inconclusive)."""
    high = frame["bits"].isin(HIGH_COMPRESSION_BITS).to_numpy()
    inside, outside = winners[high], winners[~high]
    if (inside == "prune").any():
        part_in = YES
    else:
        part_in = NO if len(inside) and (inside == "quant").all() else INCONCLUSIVE
    if (outside == "prune").any():
        part_out = NO
    else:
        part_out = YES if len(outside) and (outside == "quant").all() else INCONCLUSIVE
    return only_at([part_in], [part_out])


def _finetune_claims(ours: pd.DataFrame, paper: pd.DataFrame, test_examples: dict[str, int], source: str,
                     what: str) -> list[dict]:
    ours, paper = _measured(ours).reset_index(drop=True), _measured(paper).reset_index(drop=True)
    if ours.empty:
        return [claim(f"{what}: quantization is more accurate than pruning at every model and bit width",
                      INCONCLUSIVE, "no cell with both methods measured", source)]
    winners = ours.apply(cell_winner, axis=1, test_examples=test_examples)
    paper_winners = exact(paper).apply(cell_winner, axis=1, test_examples={})
    gaps = ", ".join(f"{_name(ours, r.model, r.metric)} {r.bits} bits {g}" for r, g in
                     zip(ours.itertuples(), ours.apply(gap, axis=1, test_examples=test_examples)) if g is not None)
    parts = _win_parts(winners)
    models = ", ".join(ours["model"].unique())
    rows = [claim(
        f"{what}: quantization is more accurate than pruning at every model and bit width",
        combine(parts),
        f"ours ({models}; {uncertainty_words(ours, test_examples)}): {_winner_words(winners)}"
        + (f"; quantization's lead (quant - prune; prune - quant where lower is better): {gaps}" if gaps else "")
        + f". Paper: {_winner_words(paper_winners)} ({combine(_win_parts(paper_winners))})",
        source)]
    rows.append(claim(
        f"{what}: pruning is ahead only at very high compression (in some 2-3-bit cell, in no cell of 4 bits "
        "or more)",
        _only_high_compression(ours, winners),
        f"ours: pruning ahead at {_cells(ours, winners == 'prune')}; paper: "
        f"{_only_high_compression(paper, paper_winners)}, pruning ahead at "
        f"{_cells(paper, paper_winners == 'prune')}",
        "Abstract; §8"))
    return rows


def _trend_parts(frame: pd.DataFrame, test_examples: dict[str, int]) -> tuple[list[str], list[str]]:
    """Per (model, metric): does quantization's lead grow from the most to the fewest bits (MOVER on
    the two gaps)?"""
    parts, words = [], []
    for (model, _), group in frame.groupby(["model", "metric"], sort=False):
        group = group.sort_values("bits")
        if len(group) < 2:
            continue
        few, many = gap(group.iloc[0], test_examples), gap(group.iloc[-1], test_examples)
        if few is None or many is None:
            parts.append(INCONCLUSIVE)
            continue
        change = difference(few, many)
        parts.append(exceeds(change))
        words.append(f"{_name(frame, model, group['metric'].iloc[0])} {int(group['bits'].iloc[0])} vs "
                     f"{int(group['bits'].iloc[-1])} bits {change}")
    return parts, words


def compare_table1(table1_finetune: pd.DataFrame, test_examples: dict[str, int] | None = None) -> pd.DataFrame:
    """§5, Table 1 and the abstract/§8 on fine-tuning, checked cell by cell with uncertainty."""
    table1 = table1_finetune
    test_examples = test_examples or {}
    paper = paper_table("table1_finetune")
    rows = _finetune_claims(table1, paper, test_examples, "§5, Table 1; §8", "fine-tuned")
    parts, words = _trend_parts(_measured(table1), test_examples)
    paper_parts, _ = _trend_parts(exact(_measured(paper)), {})
    rows.append(claim(
        "fine-tuned: quantization's lead over pruning grows as the bit width falls (every model)",
        combine(parts or [INCONCLUSIVE]),
        "ours, change of quantization's lead (quant - prune; prune - quant where lower is better): "
        + (", ".join(words) or "fewer than two bit widths")
        + f"; paper: {combine(paper_parts)} ({tally(paper_parts)} models)",
        "Table 1 (the paper's numbers; not stated in its text)"))
    return table(rows)


def compare_table5(table5_finetune_long: pd.DataFrame, table1_finetune: pd.DataFrame,
                   test_examples: dict[str, int] | None = None) -> pd.DataFrame:
    """App. H (later version), Table 5, read with Table 1: twice the fine-tuning."""
    table5, table1 = table5_finetune_long, table1_finetune
    test_examples = test_examples or {}
    paper_long, paper_short = paper_table("table5_finetune_long"), paper_table("table1_finetune")
    source = "Table 5 (App. H, later version)"
    rows = _finetune_claims(table5, paper_long, test_examples, source, "twice the fine-tuning")
    both = _measured(table5).merge(_measured(table1), on=["model", "metric", "bits"], suffixes=("", "_short"))
    parts, words = [], []
    for _, row in both.iterrows():
        long_gap = gap(row, test_examples)
        short = pd.Series({"model": row["model"], "metric": row["metric"],
                           **{c[: -len("_short")]: row[c] for c in row.index if c.endswith("_short")}})
        short_gap = gap(short, test_examples)
        if long_gap is None or short_gap is None:
            parts.append(INCONCLUSIVE)
            continue
        narrowing = difference(short_gap, long_gap)
        parts.append(exceeds(narrowing))
        words.append(f"{_name(both, row['model'], row['metric'])} {row['bits']} bits {narrowing}")
    paper_both = _measured(paper_long).merge(_measured(paper_short), on=["model", "metric", "bits"],
                                             suffixes=("", "_short"))
    paper_narrowing = ((paper_both["quant_short"] - paper_both["prune_short"])
                       - (paper_both["quant"] - paper_both["prune"]))
    rows.append(claim(
        "longer fine-tuning narrows quantization's lead (pruning gains more), at every model and bit width",
        combine(parts or [INCONCLUSIVE]),
        "ours, narrowing of quantization's lead (quant - prune; prune - quant where lower is better): "
        + (", ".join(words) or "no cell in both tables")
        + "; paper (ViT): " + ", ".join(f"{b} bits {n:+.1f}" for b, n in zip(paper_both["bits"], paper_narrowing)),
        f"{source} with Table 1 (the paper's numbers; not stated in its text)"))
    return table(rows)


def compare_fig6(correlation: pd.DataFrame) -> pd.DataFrame:
    """App. D, Fig. 6: single-layer output SNR (linear: normalised MSE) against the full model's
    accuracy drop; a Pearson r of nmse with the drop above STRONG with 95 % confidence is 'strong'."""
    def estimate(row) -> Estimate:
        if _present(row, "pearson_nmse_drop_lo") and _present(row, "pearson_nmse_drop_hi"):
            return Estimate(row["pearson_nmse_drop"], row["pearson_nmse_drop_lo"], row["pearson_nmse_drop_hi"])
        return correlation_estimate(row["pearson_nmse_drop"], int(row["points"]))

    def words(frame) -> str:
        return ", ".join(f"{r['model']} {r['method']}: r = {estimate(r)} over {int(r['points'])} points "
                         f"(Spearman of SNR with the drop {r['spearman_snr_drop']:+.2f})" for _, r in frame.iterrows())

    pooled = correlation[correlation["method"] == "both"]
    single = correlation[correlation["method"] != "both"]
    rows = []
    for rows_, item in ((pooled, "both kinds of noise pooled"), (single, "for pruning and for quantization noise alone")):
        parts = [exceeds(estimate(r), STRONG) for _, r in rows_.iterrows()]
        rows.append(claim(
            f"per-layer output error and full-model accuracy drop are strongly correlated ({item}; Pearson r "
            f"of the normalised MSE with the drop above {STRONG:g}, 95 % Fisher-z interval)",
            combine(parts or [INCONCLUSIVE]),
            words(rows_) or "no rows",
            "App. D, Fig. 6"))
    return table(rows)


UNIT = ["model", "method", "bits", "layer_index", "layer"]


def representation_changes(representations: pd.DataFrame) -> pd.DataFrame:
    """Per (model, method, bits, layer, metric): the change from epoch 0 (compressed, not fine-tuned)
    to the last epoch (positive: closer to the original), as an estimate over seeds (one run: unbounded)."""
    keys = UNIT + (["seed"] if "seed" in representations else [])
    ordered = representations.sort_values("epoch")
    rows = []
    for key, group in ordered.groupby(keys, sort=True):
        for metric in ("snr_db", "cka"):
            rows.append({**dict(zip(keys, key)), "metric": metric,
                         "change": group[metric].iloc[-1] - group[metric].iloc[0]})
    frame = pd.DataFrame(rows, columns=[*keys, "metric", "change"])
    out = [{**dict(zip([*UNIT, "metric"], key)), "estimate": mean_estimate(group["change"]), "runs": len(group)}
           for key, group in frame.groupby([*UNIT, "metric"], sort=True)]
    return pd.DataFrame(out, columns=[*UNIT, "metric", "estimate", "runs"])


def _direction_claims(changes: pd.DataFrame, label, what: str, source: str) -> list[dict]:
    """'Pruning brings closer' and 'QAT moves away', one part per (unit, metric); ``label(row)`` names a unit."""
    runs = int(changes["runs"].min()) if len(changes) else 0
    spread = ("one run: no estimate of the spread between runs, so every change is inconclusive" if runs <= 1
              else f"95 % t intervals over {runs} seeds")

    def listing(frame) -> str:
        return ", ".join(f"{label(r)} {'SNR' if r['metric'] == 'snr_db' else 'CKA'} {r['estimate']}"
                         for _, r in frame.iterrows())

    prune, quant = changes[changes["method"] == "prune"], changes[changes["method"] == "quant"]
    rows = []
    parts = [exceeds(e) for e in prune["estimate"]]
    rows.append(claim(f"after pruning, fine-tuning brings {what} closer to the original (SNR and CKA rise)",
                      combine(parts or [INCONCLUSIVE]),
                      f"change from epoch 0 to the last ({spread}): {listing(prune) or 'no pruning runs'}", source))
    parts = [below(e) for e in quant["estimate"]]
    rows.append(claim(f"QAT moves {what} away from the original (SNR and CKA fall)",
                      combine(parts or [INCONCLUSIVE]),
                      f"change from epoch 0 to the last ({spread}): {listing(quant) or 'no QAT runs'}", source))
    return rows


def _agreement_parts(changes: pd.DataFrame) -> list[str]:
    """Per (model, method, bits, layer): SNR and CKA changes decided and of the same sign (yes),
    decided and opposite (no), else inconclusive."""
    parts = []
    for _, group in changes.groupby(UNIT):
        signs = [YES if exceeds(e) == YES else NO if below(e) == YES else INCONCLUSIVE for e in group["estimate"]]
        if INCONCLUSIVE in signs or len(signs) != 2:
            parts.append(INCONCLUSIVE)
        else:
            parts.append(verdict(signs[0] == signs[1]))
    return parts


def _prefix(changes: pd.DataFrame):
    """A unit's label starts with its model's name where several models are compared."""
    several = changes["model"].nunique() > 1
    return lambda row: f"{row['model']} " if several else ""


def compare_fig7(representations: pd.DataFrame) -> pd.DataFrame:
    """App. H/I, Fig. 7 (Fig. 8 of the later version): every layer's distance to the original during
    fine-tuning, pruning against QAT."""
    changes = representation_changes(representations)
    bits = ", ".join(str(b) for b in sorted(changes["bits"].unique()))
    prefix = _prefix(changes)
    rows = _direction_claims(changes, lambda r: f"{prefix(r)}{r['layer']}",
                             f"every layer's representation ({bits} bits)", "App. H/I, Fig. 7")
    parts = _agreement_parts(changes)
    rows.append(claim("the two distances (activation SNR and CKA) agree qualitatively",
                      combine(parts or [INCONCLUSIVE]),
                      f"per (method, layer), both changes of the same sign: {tally(parts)}",
                      "App. H/I"))
    return table(rows)


def compare_fig8(representations: pd.DataFrame) -> pd.DataFrame:
    """App. H/I, Fig. 8 (Fig. 9 of the later version): the last non-classifier layer, every bit width."""
    deepest = representations.groupby("model")["layer_index"].transform("max")
    last = representations[representations["layer_index"] == deepest]
    changes = representation_changes(last)
    prefix = _prefix(changes)
    layers = ", ".join(dict.fromkeys(last["layer"])) or "none"
    return table(_direction_claims(changes, lambda r: f"{prefix(r)}{r['bits']} bits",
                                   f"the last layer ({layers}) at every bit width", "App. H/I, Fig. 8"))
