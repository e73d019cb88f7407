"""Table 1 / Table 5 from the per-run JSONs: one row per (model, bits), quantization next to pruning.

Columns: model, metric, fp, bits, quant, prune (test metric in %). Models named in the config as not
supported yet (detection, segmentation) get rows with empty values rather than disappearing.
"""

from __future__ import annotations

import pandas as pd

from pvq.finetune.artifacts import RUN, TABLE1

COLUMNS = list(TABLE1.columns)


def finetune_table(run_files, not_supported: dict | None = None, bits=None) -> pd.DataFrame:
    """Rows sorted by model (in input order) and bits falling (8 first, as the paper prints)."""
    records = [RUN.read(path) for path in run_files]
    rows: dict[tuple, dict] = {}
    for r in records:
        key = (r["model"], r["bits"])
        row = rows.setdefault(key, {"model": r["model"], "metric": r["metric_name"], "fp": r["fp_metric"],
                                    "bits": r["bits"], "quant": None, "prune": None})
        row[r["method"]] = r["metric"]
    order = list(dict.fromkeys(r["model"] for r in records))
    table = pd.DataFrame(list(rows.values()), columns=COLUMNS)
    for name, entry in (not_supported or {}).items():
        extra = pd.DataFrame([{"model": name, "metric": entry["metric"], "fp": None, "bits": b,
                               "quant": None, "prune": None} for b in sorted(bits or [], reverse=True)],
                             columns=COLUMNS)
        table = pd.concat([table, extra], ignore_index=True)
        order.append(name)
    table["rank"] = table["model"].map({m: i for i, m in enumerate(order)})
    table = table.sort_values(["rank", "bits"], ascending=[True, False]).drop(columns="rank")
    return table.astype({"fp": float, "quant": float, "prune": float}).reset_index(drop=True)
