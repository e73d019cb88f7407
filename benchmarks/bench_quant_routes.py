"""CPU seconds of the exact quantizer per decoder set, on bench_bounds' real Lite0 chunks (issue #19).

Per n and bit width, the same (chunk, channel) problems as `bench_bounds.py` (same seed), each solved
by `solve_quant_exact` from the Park & Boyd incumbent as the per-layer stage does, once per route set:
by default the old trio ('plain', 'dual', 'lattice', main before the combined decoder) and today's
default. Timed and limited in CPU seconds of this single-threaded process (the deadline too), which
other processes on a loaded machine stretch far less than wall time. Prints per problem the seconds,
status and nodes per decoder, then per cell the median, max and how many stopped.

    PYTHONPATH=src python benchmarks/bench_quant_routes.py [--sizes 64] [--bits 2 3 4] [--limit 30]
"""

from __future__ import annotations

import argparse
import time
import types

import numpy as np
from threadpoolctl import threadpool_limits

from bench_bounds import LAYERS, cases, layer_inputs, load_words
from pvq import bounds
from pvq.bounds import quant, quant_search

OLD_ROUTES = ("plain", "dual", "lattice")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64])
    parser.add_argument("--bits", type=int, nargs="+", default=[2, 3, 4])
    parser.add_argument("--instances", type=int, default=6)
    parser.add_argument("--limit", type=float, default=30.0, help="CPU seconds per exact solve")
    parser.add_argument("--routes", nargs="+", default=[",".join(OLD_ROUTES), ",".join(quant.DEFAULT_ROUTES)],
                        help="comma-separated route sets")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    cpu_clock = types.SimpleNamespace(perf_counter=time.process_time)
    quant.time, quant_search.time = cpu_clock, cpu_clock  # the time limit counts CPU seconds
    sets = [tuple(spec.split(",")) for spec in args.routes]
    with threadpool_limits(1):
        modules, inputs = layer_inputs(LAYERS, 16, args.seed)
        print(load_words(), flush=True)
        summary = []
        for n in args.sizes:
            for bits in args.bits:
                cells = {routes: [] for routes in sets}
                for p in cases(modules, inputs, n, args.instances, args.seed):
                    delta = p["delta"][bits]
                    sdp = bounds.quant_sdp_bound(p["R"], p["w0"], delta, bits)
                    heuristic = bounds.quant_heuristic(p["R"], p["w0"], delta, bits, relaxation=sdp)
                    words = []
                    for routes in sets:
                        start = time.process_time()
                        exact = bounds.solve_quant_exact(p["R"], p["w0"], delta, bits, time_limit=args.limit,
                                                         upper=heuristic, relaxation=sdp, routes=routes)
                        cells[routes].append((time.process_time() - start, exact.status))
                        words.append(f"{'+'.join(routes)} {cells[routes][-1][0]:.2f} s {exact.status} "
                                     f"{exact.info.get('routes')}")
                    print(f"n = {n}, INT{bits}, {p['layer']} chunk {p['chunk']} channel {p['channel']}: "
                          + "; ".join(words), flush=True)
                for routes, results in cells.items():
                    seconds = [s for s, _ in results]
                    stopped = sum(status != "optimal" for _, status in results)
                    summary.append(f"n = {n}, INT{bits}, {'+'.join(routes)}: median {np.median(seconds):.2f} CPU-s, "
                                   f"max {max(seconds):.2f}, {stopped}/{len(results)} stopped at {args.limit:g}")
        print(load_words())
        print("\n".join(summary))


if __name__ == "__main__":
    main()
