"""The inputs that reach one layer through the model as it is now, as X^T X.

Post-training compression fixes the layers one at a time in the order the forward pass runs them;
each layer is fitted to the inputs it receives from the layers before it, already compressed (the
sequential procedure of GPTQ and SparseGPT). The model is run as a chain of :func:`segments`
(EfficientNet: stem, each block, head; any other model: one segment), so the calibration inputs of
a segment are computed once, through the compressed segments before it. :func:`layer_gram` runs a
segment's current weights on its inputs, stops at the layer, and accumulates X^T X of its
unfolded inputs in float64: one (K x K) matrix for a dense conv (K = in_channels * kh * kw, in the
order of ``weight.reshape(out, -1)``) or a linear layer, and one (kh kw x kh kw) matrix per channel
for a depthwise conv, whose every channel sees only its own input channel.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

LAYERS = (nn.Conv2d, nn.Linear)


class _Reached(Exception):
    """Raised by the hook once the layer's input is seen: nothing after it needs to run."""


def is_depthwise(layer: nn.Module) -> bool:
    return isinstance(layer, nn.Conv2d) and layer.groups > 1 and layer.groups == layer.in_channels \
        and layer.out_channels == layer.in_channels


def check_layer(name: str, layer: nn.Module) -> None:
    if isinstance(layer, nn.Conv2d) and layer.groups > 1 and not is_depthwise(layer):
        raise ValueError(f"layer {name!r}: grouped convolutions other than depthwise (groups = channels) "
                         f"are not supported (groups = {layer.groups})")


def segments(model: nn.Module) -> list:
    """Callables whose chain is ``model``'s forward pass in eval mode: the stem, every block and the
    head of a lukemelas-style EfficientNet (as its ``forward``, pooling without local_pooling), else
    the model itself."""
    parts = ("_conv_stem", "_bn0", "_swish", "_blocks", "_conv_head", "_bn1", "_avg_pooling", "_dropout", "_fc")
    if not all(hasattr(model, part) for part in parts) or getattr(model._global_params, "local_pooling", False):
        return [model]
    rate = model._global_params.drop_connect_rate

    def stem(x):
        return model._swish(model._bn0(model._conv_stem(x)))

    def block(index):
        scaled = rate * float(index) / len(model._blocks) if rate else rate
        return lambda x: model._blocks[index](x, drop_connect_rate=scaled)

    def head(x):
        x = model._avg_pooling(model._swish(model._bn1(model._conv_head(x))))
        return model._fc(model._dropout(x.view(x.shape[0], -1)))

    return [stem, *(block(i) for i in range(len(model._blocks))), head]


@torch.no_grad()
def execution_order(model: nn.Module, batch: torch.Tensor, run=None) -> list[tuple[str, nn.Module]]:
    """Every conv and linear layer of ``model`` as (name, module), in the order ``run`` (default: the
    model) calls them on ``batch`` (a layer it never reaches is left out: it sees no calibration input)."""
    names = {module: name for name, module in model.named_modules() if isinstance(module, LAYERS)}
    seen: list[nn.Module] = []
    hooks = [module.register_forward_pre_hook(lambda m, args: seen.append(m) if m not in seen else None)
             for module in names]
    try:
        (run or model.eval())(batch)
    finally:
        for hook in hooks:
            hook.remove()
    for module in seen:
        check_layer(names[module], module)
    return [(names[module], module) for module in seen]


def _padded(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    padding = getattr(layer, "static_padding", None)  # TF "same" padding applied inside forward
    x = padding(x) if padding is not None else x
    if not isinstance(layer.padding, tuple):
        raise ValueError(f"conv padding {layer.padding!r} is not supported: give explicit padding")
    return x


def _pointwise(layer: nn.Module) -> bool:
    return (isinstance(layer, nn.Conv2d) and tuple(layer.kernel_size) == (1, 1) and tuple(layer.stride) == (1, 1)
            and tuple(layer.padding) == (0, 0) and layer.groups == 1)


def unfolded(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The layer's input as rows of its receptive fields: (rows, K) for a dense layer,
    (C, rows, kh kw) for a depthwise conv."""
    if isinstance(layer, nn.Linear):
        return x.reshape(-1, x.shape[-1])
    x = _padded(layer, x)
    if _pointwise(layer):  # a 1x1 conv's receptive field is one pixel: no im2col
        return x.permute(0, 2, 3, 1).reshape(-1, x.shape[1])
    patches = F.unfold(x, layer.kernel_size, dilation=layer.dilation, padding=layer.padding, stride=layer.stride)
    if is_depthwise(layer):
        per_channel = patches.reshape(x.shape[0], layer.in_channels, -1, patches.shape[-1])
        return per_channel.permute(1, 0, 3, 2).reshape(layer.in_channels, -1, per_channel.shape[2])
    return patches.transpose(1, 2).reshape(-1, patches.shape[1])


@torch.no_grad()
def layer_gram(run, layer: nn.Module, batches, images_per_step: int = 8) -> tuple[np.ndarray, int]:
    """(X^T X in float64, rows of X) of ``layer``'s inputs over ``batches`` through ``run`` (a model in
    eval mode, or a segment) as it is: (K, K) for a dense layer, (C, kh kw, kh kw) for a depthwise conv.
    Unfolded ``images_per_step`` images at a time (a 5x5 depthwise im2col is 25 times its input)."""
    captured = []

    def hook(module, args):
        captured.append(args[0])
        raise _Reached

    handle = layer.register_forward_pre_hook(hook)
    gram, rows = None, 0
    try:
        for batch in batches:
            captured.clear()
            try:
                run(batch)
            except _Reached:
                pass
            if not captured:
                raise ValueError("the layer was not reached by the forward pass: it sees no calibration input")
            for part in captured[0].split(images_per_step):
                X = unfolded(layer, part).double()
                rows += X.shape[-2]
                step = X.transpose(-1, -2) @ X
                gram = step if gram is None else gram + step
    finally:
        handle.remove()
    if gram is None:
        raise ValueError("no calibration batches")
    return gram.numpy(), rows


def gram_root(G: np.ndarray) -> np.ndarray:
    """A with A^T A = G (batched over leading axes; G symmetric positive semidefinite, from eigh,
    negative rounding noise clipped), and exactly zero columns where G_ii = 0 (a dead input)."""
    values, vectors = np.linalg.eigh(G)
    A = np.sqrt(np.clip(values, 0.0, None))[..., :, None] * np.swapaxes(vectors, -1, -2)
    dead = np.diagonal(G, axis1=-2, axis2=-1) == 0
    return np.where(dead[..., None, :], 0.0, A)
