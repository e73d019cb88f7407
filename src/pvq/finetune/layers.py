"""Which weight tensors a compression touches: every Conv2d and Linear weight, in module order.

A Linear whose weight is another module's parameter too (OPT's LM head is tied to its token
embedding) is left out: compressing it would compress the embedding, which the paper does not touch,
and a parametrization or mask on one of the two would leave the other reading the old tensor.
"""

from __future__ import annotations

from torch import nn

POLICIES = ("compress", "keep")


def compressible_layers(model: nn.Module, first_last: str = "compress") -> dict[str, nn.Module]:
    """Conv2d/Linear modules by name; ``first_last="keep"`` leaves the first and last of them in FP."""
    if first_last not in POLICIES:
        raise ValueError(f"first_last must be one of {POLICIES}, got {first_last!r}")
    layers = {name: m for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))}
    others = {id(p) for m in model.modules() if not isinstance(m, (nn.Conv2d, nn.Linear))
              for p in m.parameters(recurse=False)}
    layers = {name: m for name, m in layers.items() if id(m.weight) not in others}
    if first_last == "keep" and len(layers) > 2:
        names = list(layers)
        layers = {name: layers[name] for name in names[1:-1]}
    return layers
