"""Summaries that several figures draw from the same long tables: the spread over seeds."""

from __future__ import annotations

# Representation distances (App. H/I) and their axis labels.
REPRESENTATION_METRICS = (("snr_db", "activation SNR to original (dB)"), ("cka", "linear CKA to original"))


def over_seeds(table, keys, columns=("snr_db", "cka")):
    """Mean, min and max of ``columns`` over the seeds of each ``keys`` group (columns (name, stat))."""
    return table.groupby(list(keys), sort=False)[list(columns)].agg(["mean", "min", "max"]).reset_index()
