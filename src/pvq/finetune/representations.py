"""How far a compressed model's activations are from the original's (App. H/I): SNR and linear CKA.

Activations of the named layers are captured with forward hooks on held-out inputs and flattened to
(N, features). SNR_dB = 10 log10(sum a^2 / sum (a - a_hat)^2) with a the original activations;
CKA as in pvq.metrics.linear_cka.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from pvq.metrics import linear_cka, snr_db


@torch.no_grad()
def capture_activations(model: nn.Module, layers, inputs: torch.Tensor, batch_size: int = 256) -> dict[str, np.ndarray]:
    """{layer name: (N, features) float64 array} of the outputs of ``layers`` on ``inputs``, eval mode."""
    model.eval()
    modules = dict(model.named_modules())
    missing = [name for name in layers if name not in modules]
    if missing:
        raise KeyError(f"no such layers in the model: {missing}")
    captured: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
    handles = [modules[name].register_forward_hook(
        lambda _m, _i, out, name=name: captured[name].append(out.detach().flatten(1).cpu()))
        for name in layers]
    where = next(model.parameters()).device
    try:
        for i in range(0, len(inputs), batch_size):
            model(inputs[i:i + batch_size].to(where))
    finally:
        for handle in handles:
            handle.remove()
    return {name: torch.cat(parts).double().numpy() for name, parts in captured.items()}


def compare_activations(reference: dict[str, np.ndarray], other: dict[str, np.ndarray]) -> list[dict]:
    """One row per layer: its index, SNR (dB) and linear CKA of ``other`` against ``reference``."""
    rows = []
    for index, (name, ref) in enumerate(reference.items()):
        got = other[name]
        rows.append({"layer": name, "layer_index": index,
                     "snr_db": float(snr_db(np.sum(ref**2), np.sum((ref - got) ** 2))),
                     "cka": linear_cka(ref, got)})
    return rows
