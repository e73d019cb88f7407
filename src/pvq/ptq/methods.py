"""The post-training methods compared on a whole model, each at the storage of b-bit quantization.

- ``rtn``: round to nearest, per output channel, MSE-optimal FP16 step (``int<b>/per-channel/mse``);
- ``gptq``: the same grid and steps, codes by GPTQ on the layer's calibration inputs;
- ``magnitude``: the smallest |w| of the tensor zeroed at sparsity 1 - b/baseline (``prune/u<s>``,
  FP16 values and a bitmap), no data;
- ``wanda``: |w| times the input norm, the same number kept in every row (Sun et al.), no update;
- ``sparsegpt``: OBS in one pass over the columns (pvq.bounds.sparsegpt_prune), the kept weights
  updated, the same number kept in every row, stored in FP16;
- ``sparsegpt+gptq``: the joint method at the same nominal storage: ``joint_sparsity`` of the weights
  zeroed and the rest on a grid of b / (1 - joint_sparsity) bits (50% and 2b bits by default), chosen
  and rounded in one SparseGPT pass (``prune/u<s>+int<2b>/per-channel/mse``; steps fitted on the
  magnitude-pruned tensor).
RTN and magnitude use no data; the others see each layer's inputs through the already compressed
layers (pvq.ptq.sequential). Every method's storage is its spec's exact count (pvq.methods).
Per-row pruning keeps the spec's total: the rows share the tensor's pruned count as evenly as can be.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pvq import bounds
from pvq.bounds.gptq import ORDERS
from pvq.methods import PruneThenQuantize, Pruner, Unstructured, parse
from pvq.prune import sparsity_for_bits
from pvq.ptq.calibration import gram_root
from pvq.ptq.shared import sparsegpt_rows, wanda_rows

METHODS = ("rtn", "gptq", "magnitude", "wanda", "sparsegpt", "sparsegpt+gptq")
DATA_FREE = ("rtn", "magnitude")


@dataclass(frozen=True)
class Settings:
    """How the data-aware methods run. No defaults here: they live in workflow/schemas/ptq.schema.yaml
    (``from_config`` reads the job's settings)."""

    damp: float            # dampening of X^T X, times its mean diagonal
    order: str             # column order: act (descending diag X^T X) or natural
    block: int             # SparseGPT's mask-selection block (columns)
    joint_sparsity: float  # sparsegpt+gptq: share of weights zeroed; the rest on b / (1 - s) bits
    baseline_bits: int     # b bits are compared with sparsity 1 - b / baseline

    @classmethod
    def from_config(cls, section: dict, baseline_bits: int) -> Settings:
        """From the validated ``ptq`` section (or a job's settings, which hold its keys) and baseline_bits."""
        return cls(damp=section["damp"], order=section["order"], block=section["block"],
                   joint_sparsity=section["joint_sparsity"], baseline_bits=baseline_bits)

    def __post_init__(self):
        if not (np.isfinite(self.damp) and self.damp > 0):
            raise ValueError(f"damp must be > 0 (calibration inputs can leave X^T X singular), got {self.damp}")
        if self.order not in ORDERS:
            raise ValueError(f"order must be one of {ORDERS}, got {self.order!r}")
        if self.block < 1:
            raise ValueError(f"block must be a positive number of columns, got {self.block}")
        if not 0 < self.joint_sparsity < 1:
            raise ValueError(f"joint_sparsity must lie in (0, 1), got {self.joint_sparsity}")


def check_methods(methods) -> list[str]:
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ValueError(f"unknown post-training methods {unknown}: choose from {list(METHODS)}")
    return list(methods)


def joint_value_bits(bits: int, settings: Settings) -> int:
    """Bits of the kept values of the joint method: b / (1 - joint_sparsity), which must be whole."""
    value = bits / (1 - settings.joint_sparsity)
    if abs(value - round(value)) > 1e-9 or not 2 <= round(value) <= 16:
        raise ValueError(f"joint_sparsity {settings.joint_sparsity} gives {value:g}-bit values at b = {bits}: "
                         "choose a sparsity for which b / (1 - sparsity) is a whole number of 2..16 bits (0.5)")
    return int(round(value))


def method_of(method: str, bits: int, settings: Settings):
    """The pvq.methods value whose storage (and, for rtn and magnitude, whose result) ``method`` has at b bits."""
    if method in ("rtn", "gptq"):
        return parse(f"int{bits}/per-channel/mse")
    if method in ("magnitude", "wanda", "sparsegpt"):
        return Pruner(Unstructured(sparsity_for_bits(bits, settings.baseline_bits)))
    if method == "sparsegpt+gptq":
        return PruneThenQuantize(Pruner(Unstructured(settings.joint_sparsity)),
                                 parse(f"int{joint_value_bits(bits, settings)}/per-channel/mse"))
    raise ValueError(f"unknown post-training method {method!r}: choose from {list(METHODS)}")


def row_keeps(pruned: int, rows: int, length: int) -> np.ndarray:
    """Weights kept per row when ``pruned`` of rows x length are zeroed, spread as evenly as possible
    (the first rows lose one more)."""
    base, extra = divmod(int(pruned), rows)
    return length - base - (np.arange(rows) < extra)


def compress_layer(method: str, bits: int, weight: np.ndarray, gram: np.ndarray | None, depthwise: bool,
                   settings: Settings) -> np.ndarray:
    """The compressed ``weight`` (its own shape). ``gram``: X^T X of the layer's inputs, (K, K) in the
    column order of weight.reshape(out, -1), or (C, kh kw, kh kw) per channel when ``depthwise``
    (pvq.ptq.calibration.layer_gram); unused (None) for the data-free methods."""
    value = method_of(method, bits, settings)
    if method in DATA_FREE:
        return value.apply(weight)[0]
    if gram is None:
        raise ValueError(f"{method} needs the layer's calibration inputs")
    W = weight.reshape(weight.shape[0], -1).astype(np.float64)
    rows, length = W.shape
    keeps = np.full(rows, length)
    deltas, grid_bits = None, None
    if method != "gptq":
        pruner = value.pruner if method == "sparsegpt+gptq" else value
        keeps = row_keeps(pruner.pattern.pruned_count(weight.shape), rows, length)
    if method in ("gptq", "sparsegpt+gptq"):
        deltas = value.apply(weight)[1].scales  # one per output channel, in channel order
        grid_bits = value.quantizer.bits if method == "sparsegpt+gptq" else value.bits
        # a row the fit left without a step (all its weights pruned by the magnitude mask): max |w| on the top level
        fallback = np.abs(W).max(axis=1) / (2 ** (grid_bits - 1) - 1)
        deltas = np.where(deltas > 0, deltas, np.where(fallback > 0, fallback, 1.0))
    if depthwise:
        root = gram_root(gram)
        out = np.stack([_one_row(method, root[c], W[c], int(keeps[c]), None if deltas is None else float(deltas[c]),
                                 grid_bits, settings) for c in range(rows)])
    elif method == "wanda":
        out = wanda_rows(gram, W, keeps)
    else:
        out = sparsegpt_rows(gram, W, keeps, deltas, grid_bits, order=settings.order, damp=settings.damp,
                             block=settings.block)
    if method in ("wanda", "sparsegpt"):
        out = out.astype(np.float16).astype(np.float64)  # the spec stores kept values in FP16
    return out.reshape(weight.shape)


def _one_row(method: str, A: np.ndarray, w0: np.ndarray, keep: int, delta, bits, settings: Settings) -> np.ndarray:
    """A depthwise channel: the per-row pvq.bounds function on the channel's own inputs."""
    if method == "gptq":
        return bounds.gptq_quant(A, w0, delta, bits, order=settings.order, damp=settings.damp).weights
    if method == "wanda":
        return bounds.wanda_prune(A, w0, keep).weights
    return bounds.sparsegpt_prune(A, w0, keep, delta, bits, order=settings.order, damp=settings.damp,
                                  block=settings.block).weights
