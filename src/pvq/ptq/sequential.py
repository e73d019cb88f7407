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

from pvq.ptq.calibration import execution_order, gram_root, is_depthwise, layer_gram
from pvq.ptq.methods import DATA_FREE, Settings, compress_layer, method_of


@torch.no_grad()
def compress_model_(model: nn.Module, method: str, bits: int, batches: list[torch.Tensor],
                    settings: Settings = Settings(), progress=None) -> dict:
    """Compress every conv and linear weight of ``model`` in place by ``method`` at b ``bits`` (storage
    of pvq.ptq.methods.method_of), calibrating on ``batches``. Returns the spec, the exact storage
    (bits_per_weight over all compressed weights), layer count and seconds."""
    start = time.perf_counter()
    layers = execution_order(model, batches[0])
    value = method_of(method, bits, settings)
    storage = numel = 0.0
    for count, (name, layer) in enumerate(layers, 1):
        weight = layer.weight.detach().cpu().double().numpy()
        root = None
        if method not in DATA_FREE:
            gram, _ = layer_gram(model, layer, batches)
            root = gram_root(gram)
        compressed = compress_layer(method, bits, weight, root, is_depthwise(layer), settings)
        layer.weight.copy_(torch.from_numpy(compressed).to(layer.weight.dtype))
        storage += value.storage_bits(weight.shape)
        numel += weight.size
        if progress is not None:
            progress(f"{method} b={bits}: {name} {tuple(weight.shape)} ({count}/{len(layers)}, "
                     f"{time.perf_counter() - start:.1f} s)")
    return {"spec": value.spec, "bits_per_weight": storage / numel, "layers": len(layers),
            "seconds": time.perf_counter() - start}


def nonzero_weights(model: nn.Module) -> int:
    """Nonzero entries of every conv and linear weight."""
    return int(sum(int(torch.count_nonzero(m.weight)) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))))

