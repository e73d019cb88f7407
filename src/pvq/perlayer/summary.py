"""Per-chunk brackets of each method's best achievable SNR, from the per-channel rows (no solvers).

A chunk's SNR sums over its solved output channels: 10 log10(sum ||X w0||^2 / sum error). The
pruning bracket runs from magnitude + refit to the optimum (its certified lower bound where the
search hit its limit); the quantization bracket from the Park & Boyd heuristic to the exact
optimum where the sphere decoder finished, else to the tighter of the SDP bound and the stopped
decoder's bound. A box entirely above the
diagonal (quantization heuristic beats the best possible pruning) is a certain win for
quantization; entirely below, for pruning. Each box also carries the chunk SNRs of today's one-shot
methods (GPTQ; OBS, Wanda, Wanda + refit), which Fig. 4 marks, and :func:`table6` measures every
method's gap to the certified optimum per problem. The same for today's formats (the formats
stage's long rows): :func:`format_boxes` (Fig. 13, with the same marks) and :func:`table6_formats`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

KEYS = ["model", "layer", "chunk", "bits"]
# Chunk SNRs of the one-shot methods that Fig. 4 marks in each box: mark column -> per-row SNR column.
MARKS = {"quant_gptq_db": "quant_gptq_snr_db", "prune_obs_db": "prune_obs_snr_db",
         "prune_wanda_db": "prune_wanda_snr_db", "prune_wanda_refit_db": "prune_wanda_refit_snr_db"}


def error_from_snr(rows: pd.DataFrame, column: str) -> np.ndarray:
    """Errors ||X (w - w0)||^2 back from an SNR column (dB) and the rows' signal energy: inf dB gives 0."""
    return rows["signal_energy"].to_numpy() / 10 ** (rows[column].to_numpy() / 10)


def chunk_boxes(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, layer, chunk, bits): prune_low/high_db, quant_low/high_db, whether every
    channel's pruning optimum and quantization exact solve were certified, the winner, and the chunk
    SNRs of the one-shot methods (MARKS)."""
    rows = rows.copy()
    exact = rows["quant_status"] == "optimal"
    bound = np.maximum(error_from_snr(rows, "quant_sdp_bound_snr_db"), error_from_snr(rows, "quant_exact_bound_snr_db"))
    rows["quant_best_error"] = np.where(exact, error_from_snr(rows, "quant_exact_snr_db"), np.maximum(bound, 0.0))
    rows["prune_best_error"] = np.where(rows["prune_status"] == "optimal", error_from_snr(rows, "prune_opt_snr_db"),
                                        error_from_snr(rows, "prune_bound_snr_db"))
    rows["quant_heuristic_error"] = error_from_snr(rows, "quant_heuristic_snr_db")
    rows["prune_heuristic_error"] = error_from_snr(rows, "prune_refit_snr_db")
    rows["prune_certified"] = rows["prune_status"] == "optimal"
    rows["quant_exact"] = exact
    rows["quant_bound_ok"] = rows["quant_sdp_status"] != "failed"
    for mark, column in MARKS.items():
        rows[mark] = error_from_snr(rows, column)
    grouped = rows.groupby(KEYS, sort=True)
    boxes = grouped.agg(n=("n", "max"), channels=("out_channel", "nunique"),
                        sparsity=("sparsity", "first"), signal=("signal_energy", "sum"),
                        quant_heuristic=("quant_heuristic_error", "sum"), quant_best=("quant_best_error", "sum"),
                        prune_heuristic=("prune_heuristic_error", "sum"), prune_best=("prune_best_error", "sum"),
                        prune_certified=("prune_certified", "all"), quant_exact=("quant_exact", "all"),
                        quant_bound_ok=("quant_bound_ok", "all"),
                        **{mark: (mark, "sum") for mark in MARKS}).reset_index()
    with np.errstate(divide="ignore"):
        for method in ("quant", "prune"):
            boxes[f"{method}_low_db"] = 10 * np.log10(boxes["signal"] / boxes[f"{method}_heuristic"])
            boxes[f"{method}_high_db"] = 10 * np.log10(boxes["signal"] / boxes[f"{method}_best"])
        for mark in MARKS:
            boxes[mark] = 10 * np.log10(boxes["signal"] / boxes[mark])
    boxes["winner"] = np.select([boxes["quant_low_db"] > boxes["prune_high_db"],
                                 boxes["prune_low_db"] > boxes["quant_high_db"]],
                                ["quant", "prune"], "undecided")
    boxes = boxes.drop(columns=["signal", "quant_heuristic", "quant_best", "prune_heuristic", "prune_best"])
    return boxes[[c for c in boxes if c not in MARKS] + list(MARKS)]


def table3(rows: pd.DataFrame) -> pd.DataFrame:
    """Per (model, layer, bits): sub-problem dimension, chunks, % of chunks each method wins for
    certain, and % of chunks whose pruning optimum / quantization optimum is certified."""
    boxes = chunk_boxes(rows)
    out = boxes.groupby(["model", "layer", "bits"], sort=False).agg(
        dim=("n", "max"), chunks=("chunk", "nunique"), sparsity_pct=("sparsity", lambda s: 100 * s.iloc[0]),
        quant_wins_pct=("winner", lambda w: 100 * np.mean(w == "quant")),
        prune_wins_pct=("winner", lambda w: 100 * np.mean(w == "prune")),
        undecided_pct=("winner", lambda w: 100 * np.mean(w == "undecided")),
        prune_certified_pct=("prune_certified", lambda c: 100 * np.mean(c)),
        quant_exact_pct=("quant_exact", lambda c: 100 * np.mean(c))).reset_index()
    return out


# Table 6: (method, problem, its per-row SNR column). park_boyd and magnitude_refit are the paper's
# heuristics; obs_gptq solves the joint problem (the row's keep weights on its b-bit grid).
METHODS = [("park_boyd", "quantization", "quant_heuristic_snr_db"), ("gptq", "quantization", "quant_gptq_snr_db"),
           ("magnitude_refit", "pruning", "prune_refit_snr_db"), ("obs", "pruning", "prune_obs_snr_db"),
           ("wanda", "pruning", "prune_wanda_snr_db"), ("wanda_refit", "pruning", "prune_wanda_refit_snr_db"),
           ("obs_gptq", "joint", "joint_obs_gptq_snr_db")]
# Per problem: (reference SNR column, when it is certified, what it is). The joint problem's optimum is
# out of reach at n = 32: its reference is a certified bound, so its gaps are upper bounds on the gap.
REFERENCES = {"quantization": ("quant_exact_snr_db", lambda rows: rows["quant_status"] == "optimal", "optimum"),
              "pruning": ("prune_opt_snr_db", lambda rows: rows["prune_status"] == "optimal", "optimum"),
              "joint": ("joint_bound_snr_db", lambda rows: rows["joint_bound_snr_db"].notna(), "lower bound")}
# The verdict each method gives (quantization method, pruning method) against the paper's heuristics'.
PAPER_PAIR = ("park_boyd", "magnitude_refit")
PAIRS = {"gptq": ("gptq", "magnitude_refit"), "obs": ("gptq", "obs"), "wanda": ("gptq", "wanda"),
         "wanda_refit": ("gptq", "wanda_refit")}


def gap_db(reference: pd.Series, method: pd.Series) -> np.ndarray:
    """reference - method SNR (dB); 0 where both are exact (+inf), +inf where only the reference is."""
    reference, method = reference.to_numpy(float), method.to_numpy(float)
    with np.errstate(invalid="ignore"):
        return np.where(np.isposinf(reference) & np.isposinf(method), 0.0, reference - method)


def gap_summary(gaps: np.ndarray) -> dict:
    """Median and worst (largest) of the gaps in dB; NaN where there are none."""
    return {"median_gap_db": float(np.median(gaps)) if gaps.size else np.nan,
            "worst_gap_db": float(np.max(gaps)) if gaps.size else np.nan}


def verdicts(rows: pd.DataFrame, keys: list[str], quant_snr: str, prune_snr: str) -> pd.Series:
    """Per group of ``keys`` (a chunk): 'quant', 'prune' or 'tie' by the chunk SNRs (errors summed over
    its output channels) in the per-row SNR columns ``quant_snr`` and ``prune_snr``."""
    errors = rows[keys].assign(quant=error_from_snr(rows, quant_snr), prune=error_from_snr(rows, prune_snr))
    chunks = errors.groupby(keys, sort=True)[["quant", "prune"]].sum()
    return pd.Series(np.select([chunks["quant"] < chunks["prune"], chunks["prune"] < chunks["quant"]],
                               ["quant", "prune"], "tie"), index=chunks.index)


def chunk_verdicts(rows: pd.DataFrame, quant: str, prune: str) -> pd.Series:
    """Per (model, layer, chunk, bits): :func:`verdicts` of quantization method ``quant`` against
    pruning method ``prune`` (names in METHODS)."""
    column = {name: snr for name, _, snr in METHODS}
    return verdicts(rows, KEYS, column[quant], column[prune])


def table6(rows: pd.DataFrame) -> pd.DataFrame:
    """Per (bits, method): how many problems (chunk, output channel) have a certified reference, the
    median and worst gap (dB) to it over those, and the share of chunks whose verdict (quantization
    or pruning better, by chunk SNR) differs from the paper heuristics' when the method's pair
    (PAIRS) replaces them."""
    out = []
    for bits, group in rows.groupby("bits", sort=True):
        paper = chunk_verdicts(group, *PAPER_PAIR)
        for method, problem, column in METHODS:
            reference, certified, kind = REFERENCES[problem]
            mask = certified(group).to_numpy(bool)
            gaps = gap_db(group[reference], group[column])[mask]
            changed = np.nan
            if method in PAIRS:
                changed = 100 * float(np.mean(chunk_verdicts(group, *PAIRS[method]) != paper))
            out.append({"bits": int(bits), "method": method, "problem": problem, "reference": kind,
                        "certified": int(mask.sum()), "problems": len(group), **gap_summary(gaps),
                        "chunks": len(paper), "verdict_changed_pct": changed})
    return pd.DataFrame(out)


# Fig. 13's marks: one-shot solver of the formats stage -> its mark column (as Fig. 4's MARKS).
FORMAT_MARKS = {"gptq": "quant_gptq_db", "obs": "prune_obs_db", "wanda": "prune_wanda_db",
                "wanda_refit": "prune_wanda_refit_db"}


def _format_chunks(formats: pd.DataFrame) -> pd.DataFrame:
    """Per (model, layer, chunk, spec): low_db (heuristic) and high_db (certified optimum, or its
    bound where a solve stopped) chunk SNRs, whether every optimum is certified, bits per weight, and
    the chunk SNR of each one-shot solver the spec has (FORMAT_MARKS; NaN for the other family's).
    Chunks where the spec could not run (split N:M groups) are left out."""
    rows = formats[formats["status"] != "split_groups"]
    keys = ["model", "layer", "chunk", "spec"]
    by_solver = {solver: group.set_index([*keys, "out_channel"]) for solver, group in rows.groupby("solver")}
    heuristic = by_solver["heuristic"]
    optimum = by_solver["optimum"].loc[heuristic.index]
    certified = optimum["status"] == "optimal"
    frame = pd.DataFrame({
        "signal": heuristic["signal_energy"], "low": error_from_snr(heuristic, "snr_db"),
        "high": np.where(certified, error_from_snr(optimum, "snr_db"), error_from_snr(optimum, "bound_snr_db")),
        "certified": certified, "bits_per_weight": heuristic["bits_per_weight"]}, index=heuristic.index)
    for solver, mark in FORMAT_MARKS.items():
        mine = by_solver.get(solver, heuristic.iloc[:0])
        frame[mark] = pd.Series(error_from_snr(mine, "snr_db"), index=mine.index).reindex(heuristic.index)
    grouped = frame.groupby(keys, sort=True)
    chunks = grouped.agg(signal=("signal", "sum"), low=("low", "sum"), high=("high", "sum"),
                         certified=("certified", "all"), bits_per_weight=("bits_per_weight", "first"))
    for mark in FORMAT_MARKS.values():
        chunks[mark] = grouped[mark].sum(min_count=1)  # NaN where the spec has no such solver
    chunks = chunks.reset_index()
    with np.errstate(divide="ignore"):
        chunks["low_db"] = 10 * np.log10(chunks["signal"] / chunks["low"])
        chunks["high_db"] = 10 * np.log10(chunks["signal"] / chunks["high"])
        for mark in FORMAT_MARKS.values():
            chunks[mark] = 10 * np.log10(chunks["signal"] / chunks[mark])
    return chunks


def optima_winner(boxes: pd.DataFrame) -> np.ndarray:
    """Which side's optimum has the higher SNR, for certain. A side's optimum lies in [low, high]:
    low is a solution's SNR, high the certified optimum where certified, else an upper bound on it.
    'quant' / 'prune' where one side's optimum is known to be above the other's (its low end above
    the other's high end, or its certified optimum above the other's high end), 'tie' where both are
    certified and equal, else 'uncertified'."""
    quant_low, quant, prune_low, prune = (boxes[c] for c in ("quant_low_db", "quant_high_db", "prune_low_db",
                                                             "prune_high_db"))
    quant_ok, prune_ok = boxes["quant_exact"].astype(bool), boxes["prune_certified"].astype(bool)
    quant_best = np.where(quant_ok, quant, quant_low)  # the best SNR a known solution reaches
    prune_best = np.where(prune_ok, prune, prune_low)
    return np.select([quant_best > prune, prune_best > quant, quant_ok & prune_ok & (quant == prune)],
                     ["quant", "prune", "tie"], "uncertified")


def format_boxes(rows: pd.DataFrame, formats: pd.DataFrame) -> pd.DataFrame:
    """Fig. 13's boxes: per chunk and bit width b of a per-channel spec in ``formats``, every pairing
    of a pruning spec (the paper's unstructured sparsity 1 - b/16 from ``rows``, each N:M spec of
    ``formats``) with a quantization spec (the paper's per-tensor box from ``rows``, the per-channel
    spec). Storage of each spec is pvq.methods' exact bits per weight on the layer's tensor."""
    from pvq.methods import Int, PerTensor, Pruner, Quantizer, Unstructured, parse

    paper = chunk_boxes(rows)
    specs = _format_chunks(formats)
    marks = list(FORMAT_MARKS.values())
    shapes = formats.groupby(["model", "layer"])[["tensor_rows", "tensor_cols"]].first()
    sides = []  # (model, layer, chunk, bits, family, spec, bpw, low, high, certified, marks)
    for (model, layer), shape in shapes.iterrows():
        shape = (int(shape["tensor_rows"]), int(shape["tensor_cols"]))
        mine = specs[(specs["model"] == model) & (specs["layer"] == layer)]
        boxes = paper[(paper["model"] == model) & (paper["layer"] == layer)]
        quant_bits = sorted({parse(s).bits for s in mine["spec"] if parse(s).family == "quant"})
        for bits in quant_bits:
            for _, box in boxes[boxes["bits"] == bits].iterrows():
                base = {"model": model, "layer": layer, "chunk": box["chunk"], "bits": bits}
                unstructured = Pruner(Unstructured(round(float(box["sparsity"]), 6)))
                per_tensor = Quantizer(Int(bits), PerTensor())
                sides.append({**base, "family": "prune", "spec": unstructured.spec,
                              "bpw": unstructured.bits_per_weight(shape), "low": box["prune_low_db"],
                              "high": box["prune_high_db"], "certified": box["prune_certified"],
                              **{mark: box[mark] for mark in marks}})
                sides.append({**base, "family": "quant", "spec": per_tensor.spec, "bpw": per_tensor.bits_per_weight(shape),
                              "low": box["quant_low_db"], "high": box["quant_high_db"], "certified": box["quant_exact"],
                              **{mark: box[mark] for mark in marks}})
                for _, row in mine[mine["chunk"] == box["chunk"]].iterrows():
                    method = parse(row["spec"])
                    if method.family == "prune" or method.bits == bits:
                        sides.append({**base, "family": method.family, "spec": row["spec"],
                                      "bpw": row["bits_per_weight"], "low": row["low_db"], "high": row["high_db"],
                                      "certified": row["certified"], **{mark: row[mark] for mark in marks}})
    sides = pd.DataFrame(sides)
    keys = ["model", "layer", "chunk", "bits"]
    pairs = sides[sides["family"] == "prune"].merge(sides[sides["family"] == "quant"], on=keys,
                                                     suffixes=("_p", "_q"))
    out = pd.DataFrame({
        **{key: pairs[key] for key in keys}, "prune_spec": pairs["spec_p"], "quant_spec": pairs["spec_q"],
        "prune_bits_per_weight": pairs["bpw_p"], "quant_bits_per_weight": pairs["bpw_q"],
        "prune_low_db": pairs["low_p"], "prune_high_db": pairs["high_p"], "prune_certified": pairs["certified_p"],
        "quant_low_db": pairs["low_q"], "quant_high_db": pairs["high_q"], "quant_exact": pairs["certified_q"]})
    out["winner"] = np.select([out["quant_low_db"] > out["prune_high_db"], out["prune_low_db"] > out["quant_high_db"]],
                              ["quant", "prune"], "undecided")
    out["optima_winner"] = optima_winner(out)
    for mark in marks:  # each mark from its own side of the pairing
        out[mark] = pairs[mark + ("_q" if mark.startswith("quant") else "_p")]
    return out.sort_values(["model", "layer", "chunk", "bits", "prune_spec", "quant_spec"]).reset_index(drop=True)


# Table 6 on today's formats: the (per-channel INT solver, N:M solver) pair whose N:M-vs-per-channel
# verdict each method's row compares with the heuristics' (heuristic, heuristic).
FORMAT_PAIRS = {"rtn": ("rtn", "heuristic"), "gptq": ("gptq", "heuristic"), "obs": ("gptq", "obs"),
                "wanda": ("gptq", "wanda"), "wanda_refit": ("gptq", "wanda_refit")}
_PROBLEM = ["model", "layer", "chunk", "out_channel"]


def format_pairings(formats: pd.DataFrame) -> pd.DataFrame:
    """One row per problem (chunk, output channel) and pairing of a pruning spec with a quantization
    spec that both ran on it: signal_energy and every solver's SNR as prune_<solver> / quant_<solver>."""
    solved = formats[formats["status"] != "split_groups"]
    sides = []
    for family in ("prune", "quant"):
        mine = solved[solved["family"] == family]
        wide = mine.set_index([*_PROBLEM, "spec", "solver"])["snr_db"].unstack("solver").add_prefix(f"{family}_")
        wide = wide.join(mine.groupby([*_PROBLEM, "spec"])["signal_energy"].first())
        sides.append(wide.reset_index().rename(columns={"spec": f"{family}_spec"}))
    prune, quant = sides
    return prune.merge(quant.drop(columns="signal_energy"), on=_PROBLEM)


def table6_formats(formats: pd.DataFrame) -> pd.DataFrame:
    """Per (spec, method) of the formats stage: problems whose optimum is certified, the median and
    worst gap (dB) to it over those (:func:`gap_summary`), problems the spec could not run (split),
    and the share of chunk pairings (the spec with each spec of the other family) whose verdict
    (N:M or per-channel INT better, by chunk SNR) changes when the method's pair (FORMAT_PAIRS)
    replaces the heuristics'."""
    keys = [*_PROBLEM, "spec"]
    optimum = formats[formats["solver"] == "optimum"].set_index(keys)
    pairings = format_pairings(formats)
    chunk = ["model", "layer", "chunk", "prune_spec", "quant_spec"]
    out = []
    for spec, rows in formats[formats["solver"] != "optimum"].groupby("spec", sort=True):
        family = rows["family"].iloc[0]
        mine = pairings[pairings[f"{family}_spec"] == spec]
        baseline = verdicts(mine, chunk, "quant_heuristic", "prune_heuristic") if len(mine) else None
        present = set(rows["solver"])
        for method in [m for m in ("heuristic", *FORMAT_PAIRS) if m in present]:
            ran = rows[(rows["solver"] == method) & (rows["status"] != "split_groups")].set_index(keys)
            reference = optimum.loc[ran.index]
            gaps = gap_db(reference["snr_db"], ran["snr_db"])[(reference["status"] == "optimal").to_numpy()]
            changed = np.nan
            if method in FORMAT_PAIRS and baseline is not None:
                quant, prune = FORMAT_PAIRS[method]
                changed = 100 * float(np.mean(verdicts(mine, chunk, f"quant_{quant}", f"prune_{prune}") != baseline))
            out.append({"spec": spec, "family": family, "method": method,
                        "certified": int((reference["status"] == "optimal").sum()), "problems": len(ran),
                        "split": int((rows["solver"] == method).sum()) - len(ran), **gap_summary(gaps),
                        "pairings": 0 if baseline is None else len(baseline), "verdict_changed_pct": changed})
    return pd.DataFrame(out)
