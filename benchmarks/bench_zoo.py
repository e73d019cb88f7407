"""Speed of the zoo sweep: EfficientNet-Lite0, every conv/linear tensor x bits 2..8 (scale search + pruning).

Prints the fast sweep's time and tensors/s, the straightforward reference's (pvq.zoo.reference: a
100-candidate grid evaluated per candidate in float32 torch) measured in the same run, their ratio,
and the least SNR difference (ours - reference, both evaluated in float64) over all tensors and bits.
Targets (issue #4): under 1.5 s on 2 cores, at least 20x the reference, never below its SNR.

    PYTHONPATH=src python benchmarks/bench_zoo.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from pvq.metrics import snr_db
from pvq.models.registry import weight_tensors
from pvq.quantize import quantize_symmetric
from pvq.zoo import reference
from pvq.zoo.sweep import sweep_model

BITS = list(range(2, 9))


def snr64(w: np.ndarray, scale: float, bits: int) -> float:
    w = w.astype(np.float64).ravel()
    return float(snr_db(np.sum(w * w), np.sum((w - quantize_symmetric(w, scale, bits)) ** 2)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="efficientnet_lite0")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of the fast sweep (best kept)")
    parser.add_argument("--workers", type=int, default=2, help="threads of the fast sweep (2 cores)")
    args = parser.parse_args()
    tensors = weight_tensors(args.model)
    n_weights = sum(w.size for w in tensors.values())
    print(f"{args.model}: {len(tensors)} tensors, {n_weights} weights, bits {BITS[0]}..{BITS[-1]}; "
          f"fast sweep threads {args.workers}, reference torch threads {torch.get_num_threads()}")

    sweep_model(args.model, dict(list(tensors.items())[:3]), BITS, 16, 100)  # warm-up (imports, caches)
    times, cpu = [], []
    for _ in range(args.repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        ours = sweep_model(args.model, tensors, BITS, 16, 100, workers=args.workers)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    fast = min(times)

    start, start_cpu = time.perf_counter(), time.process_time()
    theirs = {name: reference.sweep_tensor(torch.from_numpy(w), BITS) for name, w in tensors.items()}
    slow, slow_cpu = time.perf_counter() - start, time.process_time() - start_cpu

    differences = []
    for row in ours.itertuples():
        ref = next(r for r in theirs[row.tensor] if r["bits"] == row.bits)
        w = tensors[row.tensor]
        differences.append(snr64(w, row.quant_scale, row.bits) - snr64(w, ref["quant_scale"], row.bits))
    differences = np.array(differences)

    print(f"fast sweep:      {fast:.3f} s (best of {args.repeats}: {', '.join(f'{t:.3f}' for t in times)}), "
          f"{len(tensors) / fast:.1f} tensors/s, {len(ours) / fast:.0f} tensor-bit rows/s; "
          f"CPU {min(cpu):.3f} s")
    print(f"reference sweep: {slow:.3f} s, {len(tensors) / slow:.2f} tensors/s; CPU {slow_cpu:.3f} s")
    print(f"speed-up:        {slow / fast:.1f}x wall, {slow_cpu / min(cpu):.1f}x CPU")
    print(f"SNR ours - reference (dB, float64): min {differences.min():+.2e}, "
          f"median {np.median(differences):+.2e}, max {differences.max():+.3f}; "
          f"{np.sum(differences > 1e-3)} of {differences.size} tensor-bits better by > 0.001 dB")


if __name__ == "__main__":
    main()
