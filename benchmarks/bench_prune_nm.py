"""Speed of the certified N:M pruning optimum on n = 32 chunks of real EfficientNet-Lite0 activations.

Prints, per N:M pattern, measured in this one run: the branch and bound's median/max seconds and nodes,
the share certified, and the median gap (dB) of N:M magnitude + refit to the certified optimum.
Target (issue #17, default run's extra time small): median under 0.3 s per problem for 2:4 and 1:4.

    PYTHONPATH=src python benchmarks/bench_prune_nm.py [--problems 8] [--patterns 2:4 1:4 4:8]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_bounds import LAYERS, problems  # noqa: E402

from pvq import bounds  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=8, help="(chunk, channel) pairs")
    parser.add_argument("--patterns", nargs="+", default=["2:4", "1:4", "4:8"], help="N:M patterns")
    args = parser.parse_args()
    cases = problems(args.problems)
    print(f"{len(cases)} problems, n = {sorted({c[1].shape[1] for c in cases})}, layers {LAYERS}", flush=True)
    for text in args.patterns:
        n, m = (int(part) for part in text.split(":"))
        seconds, nodes, certified, gaps = [], [], [], []
        for _, R, w0, _ in cases:
            exact = bounds.solve_prune_nm_exact(R, w0, n, m)
            heuristic = bounds.prune_nm_heuristic(R, w0, n, m)
            seconds.append(exact.seconds)
            nodes.append(exact.info["nodes"])
            certified.append(exact.status == "optimal")
            gaps.append(10 * np.log10(heuristic.error / exact.error))
        print(f"{text}: B&B median {np.median(seconds):.3f} s, max {np.max(seconds):.3f} s; nodes median "
              f"{np.median(nodes):.0f}, max {np.max(nodes)}; certified {100 * np.mean(certified):.0f} %; "
              f"magnitude + refit below the optimum by median {np.median(gaps):.2f} dB, max {np.max(gaps):.2f} dB",
              flush=True)


if __name__ == "__main__":
    main()
