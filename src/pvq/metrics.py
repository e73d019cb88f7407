"""Error measures shared by every stage."""

from __future__ import annotations

import numpy as np


def snr_db(signal_power, noise_power):
    """SNR in dB, 10 log10(signal / noise); +inf for zero noise (an exact reconstruction)."""
    signal_power = np.asarray(signal_power, dtype=np.float64)
    noise_power = np.asarray(noise_power, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(signal_power / noise_power)


def kurtosis(x) -> float:
    """Plain (non-excess) sample kurtosis m4 / m2**2 of the flattened array, in float64."""
    x = np.asarray(x, dtype=np.float64).ravel()
    squared = np.square(x - x.mean())
    m2 = squared.mean()
    return float(np.mean(np.square(squared)) / m2**2)
