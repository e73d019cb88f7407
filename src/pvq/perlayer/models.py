"""The layers the per-layer study reads, found by name in a model of pvq.models.registry."""

from __future__ import annotations

import torch

from pvq.models.registry import load_model, preprocessing


def load_model_for_inputs(name: str) -> tuple[torch.nn.Module, int, tuple, tuple]:
    """(pretrained model in eval mode, input crop size, normalisation mean, std), through the one loader."""
    prep = preprocessing(name)
    return load_model(name), prep.crop, prep.mean, prep.std


def weight_layer(model: torch.nn.Module, layer: str) -> torch.nn.Module:
    """The conv or linear module called ``layer``; a clear error names the ones that exist."""
    modules = dict(model.named_modules())
    module = modules.get(layer)
    if not isinstance(module, (torch.nn.Conv2d, torch.nn.Linear)):
        known = [n for n, m in modules.items() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
        raise KeyError(f"{layer!r} is not a conv or linear layer of this model; some that are: "
                       f"{known[:5]} ... {known[-3:]}")
    return module
