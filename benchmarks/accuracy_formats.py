"""How close the MSE scale search of pvq.methods is to the exact optimum on real weights.

For the specs whose scales are stored in a wide format (FP16: INT and FP grids per tensor, per
channel and per group), every tenth EfficientNet-Lite0 tensor (at most ``--units`` scaling units
each): the squared error of the default search (exact sweeps while cheap, scans beyond) against the
exact sweep over every unit's whole bracket, as a dB gap per tensor; prints the worst and the mean
per spec. (The exact sweep is what the default does for small tensors; on all of Lite0 it would
cost ~10^8 breakpoints per 8-bit spec.)

    PYTHONPATH=src python benchmarks/accuracy_formats.py [--units 256]
"""

from __future__ import annotations

import argparse

import numpy as np

from pvq.methods import FP64, Quantizer, Weights, parse
from pvq.methods import scales, search
from pvq.models.registry import weight_tensors

SPECS = [f"int{b}/{g}/mse" for b in (2, 4, 6, 8) for g in ("per-channel", "group32", "group128")]
SPECS += [f"{f}/{g}/mse" for f in ("fp8-e4m3", "fp6-e2m3", "fp4-e2m1") for g in ("per-tensor", "per-channel")]


def gap_db(method, w) -> float:
    """dB between the default search's error and the exact sweep's, both with float64 scales."""
    quantizer = Quantizer(method.grid, method.granularity, method.rule, FP64)
    units = Weights(w).units(method.granularity)
    live = units.rows(np.flatnonzero(units.amax > 0))
    reference = scales.max_scales(live, quantizer.grid, FP64, 1.0)
    error = search.errors(live.values, reference[:, None], quantizer.grid)[:, 0]
    high = np.minimum(search.zeroing_ceiling(live, quantizer.grid, error), 2.0 * live.amax / quantizer.grid.top)
    low = np.clip(search.clipping_floor(live, quantizer.grid, error), 1e-9 * high, high)
    todo = error > 0
    exact = error.copy()
    swept = search.sweep(live.rows(np.flatnonzero(todo)), quantizer.grid, low[todo], high[todo])[1]
    exact[todo] = np.minimum(swept, error[todo])  # the bracket excludes only scales no better than the max rule's
    _, stats = quantizer.apply(w)
    return float(10 * np.log10(stats.squared_error / max(exact.sum(), 1e-300)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=256, help="scaling units per tensor (the first ones)")
    args = parser.parse_args()
    tensors = list(weight_tensors("efficientnet_lite0").items())[::10]
    print(f"every tenth Lite0 tensor ({len(tensors)}), at most {args.units} units each; gap = default - exact (dB)")
    for spec in SPECS:
        method = parse(spec)
        gaps = []
        for _, w in tensors:
            units = Weights(w).units(method.granularity)
            rows = min(units.count, args.units)
            gaps.append(gap_db(method, units.values[:rows] if units.count > 1 else w))
        print(f"  {spec:28} worst {max(gaps):7.4f}  mean {np.mean(gaps):7.4f}")


if __name__ == "__main__":
    main()
