"""The house style every figure shares, so panels from different stages sit together in a paper."""

from __future__ import annotations

import matplotlib
import numpy as np

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

QUANT = "#1f5fa8"
PRUNE = "#c8402f"
NEUTRAL = "#7f7f7f"
METHOD_COLORS = {"quant": QUANT, "prune": PRUNE}
METHOD_LABELS = {"quant": "quantization", "prune": "pruning"}

WIDTH_FULL = 7.0  # inches: a two-column paper's text width
PANEL_HEIGHT = 2.4

plt.rcParams.update({
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "legend.fontsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.5,
    "lines.linewidth": 1.3,
    "savefig.dpi": 200,
    "pdf.fonttype": 42,
})


def panels(n: int, width: float = WIDTH_FULL, height: float = PANEL_HEIGHT, **kwargs):
    """A row of n panels sized for a paper's text width."""
    return plt.subplots(1, n, figsize=(width, height), constrained_layout=True, **kwargs)


def bits_colors(bits) -> dict[int, tuple]:
    """One colour per bit width, dark (few bits) to light (many bits)."""
    bits = sorted(set(int(b) for b in bits))
    cmap = plt.get_cmap("viridis")
    span = max(len(bits) - 1, 1)
    return {b: cmap(0.9 * i / span) for i, b in enumerate(bits)}


def cell_edges(centres):
    """Cell edges halfway between sorted centres (extended by half a step at the ends), for pcolormesh."""
    centres = np.asarray(centres, float)
    if centres.size == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    mid = 0.5 * (centres[1:] + centres[:-1])
    return np.concatenate(([2 * centres[0] - mid[0]], mid, [2 * centres[-1] - mid[-1]]))
