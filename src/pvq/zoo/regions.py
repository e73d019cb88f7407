"""Fig. 3 (right): for each bit width, where in kurtosis pruning is the likelier winner (a kernel density estimate).

For the tensors of one bit width, x = log10(plain kurtosis). With Gaussian kernels of one bandwidth h
(Scott's rule on all tensors' x: h = std(x) n^(-1/5)), the density of tensors where pruning has the
higher SNR, weighted by their count, is n_p f_p(x) = (1/h) sum_{i: prune wins} phi((x - x_i) / h), and
likewise for quantization. Pruning is preferable where n_p f_p > n_q f_q, i.e. where the probability
P(prune wins | x) = n_p f_p / (n_p f_p + n_q f_q) exceeds 1/2 (as the paper compares the two PDFs).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

POINTS = 200  # kurtosis grid points, log-spaced over the observed range


def prune_column(masked: bool) -> str:
    """The pruning SNR compared: idealised (mask free) or with its 1-bit-per-weight mask counted."""
    return "prune_snr_db_masked" if masked else "prune_snr_db"


def _comparable(zoo: pd.DataFrame, masked: bool) -> pd.DataFrame:
    prune = prune_column(masked)
    keep = (np.isfinite(zoo["kurtosis"]) & (zoo["kurtosis"] > 0)  # > 0: the log; real tensors have >= 1
            & np.isfinite(zoo["quant_snr_db"]) & np.isfinite(zoo[prune]))
    table = zoo.loc[keep, ["bits", "kurtosis", "quant_snr_db", prune]].copy()
    table["prune_wins"] = table[prune] > table["quant_snr_db"]
    table["x"] = np.log10(table["kurtosis"])
    return table


def bandwidth(x) -> float:
    """Scott's rule, std(x) n^(-1/5) (sample std; a tiny floor for a single or constant sample)."""
    x = np.asarray(x, dtype=np.float64)
    spread = np.std(x, ddof=1) if x.size > 1 else 0.0
    return float(max(spread, 1e-3) * max(x.size, 1) ** -0.2)


def pruning_win_probability(zoo: pd.DataFrame, masked: bool = False, points: int = POINTS) -> pd.DataFrame:
    """P(pruning has the higher SNR | kurtosis) on a log-spaced kurtosis grid, for every bit width.

    Columns: bits, kurtosis, p_prune, density_prune, density_quant (the count-weighted densities in
    log10 kurtosis, per tensor of that bit width). Tensors with a non-finite kurtosis or SNR are left out.
    """
    table = _comparable(zoo, masked)
    if table.empty:
        return pd.DataFrame(columns=["bits", "kurtosis", "p_prune", "density_prune", "density_quant"])
    grid = np.linspace(table["x"].min(), table["x"].max(), points)
    frames = []
    for bits, group in table.groupby("bits"):
        h = bandwidth(group["x"])
        log_kernel = (-0.5 * ((grid[:, None] - group["x"].to_numpy()[None, :]) / h) ** 2
                      - np.log(h * np.sqrt(2 * np.pi) * len(group)))
        wins = group["prune_wins"].to_numpy()
        log_prune = np.logaddexp.reduce(log_kernel[:, wins], axis=1) if wins.any() else np.full(points, -np.inf)
        log_quant = np.logaddexp.reduce(log_kernel[:, ~wins], axis=1) if (~wins).any() else np.full(points, -np.inf)
        frames.append(pd.DataFrame({
            "bits": int(bits), "kurtosis": 10.0**grid,
            "p_prune": np.exp(log_prune - np.logaddexp(log_prune, log_quant)),
            "density_prune": np.exp(log_prune), "density_quant": np.exp(log_quant)}))
    return pd.concat(frames, ignore_index=True)


def kurtosis_boundary(zoo: pd.DataFrame, masked: bool = False) -> pd.Series:
    """Per bit width, the kurtosis above which pruning is the likelier winner (P(prune wins) > 1/2).

    The start of the last run of the grid where the KDE favours pruning, interpolated (in log
    kurtosis) where the probability crosses 1/2; NaN where pruning is not favoured at the largest
    observed kurtosis; 1.0 (the least kurtosis any distribution has) where it is favoured over the
    whole observed range. ``masked`` compares pruning with its mask counted. Index: bits.
    """
    probability = pruning_win_probability(zoo, masked)
    boundary = {}
    for bits, group in probability.groupby("bits"):
        p, x = group["p_prune"].to_numpy(), np.log10(group["kurtosis"].to_numpy())
        favoured = p > 0.5
        if not favoured[-1]:
            boundary[int(bits)] = np.nan
            continue
        losing = np.flatnonzero(~favoured)
        if losing.size == 0:
            boundary[int(bits)] = 1.0
            continue
        i = losing[-1]  # p[i] <= 1/2 < p[i + 1]
        t = (0.5 - p[i]) / (p[i + 1] - p[i])
        boundary[int(bits)] = float(10.0 ** (x[i] + t * (x[i + 1] - x[i])))
    return pd.Series(boundary, name="kurtosis_boundary", dtype=float).rename_axis("bits")


def kurtosis_regions(zoo: pd.DataFrame, points: int = POINTS) -> pd.DataFrame:
    """Fig. 3 (right)'s summary: ``pruning_win_probability`` on its grid and ``kurtosis_boundary`` per
    bit width, with pruning idealised (``mask_counted`` False) and with its mask counted (True).

    Columns: mask_counted, bits, kurtosis, p_prune, density_prune, density_quant, kurtosis_boundary
    (the bit width's boundary on each of its rows; NaN where pruning is not favoured)."""
    frames = []
    for masked in (False, True):
        probability = pruning_win_probability(zoo, masked, points)
        boundary = kurtosis_boundary(zoo, masked)
        probability.insert(0, "mask_counted", masked)
        probability["kurtosis_boundary"] = probability["bits"].map(boundary).astype(float)
        frames.append(probability)
    return pd.concat(frames, ignore_index=True)
