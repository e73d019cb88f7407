"""The published side of every comparison: numbers the paper prints and the authors' released data."""

from __future__ import annotations

import json
from importlib import resources

import pandas as pd

DATA = resources.files("pvq") / "data"


def paper_table(name: str) -> pd.DataFrame:
    """A table of numbers typed from the paper, e.g. ``table1_finetune`` (see data/paper/README.md)."""
    with (DATA / "paper" / f"{name}.csv").open() as handle:
        return pd.read_csv(handle)


def published_zoo() -> pd.DataFrame:
    """The authors' released per-tensor results (45 models x bits 2..8), one row per (tensor, bits).

    Their ``sample_kurtosis`` is excess kurtosis; ``kurtosis`` here adds 3 to make it plain.
    """
    rows = []
    for path in sorted((DATA / "published" / "weights_sqnr").iterdir()):
        if not path.name.endswith("_bits_mse.json"):
            continue
        model, bits = path.name[: -len("_bits_mse.json")].rsplit("_", 1)
        for tensor, values in json.loads(path.read_text()).items():
            rows.append({"model": model, "tensor": tensor, "bits": int(bits), **values})
    frame = pd.DataFrame(rows)
    frame["kurtosis"] = frame["sample_kurtosis"] + 3.0
    return frame
