"""Model-level points of every method and the Pareto fronts of bits per weight against SNR.

A model's point for a method: bits per weight = sum_t n_t b_t / sum_t n_t (its total storage over
its weights) and SNR = -10 log10(sum_t n_t NSR_t / sum_t n_t), NSR_t = 10^(-SNR_t / 10): the
size-weighted mean noise-to-signal ratio of its tensors (an exact reconstruction, +inf dB, counts
0; a tensor of zeros, 0/0, too). A point is on a front when no other point of the same set has at
most its bits and at least its SNR, one of them strictly: the set is the model's methods of one
family (``front_family``) or all of them (``front_all``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pvq.formats.artifacts import FORMATS_PARETO

COLUMNS = list(FORMATS_PARETO.columns)


def model_points(formats: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, spec), in the order they first appear."""
    nsr = np.power(10.0, -formats["snr_db"].to_numpy(dtype=float) / 10.0)
    frame = formats.assign(nsr=np.nan_to_num(nsr, nan=0.0),
                           storage=formats["bits_per_weight"] * formats["numel"])
    grouped = frame.groupby(["model", "spec"], sort=False)
    numel = grouped["numel"].sum()
    weighted_nsr = (frame["nsr"] * frame["numel"]).groupby([frame["model"], frame["spec"]], sort=False).sum() / numel
    with np.errstate(divide="ignore"):
        snr = -10.0 * np.log10(weighted_nsr)
    points = pd.DataFrame({
        "family": grouped["family"].first(),
        "tensors": grouped["tensor"].count(),
        "bits_per_weight": grouped["storage"].sum() / numel,
        "snr_db": snr,
    }).reset_index()
    return points


def on_front(bits: np.ndarray, snr: np.ndarray) -> np.ndarray:
    """Whether each point is undominated: no other has bits <= and snr >=, one strictly."""
    bits, snr = np.asarray(bits, float), np.asarray(snr, float)
    no_more_bits = bits[None, :] <= bits[:, None]
    no_less_snr = snr[None, :] >= snr[:, None]
    strictly = (bits[None, :] < bits[:, None]) | (snr[None, :] > snr[:, None])
    return ~np.any(no_more_bits & no_less_snr & strictly, axis=1)


def pareto_table(formats: pd.DataFrame) -> pd.DataFrame:
    points = model_points(formats)
    points["front_family"] = False
    points["front_all"] = False
    for _, rows in points.groupby("model", sort=False):
        points.loc[rows.index, "front_all"] = on_front(rows["bits_per_weight"], rows["snr_db"])
        for _, family in rows.groupby("family", sort=False):
            points.loc[family.index, "front_family"] = on_front(family["bits_per_weight"], family["snr_db"])
    return points[COLUMNS]
