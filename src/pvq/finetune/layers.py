"""Which weight tensors a compression touches: every Conv2d and Linear weight, in module order."""

from __future__ import annotations

from torch import nn

POLICIES = ("compress", "keep")


def compressible_layers(model: nn.Module, first_last: str = "compress") -> dict[str, nn.Module]:
    """Conv2d/Linear modules by name; ``first_last="keep"`` leaves the first and last of them in FP."""
    if first_last not in POLICIES:
        raise ValueError(f"first_last must be one of {POLICIES}, got {first_last!r}")
    layers = {name: m for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))}
    if first_last == "keep" and len(layers) > 2:
        names = list(layers)
        layers = {name: layers[name] for name in names[1:-1]}
    return layers
