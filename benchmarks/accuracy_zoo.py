"""Accuracy of the zoo sweep's scale search: fit_scales against the exact global optimum, per bit width.

For every tensor of at most --max-size values and bits 2..8, the gap 10 log10(error / optimum) in dB,
where the optimum is the exact event sweep (SortedWeights.exact_scales) over every scale that can beat
the grid's best: above the s where clipping alone costs more (clipping error falls as s grows), in
windows of at most --events events each. Prints the worst gap per bit width and where it occurs.
Issue #4's contract: under 0.01 dB everywhere.

    PYTHONPATH=src python benchmarks/accuracy_zoo.py [--models efficientnet_lite0 ...] [--max-size 65536]
"""

from __future__ import annotations

import argparse

import numpy as np

from pvq.models.registry import weight_tensors
from pvq.quantize import fit_scales, grid_limits
from pvq.sorted_weights import SortedWeights

BITS = list(range(2, 9))


def clipping_floor(weights: SortedWeights, bits: int, error: float) -> float:
    """The s below which the clipped values alone, sum over |w| > c s of (|w| - c s)^2, exceed ``error``."""
    lo, hi = grid_limits(bits)
    v = weights.values

    def clipped(s: float) -> float:
        return float(np.sum((v[v > hi * s] - hi * s) ** 2) + np.sum((v[v < lo * s] - lo * s) ** 2))

    low, high = 0.0, weights.max_abs / hi
    for _ in range(100):
        middle = 0.5 * (low + high)
        low, high = (middle, high) if clipped(middle) > error else (low, middle)
    return low


def windows(weights: SortedWeights, bits: int, s_low: float, events: float) -> list[tuple[float, float]]:
    """(s_low, 2 max|w|] cut, from the top, into windows of at most ``events`` code steps each."""
    lo, hi = grid_limits(bits)
    nonzero = weights.values[weights.values != 0]
    magnitude, reach = np.abs(nonzero), np.where(nonzero > 0, hi, -lo)

    def inside(a: float, b: float) -> float:
        return float(np.sum(np.maximum(np.minimum(reach, np.ceil(magnitude / a - 0.5))
                                       - np.maximum(0, np.ceil(magnitude / b - 0.5)), 0)))

    cuts, top = [], 2.0 * weights.max_abs
    while top > s_low:
        a, b = s_low, top
        if inside(s_low, top) > events:
            for _ in range(60):
                middle = 0.5 * (a + b)
                a, b = (middle, b) if inside(middle, top) > events else (a, middle)
        cuts.append((b if b < top else s_low, top))
        top = cuts[-1][0]
    return cuts


def optimum(weights: SortedWeights, bits: int, events: float) -> float:
    """The least squared error over all scales (exact event sweeps)."""
    lo, hi = grid_limits(bits)
    grid = weights.max_abs / 100 / hi * np.arange(1, 101)
    best = float(weights.quantization_stats(grid, lo, hi)[0].min())
    cuts = windows(weights, bits, 0.999 * clipping_floor(weights, bits, best), events)
    return min(float(weights.exact_scales([lo], [hi], [cut])[1][0]) for cut in cuts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+",
                        default=["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"])
    parser.add_argument("--max-size", type=int, default=65536, help="largest tensor checked (values)")
    parser.add_argument("--events", type=float, default=2e6, help="events per exact sweep (memory)")
    args = parser.parse_args()
    for model in args.models:
        worst = {b: (-np.inf, "") for b in BITS}
        tensors = {name: w for name, w in weight_tensors(model).items() if w.size <= args.max_size}
        for name, w in tensors.items():
            weights = SortedWeights(w)
            for fit in fit_scales(weights, BITS):
                gap = 10 * np.log10(fit.squared_error / optimum(weights, fit.bits, args.events))
                worst[fit.bits] = max(worst[fit.bits], (gap, f"{name} ({w.size})"))
        print(f"{model}, {len(tensors)} tensors <= {args.max_size} values: worst gap to the optimum (dB)")
        for b, (gap, where) in worst.items():
            print(f"  {b} bits: {gap:+.1e}  {where}")


if __name__ == "__main__":
    main()
