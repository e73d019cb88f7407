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
    squared = x - x.mean()
    np.square(squared, out=squared)  # in place, and m4 as one sum of products: three passes, not six
    m2 = squared.mean()
    return float(np.einsum("i,i->", squared, squared) / squared.size / m2**2)  # einsum: no BLAS threads


def linear_cka(x, y) -> float:
    """Linear CKA (Kornblith et al. 2019) of representations x (N, p) and y (N, q) of the same N inputs.

    CKA = ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F), Xc, Yc centred per feature; computed from
    the N x N Gram matrices when features outnumber inputs. 1 for identical representations,
    invariant to orthogonal transforms and isotropic scaling.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    x = x - x.mean(axis=0)
    y = y - y.mean(axis=0)
    if max(x.shape[1], y.shape[1]) > x.shape[0]:
        k, l_ = x @ x.T, y @ y.T
        cross, norm_x, norm_y = np.sum(k * l_), np.linalg.norm(k), np.linalg.norm(l_)
    else:
        cross = np.linalg.norm(y.T @ x) ** 2
        norm_x, norm_y = np.linalg.norm(x.T @ x), np.linalg.norm(y.T @ y)
    if norm_x == 0 or norm_y == 0:
        return float("nan")
    return float(cross / (norm_x * norm_y))
