"""The zoo sweep's own per-tensor quantizer and pruner against the same methods as ``pvq.methods``
values, on every EfficientNet-Lite0 tensor at bits 2..8, one thread, in one run.

Zoo path: ``pvq.zoo.sweep.sweep_tensor`` (one sort, every bit width's scale search in one
``fit_scales`` call, errors from sorted prefix sums). Methods path: for each bit width
``int<b>/per-tensor/mse/scale-fp64`` and ``prune/u<c>/values-fp64`` at both of the zoo's sparsities
(1 - b/16 and the mask-paying one) applied to one shared ``pvq.methods.Weights``, plus the same
kurtosis; the specs are parsed once, outside the timing. Prints both times (best of --repeats), their
ratio (methods / zoo) and the largest SNR difference between the two.

    PYTHONPATH=src python benchmarks/bench_zoo_methods.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pvq.methods import Weights, parse
from pvq.metrics import kurtosis
from pvq.models.registry import weight_tensors
from pvq.prune import sparsity_for_bits
from pvq.zoo.sweep import masked_sparsity, sweep_tensor

BITS = list(range(2, 9))
BASELINE_BITS = 16
CANDIDATES = 100


def method_values(bits: list[int]) -> list[tuple]:
    """Per bit width: (bits, quantizer, pruner at 1 - b/16, pruner paying its mask)."""
    return [(b, parse(f"int{b}/per-tensor/mse/scale-fp64"),
             parse(f"prune/u{sparsity_for_bits(b, BASELINE_BITS)!r}/values-fp64"),
             parse(f"prune/u{masked_sparsity(b, BASELINE_BITS)!r}/values-fp64")) for b in bits]


def methods_rows(w: np.ndarray, methods: list[tuple]) -> list[dict]:
    """What ``sweep_tensor`` reports, through the method values."""
    weights = Weights(w)
    values = weights.sorted.values
    kurt = np.nan if values.size == 0 or values[0] == values[-1] else kurtosis(values)
    rows = []
    for bits, quantizer, pruner, masked in methods:
        _, quant = quantizer.apply(weights)
        rows.append({"kurtosis": kurt, "bits": bits, "quant_scale": float(quant.scales[0]),
                     "quant_snr_db": quant.snr_db, "natural_sparsity": quant.zeros / quant.numel,
                     "prune_snr_db": pruner.apply(weights)[1].snr_db,
                     "prune_snr_db_masked": masked.apply(weights)[1].snr_db})
    return rows


def timed(function, repeats: int) -> tuple[float, object]:
    best, result = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="efficientnet_lite0")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each path (best kept)")
    args = parser.parse_args()
    tensors = weight_tensors(args.model)
    methods = method_values(BITS)
    print(f"{args.model}: {len(tensors)} tensors, {sum(w.size for w in tensors.values())} weights, "
          f"bits {BITS[0]}..{BITS[-1]}, one thread")
    first = dict(list(tensors.items())[:3])  # warm-up (imports, caches)
    for w in first.values():
        sweep_tensor(w, BITS, BASELINE_BITS, CANDIDATES), methods_rows(w, methods)

    zoo_time, zoo = timed(lambda: {n: sweep_tensor(w, BITS, BASELINE_BITS, CANDIDATES) for n, w in tensors.items()},
                          args.repeats)
    methods_time, via = timed(lambda: {n: methods_rows(w, methods) for n, w in tensors.items()}, args.repeats)

    columns = ("quant_snr_db", "prune_snr_db", "prune_snr_db_masked")
    gaps = {c: max(abs(a[c] - b[c]) for n in tensors for a, b in zip(zoo[n], via[n])) for c in columns}
    scales = sum(a["quant_scale"] != b["quant_scale"] for n in tensors for a, b in zip(zoo[n], via[n]))
    print(f"zoo path (sweep_tensor):   {zoo_time:.3f} s (best of {args.repeats})")
    print(f"methods path (pvq.methods): {methods_time:.3f} s (best of {args.repeats})")
    print(f"ratio methods / zoo:       {methods_time / zoo_time:.2f}x")
    print("largest |SNR difference| (dB): " + ", ".join(f"{c} {g:.1e}" for c, g in gaps.items())
          + f"; scales that differ: {scales}")


if __name__ == "__main__":
    main()
