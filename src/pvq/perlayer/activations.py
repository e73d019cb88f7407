"""A layer's inputs on calibration images, unfolded so the layer is a matrix product: Y = X W^T.

Conv: X rows are im2col patches (one per image and output position), columns ordered as
weight.reshape(out, -1) (input channel, then kernel row, kernel column); a grouped conv's output
channel o only sees the columns of its group. Linear: X rows are the input vectors.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def capture_inputs(model: torch.nn.Module, layers: dict[str, torch.nn.Module],
                   images: torch.Tensor, batch: int = 8) -> dict[str, torch.Tensor]:
    """Run ``images`` through ``model`` once; return each layer's input (concatenated over batches)."""
    seen: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
    hooks = [module.register_forward_hook(lambda mod, args, out, name=name: seen[name].append(args[0].detach()))
             for name, module in layers.items()]
    try:
        with torch.no_grad():
            for start in range(0, len(images), batch):
                model(images[start:start + batch])
    finally:
        for hook in hooks:
            hook.remove()
    return {name: torch.cat(parts) for name, parts in seen.items()}


def unfold(module: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """X (rows x in_features*kernel) with module(x) == X @ weight.reshape(out, -1)^T (+ bias) for
    an ungrouped layer; grouped convs use column block g for the output channels of group g."""
    if isinstance(module, torch.nn.Linear):
        return x.reshape(-1, x.shape[-1])
    pad = getattr(module, "static_padding", None)  # TF "same" padding of efficientnet-lite-pytorch
    if pad is not None:
        x = pad(x)
    if isinstance(module.padding, str):
        raise ValueError(f"string padding {module.padding!r} is not supported")
    cols = F.unfold(x, module.kernel_size, dilation=module.dilation, padding=module.padding,
                    stride=module.stride)
    return cols.transpose(1, 2).reshape(-1, cols.shape[1])


def group_columns(module: torch.nn.Module, out_channel: int) -> slice:
    """Columns of the unfolded input that output channel ``out_channel`` reads."""
    weight = module.weight
    per_out = weight[0].numel()
    groups = getattr(module, "groups", 1)
    group = out_channel // (weight.shape[0] // groups)
    return slice(group * per_out, (group + 1) * per_out)
