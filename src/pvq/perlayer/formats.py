"""Today's formats on the per-layer problems: N:M pruning and per-channel INT beside the paper's boxes.

For every chunk and output channel of the per-layer study (the same .npz the paper's solvers read):
- N:M pruning (``prune/2:4``, ...): magnitude N:M + minimum-norm refit (heuristic), the certified
  N:M optimum (pvq.bounds.solve_prune_nm_exact), and today's one-shot methods with the pattern: greedy
  OBS, what SparseGPT approximates (obs, pvq.bounds.obs_prune_nm), Wanda as published (wanda) and
  with a least-squares refit (wanda_refit, pvq.bounds.wanda_prune_nm), all with the real tensor's
  groups (below);
- per-channel INT (``int4/per-channel/mse``): round to nearest (rtn), GPTQ (gptq), the better of the
  two (heuristic) and the exact optimum (pvq.bounds.solve_quant_exact) on the grid of that output
  channel's own MSE-optimal scale (FP16, as ``pvq.methods`` stores it, fitted on the whole channel of
  the tensor), where the paper uses one scale for the tensor.
GPTQ and OBS damp X^T X as the per-layer stage does (``damp``, GPTQ's column ``order``); every
reported error is undamped.

Groups. pvq.methods' N:M groups run along each channel's reduction layout (input channels fastest,
then kernel positions); a chunk holds consecutive columns of the unfolded input, ordered (input
channel, kernel position). A chunk's problem is exactly its part of the tensor's N:M problem only when
every group it touches lies inside it: then the solver gets those groups (strided ones too, e.g. the
stem's 3x3 kernel); otherwise (a 3x3 conv cut into chunks of 32 features) the pattern's rows are
recorded with status ``split_groups`` and no SNR. 1x1 convs and linear layers with chunk_features a
multiple of m, depthwise kernels and layers narrower than a chunk are always whole.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pvq import bounds
from pvq.bounds import snr_db_of
from pvq.methods import NM, Int, PerChannel, Pruner, Quantizer, parse
from pvq.methods.layout import matrix_shape
from pvq.perlayer.artifacts import FORMATS_PART
from pvq.perlayer.solve import OneShot

# Solvers per family (the rows of each spec); heuristic and optimum bracket Fig. 13's boxes.
SOLVERS = {"prune": ("heuristic", "optimum", "obs", "wanda", "wanda_refit"),
           "quant": ("heuristic", "optimum", "rtn", "gptq")}


@dataclass(frozen=True)
class FormatSettings:
    """N:M patterns ("2:4", ...), per-channel INT bit widths, the exact solvers' time limits (CPU s), and
    GPTQ's and OBS's dampening and GPTQ's column order (pvq.perlayer.solve.OneShot)."""

    patterns: tuple[str, ...]
    bits: tuple[int, ...]
    prune_time_limit: float
    quant_time_limit: float
    oneshot: OneShot

    def __post_init__(self):
        for text in self.patterns:
            if not isinstance(parse(f"prune/{text}").pattern, NM):
                raise ValueError(f"N:M pattern {text!r}: write it as n:m, e.g. 2:4")
        for bits in self.bits:
            Int(bits)

    @property
    def pruners(self) -> list[Pruner]:
        return [parse(f"prune/{text}") for text in self.patterns]

    @property
    def quantizers(self) -> list[Quantizer]:
        return [Quantizer(Int(bits), PerChannel()) for bits in self.bits]


def chunk_positions(shape: tuple[int, ...], groups: int, chunk: int, chunk_features: int, features: int) -> np.ndarray:
    """Positions in the output channel's reduction-layout row of the chunk's columns (in chunk order).

    ``shape``: the weight's (O, I/groups, kh, kw) or (O, I); a conv's unfolded column t is input
    channel t // (kh kw), kernel position t % (kh kw), at position (kernel position) I/groups + channel.
    Ungrouped layers: the chunk is columns chunk * chunk_features onwards; depthwise: the whole kernel."""
    per_out = int(np.prod(shape[1:]))
    kernel = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    if groups == 1:
        columns = np.arange(chunk * chunk_features, chunk * chunk_features + features)
    else:
        columns = np.arange(per_out)
    if columns.size != features or columns[-1] >= per_out:
        raise ValueError(f"chunk {chunk} with {features} features does not fit a weight of shape {shape} "
                         f"cut into chunks of {chunk_features}: were the inputs collected with these settings?")
    channels = per_out // kernel
    return (columns % kernel) * channels + columns // kernel


def nm_labels(positions: np.ndarray, m: int, row_length: int) -> np.ndarray | None:
    """Group label (position // m) of each chunk column, or None when some group it touches has
    members outside the chunk."""
    labels = positions // m
    found = np.bincount(labels)
    present = np.flatnonzero(found)
    full = np.minimum(m, row_length - present * m)
    return labels if np.array_equal(found[present], full) else None


def channel_scales(weight: np.ndarray, bits: int) -> np.ndarray:
    """Each output channel's MSE-optimal INT ``bits`` scale, as ``int<bits>/per-channel/mse`` stores it."""
    return Quantizer(Int(bits), PerChannel()).apply(weight)[1].scales


def _rows(spec, family, bpw, signal, results: dict) -> list[dict]:
    """One row per solver of ``family``; a solver missing from ``results`` (the chunk splits the
    spec's groups) gets status split_groups and no SNR."""
    snr = lambda error: snr_db_of(signal, error)  # noqa: E731
    rows = []
    for solver in SOLVERS[family]:
        result = results.get(solver)
        rows.append({"spec": spec, "family": family, "solver": solver, "bits_per_weight": bpw,
                     "snr_db": snr(result.error) if result else np.nan,
                     "bound_snr_db": snr(result.lower_bound) if result and solver == "optimum" else np.nan,
                     "status": result.status if result else "split_groups",
                     "seconds": result.seconds if result else np.nan})
    return rows


def solve_formats(model: str, layer: str, weight: np.ndarray, groups: int, chunks: list[dict], chunk_features: int,
                  settings: FormatSettings) -> pd.DataFrame:
    """Long rows: per chunk, selected output channel, format spec and solver (SOLVERS of its family)."""
    shape, oneshot = tuple(weight.shape), settings.oneshot
    rows_out, row_length = matrix_shape(shape)
    scales = {q.bits: channel_scales(weight, q.bits) for q in settings.quantizers}
    out, start = [], time.perf_counter()
    for count, chunk in enumerate(chunks, 1):
        R, n = chunk["R"], chunk["R"].shape[1]
        positions = chunk_positions(shape, groups, chunk["chunk"], chunk_features, n)
        labels = {p.spec: nm_labels(positions, p.pattern.m, row_length) for p in settings.pruners}
        for channel, w0 in zip(chunk["channels"], chunk["w0"]):
            signal = float(np.sum((R @ w0) ** 2))
            rows = []
            for pruner in settings.pruners:
                n_keep, m, group = pruner.pattern.n, pruner.pattern.m, labels[pruner.spec]
                results = {}
                if group is not None:
                    results = {
                        "heuristic": bounds.prune_nm_heuristic(R, w0, n_keep, m, groups=group),
                        "optimum": bounds.solve_prune_nm_exact(R, w0, n_keep, m, groups=group,
                                                               time_limit=settings.prune_time_limit),
                        "obs": bounds.obs_prune_nm(R, w0, n_keep, m, groups=group, damp=oneshot.damp),
                        "wanda": bounds.wanda_prune_nm(R, w0, n_keep, m, groups=group),
                        "wanda_refit": bounds.wanda_prune_nm(R, w0, n_keep, m, groups=group, refit=True)}
                rows += _rows(pruner.spec, "prune", pruner.bits_per_weight(shape), signal, results)
            for quantizer in settings.quantizers:
                delta, bits = float(scales[quantizer.bits][channel]), quantizer.bits
                rtn = bounds.quant_rtn(R, w0, delta, bits)
                gptq = bounds.gptq_quant(R, w0, delta, bits, order=oneshot.order, damp=oneshot.damp)
                heuristic = min(rtn, gptq, key=lambda result: result.error)
                exact = bounds.solve_quant_exact(R, w0, delta, bits, time_limit=settings.quant_time_limit,
                                                 upper=heuristic)
                results = {"heuristic": heuristic, "optimum": exact, "rtn": rtn, "gptq": gptq}
                rows += _rows(quantizer.spec, "quant", quantizer.bits_per_weight(shape), signal, results)
            out += [{"model": model, "layer": layer, "chunk": chunk["chunk"], "out_channel": int(channel), "n": n,
                     "m": chunk["rows"], "tensor_rows": rows_out, "tensor_cols": row_length, "signal_energy": signal,
                     **row} for row in rows]
        print(f"{layer}: formats on chunk {chunk['chunk']} done ({count}/{len(chunks)}, "
              f"{time.perf_counter() - start:.1f} s)", flush=True)
    return pd.DataFrame(out, columns=list(FORMATS_PART.columns))
