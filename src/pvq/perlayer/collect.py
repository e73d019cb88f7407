"""Calibration -> per-layer chunk problems: one .npz per layer that the (torch-free) solvers read.

For a chunk of input features C and the selected output channels: R (n x n) with R^T R = X_C^T X_C
(so every error ||X_C (w - w0)||^2 is kept exactly while m rows shrink to n), the original weights
W0 (channels x n), and per bit width the layer's per-tensor MSE-optimal quantization step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from pvq.bounds import compress_rows
from pvq.io import atomic_path
from pvq.perlayer.activations import capture_inputs, group_columns, unfold
from pvq.perlayer.models import load_model_for_inputs, weight_layer
from pvq.quantize import mse_optimal_scale

# A chunk needs clearly more calibration rows than features for X^T X to be well determined.
MIN_ROWS_PER_FEATURE = 4


@dataclass(frozen=True)
class Selection:
    """Which part of a layer the study solves (seeded, so reruns pick the same)."""

    chunk_features: int   # input features per chunk (32-36 in the paper)
    chunks: int           # chunks per layer (0 = all)
    out_channels: int     # output channels per chunk (0 = all)
    seed: int


def _pick(total: int, count: int, rng: np.random.Generator) -> np.ndarray:
    if count <= 0 or count >= total:
        return np.arange(total)
    return np.sort(rng.choice(total, size=count, replace=False))


def layer_chunks(module: torch.nn.Module, x: torch.Tensor, selection: Selection,
                 seed_offset: int = 0) -> list[dict[str, np.ndarray]]:
    """The selected chunks of one layer given its captured input ``x``.

    Ungrouped conv / linear: chunks are consecutive runs of ``chunk_features`` input features shared
    by all output channels. Depthwise conv: a chunk is one channel's kernel (its own inputs).
    """
    rng = np.random.default_rng([selection.seed, seed_offset])
    weight = module.weight.detach().double().reshape(module.weight.shape[0], -1).numpy()
    X = unfold(module, x).double().numpy()
    out, per_out = weight.shape
    groups = getattr(module, "groups", 1)
    chunks = []
    if groups == 1:
        starts = np.arange(0, X.shape[1], selection.chunk_features)
        channels = _pick(out, selection.out_channels, rng)
        for index in _pick(starts.size, selection.chunks, rng):
            cols = slice(starts[index], min(starts[index] + selection.chunk_features, X.shape[1]))
            chunks.append({"chunk": index, "channels": channels, "R": X[:, cols], "w0": weight[channels, cols]})
    elif groups == out:
        for channel in _pick(out, selection.chunks, rng):
            cols = group_columns(module, int(channel))
            chunks.append({"chunk": channel, "channels": np.array([channel]), "R": X[:, cols],
                           "w0": weight[[channel], :]})
    else:
        raise ValueError(f"grouped conv with {groups} groups and {out} outputs is not supported")
    for chunk in chunks:
        rows, n = chunk["R"].shape
        if rows < MIN_ROWS_PER_FEATURE * n:
            raise ValueError(f"only {rows} calibration rows for {n} features; use more images")
        chunk["rows"] = rows
        chunk["R"] = compress_rows(chunk["R"])
    return chunks


def save_layers(path, layers: dict[str, tuple[list[dict], np.ndarray]], bits: list[int]) -> None:
    """Write each layer's chunks and per-tensor quantization steps (one per bit width) to one .npz;
    ``layers`` maps name -> (chunks, full weight tensor)."""
    arrays = {"bits": np.asarray(bits)}
    for name, (chunks, weight) in layers.items():
        arrays[f"{name}/delta"] = np.array([mse_optimal_scale(weight, b) for b in bits])
        arrays[f"{name}/chunk"] = np.array([c["chunk"] for c in chunks])
        arrays[f"{name}/rows"] = np.array([c["rows"] for c in chunks])
        for i, chunk in enumerate(chunks):
            for key in ("R", "w0", "channels"):
                arrays[f"{name}/{key}_{i}"] = chunk[key]
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)


def load_layer(path, name: str) -> tuple[dict[str, np.ndarray], list[dict[str, np.ndarray]]]:
    """(layer arrays: bits, delta; list of chunks: chunk, rows, R, w0, channels) of layer ``name``."""
    with np.load(path) as data:
        if f"{name}/chunk" not in data:
            raise KeyError(f"{path} holds no layer {name!r}")
        ids = data[f"{name}/chunk"]
        chunks = [{"chunk": int(ids[i]), "rows": int(data[f"{name}/rows"][i]), "R": data[f"{name}/R_{i}"],
                   "w0": data[f"{name}/w0_{i}"], "channels": data[f"{name}/channels_{i}"]}
                  for i in range(ids.size)]
        return {"bits": data["bits"], "delta": data[f"{name}/delta"]}, chunks


def calibration_images(crop: int, count: int, seed: int, imagenet_path=None, mean=(0.5,),
                       std=(0.5,)) -> torch.Tensor:
    """``count`` seeded random crops (N, 3, crop, crop): of the bundled photos, or of ImageNet
    training images when ``imagenet_path`` is set (the paper tier)."""
    from pvq.models.images import bundled_photos, imagenet_photos, random_crops

    photos = (list(bundled_photos().values()) if imagenet_path is None
              else imagenet_photos(imagenet_path, count, seed))
    return random_crops(photos, count, crop, seed, mean=mean, std=std)


def collect_model(model_name: str, layers: list[str], out, selection: Selection, bits: list[int],
                  images: int, imagenet_path=None) -> None:
    """Capture every listed layer's input in one pass over the calibration images; save them to ``out``."""
    torch.manual_seed(selection.seed)
    model, crop, mean, std = load_model_for_inputs(model_name)
    modules = {name: weight_layer(model, name) for name in layers}
    inputs = capture_inputs(model, modules,
                            calibration_images(crop, images, selection.seed, imagenet_path, mean, std))
    saved = {}
    for offset, name in enumerate(layers):
        chunks = layer_chunks(modules[name], inputs[name], selection, seed_offset=offset)
        saved[name] = (chunks, modules[name].weight.detach().double().numpy())
        print(f"{model_name} {name}: {len(chunks)} chunks, {chunks[0]['rows']} rows, "
              f"n = {chunks[0]['R'].shape[1]}, {len(chunks[0]['channels'])} channels", flush=True)
    save_layers(out, saved, bits)
