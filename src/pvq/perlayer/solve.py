"""Every solver on every (chunk, output channel, bit width) of one layer part: the rows of <layer>.csv.

Quantization at b bits uses the layer's per-tensor MSE-optimal step; pruning at sparsity 1 - b/16
keeps round(n b / 16) weights of the chunk. SNRs are 10 log10(||X_C w0||^2 / error) in dB.
Beside the paper's heuristics run today's one-shot methods (GPTQ; greedy OBS, which SparseGPT approximates; Wanda
with and without refit) and OBS then GPTQ on the joint problem: the row's ``keep`` weights, each on
the row's b-bit grid (storage keep * b bits), whose certified lower bound is the larger of the
separate problems' bounds (pvq.bounds.joint_lower_bound).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pvq import bounds
from pvq.bounds import snr_db_of
from pvq.bounds.gptq import ORDERS
from pvq.perlayer.artifacts import LAYER_PART


@dataclass(frozen=True)
class Limits:
    """Solver budgets (CPU seconds, :mod:`pvq.bounds.clock`) and how much the MIP cross-check covers. No
    defaults: they live in workflow/schemas/perlayer.schema.yaml only (``from_config`` takes them from the
    validated section)."""

    prune_exact: float
    quant_exact: float
    mip: float
    mip_channels: int          # output channels per chunk also solved by SCIP (0 = none) ...
    mip_bits: tuple            # ... at these bit widths
    heuristic_samples: int

    @classmethod
    def from_config(cls, perlayer: dict) -> "Limits":
        """From the validated ``perlayer`` config section (schema defaults filled in)."""
        times = perlayer["time_limits"]
        return cls(prune_exact=times["prune_exact"], quant_exact=times["quant_exact"], mip=times["mip"],
                   mip_channels=perlayer["mip_channels"], mip_bits=tuple(perlayer["mip_bits"]),
                   heuristic_samples=perlayer["heuristic_samples"])


@dataclass(frozen=True)
class OneShot:
    """Settings of the one-shot methods (pvq.bounds.gptq_quant, obs_prune, obs_prune_then_gptq); the
    defaults are perlayer.oneshot's in the schema."""

    damp: float    # dampening of X^T X, times its mean diagonal (GPTQ and SparseGPT: 0.01)
    order: str     # GPTQ's column order: act (descending diag X^T X) or natural

    def __post_init__(self):
        if not (np.isfinite(self.damp) and self.damp > 0):
            raise ValueError(f"damp must be > 0 (real chunks can have a singular X^T X), got {self.damp}")
        if self.order not in ORDERS:
            raise ValueError(f"order must be one of {ORDERS}, got {self.order!r}")


def keep_for_bits(n: int, bits: int, baseline_bits: int = 16) -> int:
    """Weights kept by pruning at the size of b-bit quantization: round(n (1 - c)), c = 1 - b/baseline."""
    return int(round(n * bits / baseline_bits))


def solve_channel(R: np.ndarray, w0: np.ndarray, bits: int, delta: float, baseline_bits: int,
                  limits: Limits, seed: int, with_mip: bool, oneshot: OneShot) -> dict:
    """All methods on one (chunk, output channel, bit width); one CSV row (without identifiers)."""
    n = w0.size
    signal = float(np.sum((R @ w0) ** 2))
    keep = keep_for_bits(n, bits, baseline_bits)
    snr = lambda error: snr_db_of(signal, error)  # noqa: E731

    rtn = bounds.quant_rtn(R, w0, delta, bits)
    sdp = bounds.quant_sdp_bound(R, w0, delta, bits)
    heuristic = bounds.quant_heuristic(R, w0, delta, bits, samples=limits.heuristic_samples,
                                       seed=seed, relaxation=sdp)
    exact = bounds.solve_quant_exact(R, w0, delta, bits, time_limit=limits.quant_exact, upper=heuristic,
                                     relaxation=sdp)
    magnitude = bounds.prune_heuristic(R, w0, keep, refit=False)
    refit = bounds.prune_heuristic(R, w0, keep)
    optimum = bounds.solve_prune_exact(R, w0, keep, time_limit=limits.prune_exact)
    gptq = bounds.gptq_quant(R, w0, delta, bits, order=oneshot.order, damp=oneshot.damp)
    obs = bounds.obs_prune(R, w0, keep, damp=oneshot.damp)
    joint = bounds.obs_prune_then_gptq(R, w0, keep, delta, bits, order=oneshot.order, damp=oneshot.damp)
    row = {
        "n": n, "bits": bits, "sparsity": 1 - bits / baseline_bits, "keep": keep, "delta": delta,
        "signal_energy": signal,
        "quant_rtn_snr_db": snr(rtn.error),
        "quant_heuristic_snr_db": snr(heuristic.error),
        "quant_sdp_bound_snr_db": snr(sdp.lower_bound),
        "quant_sdp_status": sdp.status,
        "quant_exact_snr_db": snr(exact.error),
        "quant_exact_bound_snr_db": snr(exact.lower_bound),
        "quant_status": exact.status,
        "prune_magnitude_snr_db": snr(magnitude.error),
        "prune_refit_snr_db": snr(refit.error),
        "prune_opt_snr_db": snr(optimum.error),
        "prune_bound_snr_db": snr(optimum.lower_bound),
        "prune_status": optimum.status,
        "prune_mip_snr_db": np.nan, "prune_mip_bound_snr_db": np.nan, "prune_mip_status": "not_run",
        "quant_gptq_snr_db": snr(gptq.error),
        "prune_obs_snr_db": snr(obs.error),
        "prune_wanda_snr_db": snr(bounds.wanda_prune(R, w0, keep).error),
        "prune_wanda_refit_snr_db": snr(bounds.wanda_prune(R, w0, keep, refit=True).error),
        "joint_obs_gptq_snr_db": snr(joint.error),
        "joint_bound_snr_db": snr(bounds.joint_lower_bound(optimum, sdp, exact)),
        "quant_heuristic_seconds": heuristic.seconds, "quant_sdp_seconds": sdp.seconds,
        "quant_exact_seconds": exact.seconds, "prune_exact_seconds": optimum.seconds,
        "prune_mip_seconds": np.nan, "quant_gptq_seconds": gptq.seconds, "prune_obs_seconds": obs.seconds,
    }
    if with_mip:
        mip = bounds.solve_prune_mip(R, w0, keep, time_limit=limits.mip)
        row.update(prune_mip_snr_db=snr(mip.error), prune_mip_bound_snr_db=snr(mip.lower_bound),
                   prune_mip_status=mip.status, prune_mip_seconds=mip.seconds)
    return row


def solve_chunks(model: str, layer: str, layer_arrays: dict, chunks: list[dict], limits: Limits,
                 baseline_bits: int, seed: int, oneshot: OneShot) -> pd.DataFrame:
    """Rows for every chunk, selected output channel and bit width, with progress on stdout (each chunk,
    and every tenth of its channels: a whole layer's chunk holds over a thousand)."""
    rows = []
    start = time.perf_counter()
    for count, chunk in enumerate(chunks, 1):
        total = len(chunk["channels"])
        for position, (channel, w0) in enumerate(zip(chunk["channels"], chunk["w0"])):
            if position and position % max(1, total // 10) == 0:
                print(f"{layer}: chunk {chunk['chunk']}: {position}/{total} channels "
                      f"({time.perf_counter() - start:.1f} s)", flush=True)
            for bits, delta in zip(layer_arrays["bits"], layer_arrays["delta"]):
                row = solve_channel(chunk["R"], w0, int(bits), float(delta), baseline_bits, limits,
                                    seed=seed + int(channel), oneshot=oneshot,
                                    with_mip=position < limits.mip_channels and bits in limits.mip_bits)
                rows.append({"model": model, "layer": layer, "chunk": chunk["chunk"],
                             "out_channel": int(channel), "m": chunk["rows"], **row})
        print(f"{layer}: chunk {chunk['chunk']} done ({count}/{len(chunks)}, "
              f"{time.perf_counter() - start:.1f} s)", flush=True)
    return pd.DataFrame(rows, columns=COLUMNS)


COLUMNS = list(LAYER_PART.columns)
