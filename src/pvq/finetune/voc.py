"""Table 1's semantic segmentation row: DeepLab-V3 on Pascal VOC 2012, mIoU over its 21 classes (paper
tier; needs voc_path). The interface of pvq.finetune.tasks.

- Model: torchvision's DeepLab-V3 with a MobileNet-V3-Large backbone and its published weights trained
  on COCO images with the 20 VOC classes (``COCO_WITH_VOC_LABELS_V1``). The paper's MobileNet-V2
  backbone has no published torchvision weights; this is the closest published DeepLab-V3 of the same
  mobile family. The auxiliary head is dropped (the paper reports the main output only).
- Data: ``<voc_path>/VOCdevkit/VOC2012`` in its standard layout (JPEGImages, SegmentationClass PNG
  masks with 255 on object boundaries, ImageSets/Segmentation/{train,val}.txt), read by torchvision's
  VOCSegmentation. ``val_images`` training images (seeded) are held out to choose the learning rate;
  the official val split is the reported test set.
- Training pairs: the shorter side rescaled to a random size in [0.5, 2] x ``base_size``, a random
  horizontal flip, a random ``crop_size`` square (padding with 0 in the image, 255 in the mask); the
  weights' own normalisation. Evaluation: the shorter side at ``base_size``, one image per batch.
- Loss: pixel cross-entropy, boundary pixels (255) ignored. Metric ``miou``: torchmetrics'
  MulticlassJaccardIndex (macro average over the classes that occur in the predictions or the labels
  of the split, boundary pixels ignored) over every pixel of the split, in %.
- Batch norm trains in train mode and is re-estimated on training crops after fine-tuning.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Subset

from pvq.finetune.batchnorm import reestimate_batchnorm_
from pvq.finetune.evaluate import device
from pvq.optional import require
from pvq.finetune.tasks import epoch_generator, hold_out

NUM_CLASSES = 21  # background and the 20 VOC object classes
IGNORE = 255      # VOC's boundary label
ARCHITECTURE = "deeplabv3_mobilenet_v3_large"
# App. H/I: backbone stages (output strides 4, 8, 16, 16 with dilation) and the ASPP output.
REPRESENTATION_LAYERS = ("backbone.3", "backbone.6", "backbone.12", "backbone.16", "classifier.0")
BN_BATCHES = 50


def published_weights():
    from torchvision.models.segmentation import DeepLabV3_MobileNet_V3_Large_Weights

    return DeepLabV3_MobileNet_V3_Large_Weights.COCO_WITH_VOC_LABELS_V1


def build_deeplabv3(pretrained: bool) -> nn.Module:
    """DeepLab-V3 (MobileNet-V3-Large backbone, 21 classes, no auxiliary head), published weights when
    ``pretrained``; the same architecture and state-dict keys either way."""
    from torchvision.models.segmentation import deeplabv3_mobilenet_v3_large

    if not pretrained:
        return deeplabv3_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=NUM_CLASSES,
                                            aux_loss=False)
    from pvq.models.weights import WeightsError

    try:
        model = deeplabv3_mobilenet_v3_large(weights=published_weights())
    except (OSError, RuntimeError) as error:  # no network, a damaged download
        raise WeightsError(f"deeplabv3: cannot load torchvision weights: {error}") from error
    model.aux_classifier = None
    return model


def weights_name() -> str:
    weights = published_weights()
    return (f"torchvision {type(weights).__name__}.{weights.name} (MobileNet-V3-Large backbone: the paper's "
            "MobileNet-V2 DeepLab-V3 has no published torchvision weights)")


def normalisation() -> tuple[tuple[float, ...], tuple[float, ...]]:
    transform = published_weights().transforms()
    return tuple(transform.mean), tuple(transform.std)


class TrainPair:
    """Random rescale, flip and crop of an (image, mask) pair (see the module docstring)."""

    def __init__(self, base_size: int, crop_size: int, mean, std):
        self.base_size, self.crop_size, self.mean, self.std = base_size, crop_size, mean, std

    def __call__(self, image, mask):
        from torchvision.transforms import InterpolationMode
        from torchvision.transforms import functional as TF

        size = int(torch.randint(self.base_size // 2, 2 * self.base_size + 1, (1,)))
        image = TF.resize(image, size, antialias=True)
        mask = TF.resize(mask, size, interpolation=InterpolationMode.NEAREST)
        if float(torch.rand(1)) < 0.5:
            image, mask = TF.hflip(image), TF.hflip(mask)
        x = TF.normalize(TF.to_tensor(image), self.mean, self.std)
        y = torch.as_tensor(np.array(mask), dtype=torch.int64)
        pad_h, pad_w = max(self.crop_size - x.shape[1], 0), max(self.crop_size - x.shape[2], 0)
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), value=0.0)
            y = F.pad(y, (0, pad_w, 0, pad_h), value=IGNORE)
        top = int(torch.randint(0, x.shape[1] - self.crop_size + 1, (1,)))
        left = int(torch.randint(0, x.shape[2] - self.crop_size + 1, (1,)))
        window = (slice(top, top + self.crop_size), slice(left, left + self.crop_size))
        return x[(slice(None), *window)], y[window]


class EvalPair:
    """The shorter side at ``base_size`` (the mask by nearest neighbour), the weights' normalisation."""

    def __init__(self, base_size: int, mean, std):
        self.base_size, self.mean, self.std = base_size, mean, std

    def __call__(self, image, mask):
        from torchvision.transforms import InterpolationMode
        from torchvision.transforms import functional as TF

        image = TF.resize(image, self.base_size, antialias=True)
        mask = TF.resize(mask, self.base_size, interpolation=InterpolationMode.NEAREST)
        return (TF.normalize(TF.to_tensor(image), self.mean, self.std),
                torch.as_tensor(np.array(mask), dtype=torch.int64))


def segmentation_logits(outputs) -> torch.Tensor:
    """torchvision's segmentation models return {"out": (B, classes, H, W), ...}."""
    return outputs["out"] if isinstance(outputs, dict) else outputs


def segmentation_loss(outputs, masks: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(segmentation_logits(outputs), masks, ignore_index=IGNORE)


@torch.no_grad()
def mean_iou(model: nn.Module, batches, num_classes: int = NUM_CLASSES) -> float:
    """mIoU (%) of ``model`` over every pixel of ``batches`` of (images, masks); see the module docstring."""
    metrics = require("torchmetrics", "torchmetrics", "the segmentation task")
    jaccard = metrics.classification.MulticlassJaccardIndex(num_classes=num_classes, ignore_index=IGNORE,
                                                            average="macro")
    model.eval()
    where = next(model.parameters()).device
    for x, y in batches:
        predicted = segmentation_logits(model(x.to(where))).argmax(1).cpu()
        jaccard.update(predicted, y)
    return 100.0 * float(jaccard.compute())


class VOCTask:
    """DeepLab-V3 on Pascal VOC 2012 (see the module docstring); the interface of pvq.finetune.tasks."""

    metric = "miou"
    table_metrics = ("miou",)
    frozen_statistics = False
    channels_last = False
    representation_layers = REPRESENTATION_LAYERS

    def __init__(self, settings: dict):
        from torchvision.datasets import VOCSegmentation

        root = settings.get("voc_path")
        if root is None:
            raise ValueError("config key 'voc_path' is null: the deeplabv3 model needs Pascal VOC 2012")
        options = settings["voc"]
        self.workers, self.representation_images = options["workers"], options["representation_images"]
        mean, std = normalisation()
        train = VOCSegmentation(root, year="2012", image_set="train",
                                transforms=TrainPair(options["base_size"], options["crop_size"], mean, std))
        plain = VOCSegmentation(root, year="2012", image_set="train",
                                transforms=EvalPair(options["base_size"], mean, std))
        held, kept = hold_out(len(train), options["val_images"], settings["seed"], "finetune.voc.val_images")
        self.train, self.val = Subset(train, kept), Subset(plain, held)
        self.test = VOCSegmentation(root, year="2012", image_set="val",
                                    transforms=EvalPair(options["base_size"], mean, std))
        self.crop_size = options["crop_size"]

    def _loader(self, data, batch_size, generator=None, shuffle=False, drop_last=False):
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle, generator=generator, drop_last=drop_last,
                          num_workers=self.workers, pin_memory=torch.cuda.is_available())

    def steps_per_epoch(self, batch_size: int) -> int:
        return len(self.train) // batch_size

    def train_batches(self, epoch: int, seed: int, batch_size: int):
        return self._loader(self.train, batch_size, epoch_generator(seed, epoch), shuffle=True, drop_last=True)

    def loss(self, outputs, targets: torch.Tensor) -> torch.Tensor:
        return segmentation_loss(outputs, targets)

    def bn_batches(self, batch_size: int):
        loader = self._loader(self.train, batch_size, torch.Generator().manual_seed(0), shuffle=True, drop_last=True)
        for i, batch in enumerate(loader):
            if i == BN_BATCHES:
                break
            yield batch

    def reestimate_batchnorm_(self, model: nn.Module, batch_size: int) -> None:
        reestimate_batchnorm_(model, self.bn_batches(batch_size), device())

    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        data = {"val": self.val, "test": self.test}[split]
        return {"miou": mean_iou(model, self._loader(data, 1))}

    def representation_inputs(self) -> torch.Tensor:
        """Centre ``crop_size`` squares of held-out images (one size, so they stack)."""
        from torchvision.transforms import functional as TF

        count = min(self.representation_images, len(self.val))
        return torch.stack([TF.center_crop(self.val[i][0], [self.crop_size]) for i in range(count)])

    def describe(self) -> dict:
        return {"train_images": len(self.train), "val_images": len(self.val), "test_images": len(self.test)}
