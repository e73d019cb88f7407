"""Table 1 / Table 5 from the per-cell JSONs: one row per (model, metric, bits), quantization next to
pruning, with the uncertainty over seeds.

Columns: model, metric, fp, bits, quant, prune (means over seeds of the test metric; % for all but
perplexity), quant_lo, quant_hi, prune_lo, prune_hi (95 % Student-t intervals), seeds (paired seeds)
and winner (``quant``, ``prune`` or ``inconclusive``: the 95 % interval of the per-seed difference
quant - prune must exclude zero; pvq.stats, in the metric's direction: for perplexity the lower mean
wins, pvq.finetune.directions). A model reports every metric its task lists (EfficientNet-Lite0 offline: ``agree``,
top-1 agreement with the uncompressed model, and ``acc`` on the photos whose class is known; the
paper tier's deeplabv3 ``miou``, efficientdet ``map`` and opt_350m ``ppl``). Models named in the
config's ``not_supported`` (none in any shipped config) get rows with empty values rather than
disappearing (no seeds, no winner).
"""

from __future__ import annotations

import pandas as pd

from pvq.finetune.artifacts import RUN, TABLE1
from pvq.finetune.directions import higher_is_better
from pvq.stats import mean_interval, winner

COLUMNS = list(TABLE1.columns)


def _per_seed(record: dict, metric: str) -> dict[int, float]:
    return {run["seed"]: run["metrics"][metric] for run in record["runs"]}


def cell_row(model: str, metric: str, fp: float, bits: int, quant: dict[int, float], prune: dict[int, float]) -> dict:
    """One table row from the per-seed values of both methods (paired on the seeds both have)."""
    seeds = sorted(set(quant) & set(prune))
    q, p = mean_interval(list(quant.values())), mean_interval(list(prune.values()))
    verdict = winner([quant[s] for s in seeds], [prune[s] for s in seeds], higher_is_better(metric)) \
        if seeds else "inconclusive"
    return {"model": model, "metric": metric, "fp": fp, "bits": bits, "quant": q.mean, "prune": p.mean,
            "quant_lo": q.lo, "quant_hi": q.hi, "prune_lo": p.lo, "prune_hi": p.hi, "seeds": len(seeds),
            "winner": verdict}


def finetune_table(run_files, not_supported: dict | None = None, bits=None) -> pd.DataFrame:
    """Rows sorted by model (in input order), metric (the task's order) and bits falling (8 first)."""
    records = [RUN.read(path) for path in run_files]
    cells: dict[tuple, dict] = {}
    for r in records:
        cells.setdefault((r["model"], r["bits"]), {})[r["method"]] = r
    rows = []
    for (model, b), methods in cells.items():
        if set(methods) != {"quant", "prune"}:
            raise ValueError(f"{model} at {b} bits: runs for {sorted(methods)} only; the table pairs quant with prune")
        quant, prune = methods["quant"], methods["prune"]
        for metric in quant["table_metrics"]:
            rows.append(cell_row(model, metric, quant["fp_metrics"][metric], b,
                                 _per_seed(quant, metric), _per_seed(prune, metric)))
    order = list(dict.fromkeys(r["model"] for r in records))
    metric_order = {m: i for r in records for i, m in enumerate(r["table_metrics"])}
    table = pd.DataFrame(rows, columns=COLUMNS)
    for name, entry in (not_supported or {}).items():
        extra = pd.DataFrame([{"model": name, "metric": entry["metric"], "bits": b, "seeds": 0}
                              for b in sorted(bits or [], reverse=True)],
                             columns=COLUMNS)
        table = pd.concat([table, extra], ignore_index=True) if len(table) else extra
        order.append(name)
    table["rank"] = table["model"].map({m: i for i, m in enumerate(order)})
    table["metric_rank"] = table["metric"].map(metric_order).fillna(0)
    table = table.sort_values(["rank", "metric_rank", "bits"], ascending=[True, True, False])
    table = table.drop(columns=["rank", "metric_rank"]).reset_index(drop=True)
    floats = ["fp", "quant", "prune", "quant_lo", "quant_hi", "prune_lo", "prune_hi"]
    return table.astype({**{c: float for c in floats}, "bits": int, "seeds": int})
