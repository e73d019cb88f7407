"""Speed of the per-layer solvers on real EfficientNet-Lite0 chunks at n = 32, 48 and 64 (issue #19).

Prints, measured in this one run, single-threaded BLAS (as the per-layer jobs run), in CPU seconds of the
solving thread (the clock the solvers' limits count, :mod:`pvq.bounds.clock`: other processes on the
machine stretch wall time, and these only a little):
- the table of issue #19: per chunk size n, median CPU seconds of the certified pruning optimum
  (`solve_prune_exact`) at keep n/4, n/2, 3n/4, of the exact quantization optimum
  (`solve_quant_exact`, started from the Park & Boyd heuristic as the per-layer stage does) at
  2, 3, 4 bits, and of the quantization lower bound (`quant_sdp_bound`) at 2, 3, 4 bits, with the
  worst shortfall of that bound against the SDP solved by cvxpy + Clarabel (`solver="CLARABEL"`).
  A search stopped by its limit counts at the limit; the cell says how many stopped and the worst
  gap (error - bound) / error among them;
- the largest n's pruning problems again with a short limit (``--stop-limit``), so that some searches
  stop: how far their certified bound lies below their incumbent's error;
- per n, how many problems have a singular X^T X (dead input channels), and GPTQ and greedy OBS
  (SparseGPT's procedure) per problem with their speed-up over the exact solvers on the same
  problems (issue #18: each under 5 ms, more than 50x faster than the exact solvers);
- agreement with SCIP (`solve_prune_mip`) on every n = 32 pruning problem that SCIP finishes;
- the default run's stem-conv quantization problems (1 chunk x 6 channels x 7 bit widths, the
  default time limit): how many are certified;
- the load average before and after the table;
- the whole `_blocks.15._expand_conv` layer: an estimate from a random sample of (chunk, output
  channel) pairs solved as the per-layer stage solves them (CPU time of this single-threaded process,
  which other processes stretch less than wall time), and, given `--whole-layer-run`, the
  CPU time the run's per-layer jobs recorded (Snakemake benchmark files).

Targets (issue #19): pruning n = 48 median < 1 s, n = 64 < 10 s at every keep, a stopped n = 64
search within 10 % of its incumbent; quantization n = 64, b = 2..4 median < 5 s; every stem problem
certified; the bound at n = 64 < 1 s and never more than 1 % below the cvxpy SDP; the whole layer
< 2 CPU-hours.

    PYTHONPATH=src python benchmarks/bench_bounds.py [--instances 6] [--sizes 32 48 64] [--stop-limit 2]
    PYTHONPATH=src python benchmarks/bench_bounds.py --sizes --layer-pairs 0 --whole-layer-run results/whole-layer
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from pvq import bounds
from pvq.bounds import clock
from pvq.config import load_config
from pvq.perlayer.activations import capture_inputs
from pvq.perlayer.collect import Selection, calibration_images, layer_chunks
from pvq.perlayer.models import load_model_for_inputs, weight_layer
from pvq.perlayer.solve import Limits, OneShot, solve_channel
from pvq.quantize import mse_optimal_scale

LAYERS = ["_blocks.11._project_conv", "_blocks.15._expand_conv"]
WHOLE_LAYER = "_blocks.15._expand_conv"
QUANT_BITS = (2, 3, 4)
KEEPS = ((4, "n/4"), (2, "n/2"), (4 / 3, "3n/4"))  # pruning keeps round(n / share) weights
ROOT = Path(__file__).resolve().parents[1]


def layer_inputs(layers, images: int, seed: int):
    """(model, {layer: module}, {layer: captured input}) on ``images`` seeded calibration crops."""
    model, crop, mean, std = load_model_for_inputs("efficientnet_lite0")
    modules = {name: weight_layer(model, name) for name in layers}
    return modules, capture_inputs(model, modules, calibration_images(crop, images, seed, None, mean, std))


def cases(modules, inputs, n: int, count: int, seed: int) -> list[dict]:
    """``count`` random (chunk, output channel) problems with n features, alternating the layers."""
    rng = np.random.default_rng([seed, n])
    pools = []
    for offset, name in enumerate(LAYERS):
        chunks = [c for c in layer_chunks(modules[name], inputs[name], Selection(n, 0, 0, seed), offset)
                  if c["R"].shape[1] == n]
        weight = modules[name].weight.detach().double().numpy()
        deltas = {b: mse_optimal_scale(weight, b) for b in QUANT_BITS}
        pools.append([dict(layer=name, chunk=c["chunk"], channel=int(ch), rows=c["rows"], R=c["R"], w0=c["w0"][ch],
                           delta=deltas)
                      for c in chunks for ch in range(c["w0"].shape[0])])
    picks = []
    for i in range(count):
        pool = pools[i % len(pools)]
        picks.append(pool.pop(int(rng.integers(len(pool)))))
    return picks


def rank_census(factors) -> str:
    """How many chunk problems have a (numerically: singular values below 1e-12 of the largest)
    singular X^T X, and how many still do once their all-zero columns (dead inputs) are dropped."""
    def singular(R):
        s = np.linalg.svd(R, compute_uv=False)
        return R.shape[0] < R.shape[1] or s.size == 0 or s[-1] <= 1e-12 * s[0]

    live = [R[:, np.any(R != 0, axis=0)] for R in factors]
    return (f"X^T X singular in {sum(map(singular, factors))} of {len(factors)} problems, "
            f"{sum(singular(R) for R in live if R.shape[1])} after dropping zero columns")


def timed(call):
    """(call's result, CPU seconds of this thread it took)."""
    start = clock.now()
    result = call()
    return result, clock.now() - start


def seconds_of(call, repeats: int = 5) -> float:
    """Median CPU seconds of ``repeats`` calls (a single sub-millisecond call is mostly timer noise)."""
    return float(np.median([timed(call)[1] for _ in range(repeats)]))


def speed_words(name: str, seconds: list[float], exact: list[float], exact_name: str) -> str:
    seconds, exact = np.array(seconds), np.array(exact)
    return (f"{name}: median {1000 * np.median(seconds):.2f} ms, max {1000 * np.max(seconds):.2f} ms; "
            f"{exact_name} / {name} on the same problems: median {np.median(exact / seconds):.0f}x, "
            f"min {np.min(exact / seconds):.0f}x")


def load_words() -> str:
    """The machine's load (it stretches wall times; the CPU seconds reported here hardly move)."""
    return (f"load average (1, 5, 15 min): {', '.join(f'{x:.1f}' for x in os.getloadavg())} on "
            f"{os.cpu_count()} cores")


def cell(seconds, results, limit: float, gaps: bool = False) -> str:
    """'median CPU-s' plus how many stopped (counted at the limit) and, with ``gaps``, their worst gap."""
    text = f"{np.median(np.minimum(seconds, limit)):.3g} s"
    stopped = [r for r in results if r.status != "optimal"]
    if stopped:
        text += f", {len(stopped)}/{len(results)} stopped"
        if gaps:
            worst = max((r.error - r.lower_bound) / r.error for r in stopped)
            text += f" (gap <= {100 * worst:.0f} %)"
    return text


def table(problems: dict[int, list[dict]], limit: float, mip_limit: float) -> None:
    rows, agreement, one_shot = [], [], []
    for n, picks in problems.items():
        row = {"n": n}
        obs_s, obs_exact_s, gptq_s, gptq_exact_s = [], [], [], []
        for share, label in KEEPS:
            keep = int(round(n / share))
            results, seconds = zip(*[timed(lambda: bounds.solve_prune_exact(p["R"], p["w0"], keep, time_limit=limit))
                                     for p in picks])
            row[f"prune keep {label}"] = cell(seconds, results, limit, gaps=True)
            print(f"  n = {n}, keep {keep}: " + ", ".join(f"{t:.2f} s {r.status}" for r, t in zip(results, seconds)),
                  flush=True)
            for p, cpu in zip(picks, seconds):
                obs_s.append(seconds_of(lambda: bounds.obs_prune(p["R"], p["w0"], keep)))
                obs_exact_s.append(cpu)
            if n == 32:
                for p, exact in zip(picks, results):
                    mip, mip_s = timed(lambda: bounds.solve_prune_mip(p["R"], p["w0"], keep, time_limit=mip_limit))
                    agreement.append((mip.status, exact.status, exact.error, mip.error, mip_s))
        quant_s, quant_r, bound_s, ref_s, shortfall = {}, {}, [], [], []
        for bits in QUANT_BITS:
            for p in picks:
                delta = p["delta"][bits]
                sdp, sdp_s = timed(lambda: bounds.quant_sdp_bound(p["R"], p["w0"], delta, bits))
                bound_s.append(sdp_s)
                reference, reference_s = timed(lambda: bounds.quant_sdp_bound(p["R"], p["w0"], delta, bits,
                                                                              solver="CLARABEL"))
                ref_s.append(reference_s)
                shortfall.append((reference.lower_bound - sdp.lower_bound) / reference.lower_bound)
                heuristic, heuristic_s = timed(lambda: bounds.quant_heuristic(p["R"], p["w0"], delta, bits,
                                                                              relaxation=sdp))
                exact, exact_s = timed(lambda: bounds.solve_quant_exact(p["R"], p["w0"], delta, bits, time_limit=limit,
                                                                        upper=heuristic, relaxation=sdp))
                quant_s.setdefault(bits, []).append(exact_s)
                quant_r.setdefault(bits, []).append(exact)
                gptq_s.append(seconds_of(lambda: bounds.gptq_quant(p["R"], p["w0"], delta, bits)))
                # the exact route as the per-layer stage runs it: bound + Park & Boyd (its incumbent) + decoder
                gptq_exact_s.append(sdp_s + heuristic_s + exact_s)
            print(f"  n = {n}, INT{bits}: " + ", ".join(f"{t:.2f} s {r.status}"
                                                       for r, t in zip(quant_r[bits], quant_s[bits])), flush=True)
        for bits in QUANT_BITS:
            row[f"quant INT{bits}"] = cell(quant_s[bits], quant_r[bits], limit, gaps=True)
        row["lower bound"] = f"{np.median(bound_s):.3g} s (max {np.max(bound_s):.3g} s)"
        row["vs cvxpy SDP"] = (f"{np.median(ref_s):.3g} s; ours at most {100 * max(max(shortfall), 0):.2f} % "
                               f"below" if max(shortfall) > 0 else f"{np.median(ref_s):.3g} s; ours never below")
        rows.append(row)
        one_shot.append((n, rank_census([p["R"] for p in picks]),
                         speed_words("GPTQ (INT2-4)", gptq_s, gptq_exact_s, "bound + Park & Boyd + decoder"),
                         speed_words("OBS (keep n/4, n/2, 3n/4)", obs_s, obs_exact_s, "pruning B&B")))
        print(pd.DataFrame(rows).to_markdown(index=False), flush=True)
    print(f"\nmedian CPU seconds over {len(next(iter(problems.values())))} (chunk, channel) problems per cell, "
          f"{limit:g} CPU-s limit; prune: the certified best subset, quant: the exact codes, lower bound: "
          f"quant_sdp_bound at 2-4 bits")
    print(pd.DataFrame(rows).to_markdown(index=False))
    for n, census, gptq, obs in one_shot:
        print(f"\nn = {n}: {census}\n  {gptq}\n  {obs}")
    if agreement:
        finished = [a for a in agreement if a[0] == "optimal"]
        agree = [a for a in finished if a[1] == "optimal" and abs(a[2] - a[3]) <= 1e-6 * max(a[2], 1e-300)]
        print(f"\nSCIP at n = 32 ({mip_limit:g} CPU-s limit): finished {len(finished)} of {len(agreement)} "
              f"(median {np.median([a[4] for a in agreement]):.1f} CPU-s); our optimum agrees on {len(agree)} of "
              f"{len(finished)}")


def stopped_searches(picks: list[dict], limit: float) -> None:
    """The pruning problems of one n again with a short limit, so that some searches stop: how far below
    its incumbent's error each stopped search's certified bound lies (the bound is what a stopped
    search reports for Table 3 and Fig. 4)."""
    n = picks[0]["R"].shape[1]
    gaps, total = [], 0
    for keep in (int(round(n / share)) for share, _ in KEEPS):
        for p in picks:
            result = bounds.solve_prune_exact(p["R"], p["w0"], keep, time_limit=limit)
            total += 1
            if result.status != "optimal":
                gaps.append((result.error - result.lower_bound) / result.error)
    words = (f"certified bound below the incumbent's error by median {100 * np.median(gaps):.1f} %, at most "
             f"{100 * max(gaps):.1f} %" if gaps else "none to measure")
    print(f"\npruning at n = {n} stopped at {limit:g} CPU-s: {len(gaps)} of {total} searches stopped; {words} "
          f"(target: within 10 %)", flush=True)


def stem_check(config: dict) -> None:
    """The default run's stem problems: its chunks, channels, images, steps and quantization limit."""
    section = config["perlayer"]
    layers = section["models"]["efficientnet_lite0"]
    name = "_conv_stem"
    if name not in layers:
        print(f"\nstem conv: not among this config's per-layer layers ({', '.join(layers)}); no check")
        return
    modules, inputs = layer_inputs([name], section["calibration_images"], config["seed"])
    selection = Selection(section["chunk_features"], section["chunks"], section["out_channels"], config["seed"])
    chunks = layer_chunks(modules[name], inputs[name], selection, seed_offset=layers.index(name))
    weight = modules[name].weight.detach().double().numpy()
    limit = section["time_limits"]["quant_exact"]
    outcomes = []
    for chunk in chunks:
        for w0 in chunk["w0"]:
            for bits in section["bits"]:
                delta = mse_optimal_scale(weight, bits)
                cpu = clock.now()
                sdp = bounds.quant_sdp_bound(chunk["R"], w0, delta, bits)
                heuristic = bounds.quant_heuristic(chunk["R"], w0, delta, bits,
                                                   samples=section["heuristic_samples"], relaxation=sdp)
                exact = bounds.solve_quant_exact(chunk["R"], w0, delta, bits, time_limit=limit, upper=heuristic,
                                                 relaxation=sdp)
                outcomes.append((bits, exact.status, exact.seconds, clock.now() - cpu))
    certified = sum(status == "optimal" for _, status, *_ in outcomes)
    missed = sorted({bits for bits, status, *_ in outcomes if status != "optimal"})
    routes = exact.info.get("routes", {})
    print(f"\nstem conv (default run: {len(outcomes)} problems, n = {chunks[0]['R'].shape[1]}, {limit:g} CPU-s limit): "
          f"{certified} certified; exact search median {np.median([o[2] for o in outcomes]):.3f} s, max "
          f"{max(o[2] for o in outcomes):.2f} s wall; bound + heuristic + search median "
          f"{np.median([o[3] for o in outcomes]):.3f} CPU-s, max {max(o[3] for o in outcomes):.2f} CPU-s"
          + (f"; stopped at bits {missed}" if missed else "") + f" (decoders: {', '.join(routes)})")


def whole_layer_estimate(config: dict, pairs: int, seed: int) -> None:
    """Seconds per (chunk, output channel) at every bit width, solved as `perlayer solve` does, times
    the layer's chunks x output channels."""
    section = config["perlayer"]
    modules, inputs = layer_inputs([WHOLE_LAYER], section["calibration_images"], config["seed"])
    chunks = layer_chunks(modules[WHOLE_LAYER], inputs[WHOLE_LAYER],
                          Selection(section["chunk_features"], 0, 0, config["seed"]))
    weight = modules[WHOLE_LAYER].weight.detach().double().numpy()
    deltas = [mse_optimal_scale(weight, b) for b in section["bits"]]
    limits, oneshot = Limits.from_config(section), OneShot(**section["oneshot"])
    rng = np.random.default_rng(seed)
    total = len(chunks) * weight.shape[0]
    seconds, cpu, uncertified = [], [], 0
    for index in rng.choice(total, size=min(pairs, total), replace=False):
        chunk = chunks[index // weight.shape[0]]
        channel = int(index % weight.shape[0])
        start, start_cpu = time.perf_counter(), clock.now()
        for bits, delta in zip(section["bits"], deltas):
            row = solve_channel(chunk["R"], chunk["w0"][channel], bits, delta, config["baseline_bits"], limits,
                                seed=config["seed"] + channel, with_mip=False, oneshot=oneshot)
            uncertified += (row["prune_status"] != "optimal") + (row["quant_status"] != "optimal")
        seconds.append(time.perf_counter() - start)
        cpu.append(clock.now() - start_cpu)

    def mean_sem(values):
        return np.mean(values), np.std(values, ddof=1) / np.sqrt(len(values)) if len(values) > 1 else np.nan

    (mean, sem), (wall, wall_sem) = mean_sem(cpu), mean_sem(seconds)
    print(f"\nwhole layer {WHOLE_LAYER} (n = {section['chunk_features']}: {len(chunks)} chunks x "
          f"{weight.shape[0]} channels x bits {section['bits']}): {len(seconds)} sampled (chunk, channel) pairs "
          f"take {mean:.2f} +- {sem:.2f} CPU-s each ({wall:.2f} +- {wall_sem:.2f} s wall; {uncertified} of "
          f"{2 * len(seconds) * len(section['bits'])} exact solves stopped) -> estimate {mean * total / 3600:.2f} "
          f"+- {sem * total / 3600:.2f} CPU-hours ({wall * total / 3600:.2f} job-hours of wall time at this load)")


def whole_layer_measured(run: Path) -> None:
    """CPU and wall time of a finished run's per-layer jobs for the layer, from Snakemake's benchmark files."""
    files = sorted((run / "benchmarks" / "perlayer" / "efficientnet_lite0").glob(f"{WHOLE_LAYER}.shard-*.tsv"))
    if not files:
        print(f"\nwhole layer measured: no benchmark files for {WHOLE_LAYER} under {run}/benchmarks")
        return
    frame = pd.concat([pd.read_csv(f, sep="\t") for f in files])
    print(f"\nwhole layer measured ({run}, {len(files)} parts): {frame['cpu_time'].sum() / 3600:.2f} CPU-hours, "
          f"{frame['s'].sum() / 3600:.2f} job-hours of wall time (sum over parts)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[32, 48, 64],
                        help="chunk sizes n (none: skip the solver table)")
    parser.add_argument("--instances", type=int, default=6, help="(chunk, channel) problems per cell")
    parser.add_argument("--images", type=int, default=16, help="calibration crops (16: m = 784 rows)")
    parser.add_argument("--time-limit", type=float, default=60.0, help="CPU seconds per exact solve")
    parser.add_argument("--mip-time-limit", type=float, default=120.0, help="CPU seconds per SCIP solve (n = 32)")
    parser.add_argument("--stop-limit", type=float, default=2.0,
                        help="CPU seconds per pruning search at the largest n, so that some stop (0: skip)")
    parser.add_argument("--config", nargs="+", default=[ROOT / "config.yaml"],
                        help="config (and overlays) whose per-layer settings the stem check and layer estimate use")
    parser.add_argument("--layer-pairs", type=int, default=12,
                        help="(chunk, channel) pairs sampled for the whole-layer estimate (0: skip)")
    parser.add_argument("--whole-layer-run", type=Path, default=None,
                        help="results/<run_name> of a finished whole-layer run, to report its measured time")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    config = load_config(*args.config)
    with threadpool_limits(1):
        if args.sizes:
            modules, inputs = layer_inputs(LAYERS, args.images, args.seed)
            problems = {n: cases(modules, inputs, n, args.instances, args.seed) for n in args.sizes}
            rows = sorted({p["rows"] for picks in problems.values() for p in picks})
            print(f"{args.instances} problems per n from {LAYERS}, m = {rows} rows ({args.images} images)",
                  flush=True)
            print(load_words(), flush=True)
            table(problems, args.time_limit, args.mip_time_limit)
            print(load_words())
            if args.stop_limit:
                stopped_searches(problems[max(problems)], args.stop_limit)
        stem_check(config)
        if args.layer_pairs:
            whole_layer_estimate(config, args.layer_pairs, args.seed)
    if args.whole_layer_run is not None:
        whole_layer_measured(args.whole_layer_run)


if __name__ == "__main__":
    main()
