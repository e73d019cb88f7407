"""What applying a method to one tensor gives besides the compressed tensor: its exact storage and
its error, from which bits per weight and SNR follow."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pvq.metrics import snr_db


@dataclass(frozen=True)
class Stats:
    """``storage_bits``: every bit the stored tensor needs (values, scales, masks or metadata);
    ``squared_error`` = sum (w - w_hat)^2 and ``energy`` = sum w^2 in float64; ``zeros``: entries of
    w_hat that are exactly zero; ``kept``: weights whose values are stored; ``scales``: the effective
    scale of each scaling unit, if any (not compared)."""

    numel: int
    storage_bits: float
    squared_error: float
    energy: float
    zeros: int
    kept: int
    scales: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def bits_per_weight(self) -> float:
        return self.storage_bits / self.numel if self.numel else float("nan")

    @property
    def snr_db(self) -> float:
        """10 log10(energy / squared_error): +inf for an exact reconstruction, NaN for 0 / 0."""
        with np.errstate(invalid="ignore"):
            return float(snr_db(self.energy, self.squared_error))
