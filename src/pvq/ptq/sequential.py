"""Whole-model post-training compression, one layer at a time (the GPTQ / SparseGPT procedure).

The conv and linear layers are compressed in the order the forward pass runs them. A data-aware
method fits each layer to the inputs that reach it through the layers before it, already
compressed (pvq.ptq.calibration.layer_gram on the model as it is at that moment), so the errors of
earlier layers are part of what later layers see; batch norm and biases are left as they are.
"""

from __future__ import annotations

import time

import torch
from torch import nn

from pvq.ptq.calibration import execution_order, is_depthwise, layer_gram, segments
from pvq.ptq.methods import DATA_FREE, Settings, compress_layer, method_of


@torch.no_grad()
def compress_model_(model: nn.Module, method: str, bits: int, batches: list[torch.Tensor],
                    settings: Settings, progress=None) -> dict:
    """Compress every conv and linear weight of ``model`` in place by ``method`` at b ``bits`` (storage
    of pvq.ptq.methods.method_of), calibrating on ``batches``. Returns the spec, the exact storage
    (bits_per_weight over all compressed weights), layer count and seconds."""
    start = time.perf_counter()
    model.eval()
    value = method_of(method, bits, settings)
    storage = numel = 0.0
    count = 0
    inputs = list(batches)
    for segment in segments(model):
        for name, layer in execution_order(model, inputs[0], segment):
            weight = layer.weight.detach().cpu().double().numpy()
            gram = None if method in DATA_FREE else layer_gram(segment, layer, inputs)[0]
            compressed = compress_layer(method, bits, weight, gram, is_depthwise(layer), settings)
            layer.weight.copy_(torch.from_numpy(compressed).to(layer.weight.dtype))
            storage += value.storage_bits(weight.shape)
            numel += weight.size
            count += 1
            if progress is not None:
                progress(f"{method} b={bits}: {name} {tuple(weight.shape)} ({count} layers, "
                         f"{time.perf_counter() - start:.1f} s)")
        inputs = [segment(x) for x in inputs]
    return {"spec": value.spec, "bits_per_weight": storage / numel, "layers": count,
            "seconds": time.perf_counter() - start}

