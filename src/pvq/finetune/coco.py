"""Table 1's object detection row: EfficientDet on MS COCO 2017, COCO mAP (paper tier; needs coco_path).
The interface of pvq.finetune.tasks.

- Model: EfficientDet through ``effdet`` (Ross Wightman's PyTorch implementation, on PyPI) with its
  published COCO weights; ``finetune.coco.architecture`` names the variant (default
  ``tf_efficientdet_d1``, the weights ported from the official TensorFlow release, whose COCO mAP of
  about 40 matches the paper's 'Orig.' 40.2; the paper does not name its variant).
- Data: ``<coco_path>/train2017``, ``/val2017`` and ``/annotations/instances_{train,val}2017.json``,
  parsed by effdet's COCO dataset (pycocotools); ``val_images`` training images (seeded) are held out
  to choose the learning rate, val2017 is the reported test set. Training: effdet's COCO training
  transform (random flip, random resize and pad to the model's input size); evaluation: resize and
  pad. Images are normalised with ImageNet's mean and std, as effdet's loader does.
- Loss: effdet's focal loss and Huber box loss on the anchors its AnchorLabeler assigns.
- Metric ``map``: COCO AP@[.5:.95] (pycocotools' COCOeval, boxes) of the detections effdet's
  post-processing keeps (NMS, at most 100 per image) in original image coordinates, in %.
- Batch norm trains in train mode and is re-estimated on training images after fine-tuning.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from pvq.finetune.batchnorm import reestimate_batchnorm_
from pvq.finetune.evaluate import device
from pvq.optional import require
from pvq.finetune.tasks import epoch_generator, hold_out

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)  # effdet's (timm's ImageNet) defaults
# App. H/I: backbone stages at strides 4, 16 and 32 (efficientnet and mobilenet backbones alike; at
# 640 px the stem's output would take 26 MB per image in float64).
REPRESENTATION_LAYERS = ("backbone.blocks.1", "backbone.blocks.3", "backbone.blocks.5")
BN_BATCHES = 50
EVAL_BATCH = 8


def effdet_module():
    require("pycocotools", "pycocotools", "the detection task")
    return require("effdet", "effdet", "the detection task")


def efficientdet_config(settings: dict):
    """effdet's model config of ``finetune.coco.architecture``."""
    return effdet_module().get_efficientdet_config(settings["coco"]["architecture"])


def build_efficientdet(settings: dict, pretrained: bool) -> nn.Module:
    """The bare EfficientDet (returns per-level class and box outputs), published weights when ``pretrained``."""
    effdet = effdet_module()
    config = efficientdet_config(settings)
    model = effdet.EfficientDet(config, pretrained_backbone=False)
    if pretrained:
        from pvq.models.weights import WeightsError

        if not config.url:  # effdet would warn and go on with random weights
            raise WeightsError(f"efficientdet: effdet publishes no weights for {config.name!r}; choose a variant "
                               "with COCO weights in finetune.coco.architecture")
        try:
            effdet.load_pretrained(model, config.url)
        except (OSError, RuntimeError) as error:
            raise WeightsError(f"efficientdet: cannot load the {config.name} weights from {config.url}: {error}") \
                from error
    return model


def normalise(images: torch.Tensor) -> torch.Tensor:
    """uint8 (B, 3, H, W) from effdet's collate -> float, ImageNet mean and std."""
    mean = torch.tensor(MEAN, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=images.device).view(1, 3, 1, 1)
    return (images.float() / 255.0 - mean) / std


class Transformed(Dataset):
    """A dataset of (PIL image, annotations) seen through one of effdet's (image, annotations) transforms."""

    def __init__(self, data, transform):
        self.data, self.transform = data, transform

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index):
        return self.transform(*self.data[index])


def coco_detections(detections: torch.Tensor, image_ids) -> list[dict]:
    """effdet's (B, max_det, 6) detections (x0, y0, x1, y1, score, class; zero rows pad) as COCO results."""
    results = []
    for boxes, image_id in zip(detections.cpu().numpy(), image_ids):
        for x0, y0, x1, y1, score, label in boxes:
            if score <= 0:
                continue
            results.append({"image_id": int(image_id), "category_id": int(label),
                            "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)], "score": float(score)})
    return results


def coco_map(ground_truth, results: list[dict], image_ids) -> float:
    """COCO AP@[.5:.95] (%) of ``results`` on the images ``image_ids`` of ``ground_truth`` (a pycocotools
    COCO); no detection at all scores 0."""
    if not results:
        return 0.0
    from pycocotools.cocoeval import COCOeval

    evaluation = COCOeval(ground_truth, ground_truth.loadRes(results), "bbox")
    evaluation.params.imgIds = sorted(int(i) for i in image_ids)
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    return 100.0 * max(float(evaluation.stats[0]), 0.0)  # -1: no ground-truth box in these images


class COCOTask:
    """EfficientDet on MS COCO 2017 (see the module docstring); the interface of pvq.finetune.tasks."""

    metric = "map"
    table_metrics = ("map",)
    frozen_statistics = False
    channels_last = False
    representation_layers = REPRESENTATION_LAYERS

    def __init__(self, settings: dict):
        effdet_module()
        from effdet.anchors import AnchorLabeler, Anchors
        from effdet.data import create_dataset
        from effdet.data.loader import DetectionFastCollate
        from effdet.data.transforms import transforms_coco_eval, transforms_coco_train
        from effdet.loss import DetectionLoss

        root = settings.get("coco_path")
        if root is None:
            raise ValueError("config key 'coco_path' is null: the efficientdet model needs MS COCO 2017")
        options = settings["coco"]
        self.workers, self.representation_images = options["workers"], options["representation_images"]
        self.config = efficientdet_config(settings)
        size = tuple(self.config.image_size)
        train, test = create_dataset("coco2017", root, splits=("train", "val"))
        held, kept = hold_out(len(train), options["val_images"], settings["seed"], "finetune.coco.val_images")
        train_transform = transforms_coco_train(size, use_prefetcher=True, mean=MEAN, std=STD)
        eval_transform = transforms_coco_eval(size, use_prefetcher=True, mean=MEAN, std=STD)
        self.train = Subset(Transformed(train, train_transform), kept)
        self.held = {"val": (Subset(Transformed(train, eval_transform), held), train.parser.coco,
                             [train.parser.img_ids[i] for i in held]),
                     "test": (Transformed(test, eval_transform), test.parser.coco, list(test.parser.img_ids))}
        self.collate = DetectionFastCollate()
        self.anchors = Anchors.from_config(self.config).to(device())
        self.labeler = AnchorLabeler(self.anchors, self.config.num_classes, match_threshold=0.5)
        self.loss_fn = DetectionLoss(self.config)

    def _loader(self, data, batch_size, generator=None, shuffle=False, drop_last=False):
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle, generator=generator, drop_last=drop_last,
                          num_workers=self.workers, pin_memory=torch.cuda.is_available(), collate_fn=self.collate)

    def steps_per_epoch(self, batch_size: int) -> int:
        return len(self.train) // batch_size

    def train_batches(self, epoch: int, seed: int, batch_size: int):
        loader = self._loader(self.train, batch_size, epoch_generator(seed, epoch), shuffle=True, drop_last=True)
        for images, target in loader:
            yield normalise(images), {"bbox": target["bbox"], "cls": target["cls"]}

    def loss(self, outputs, targets: dict) -> torch.Tensor:
        class_out, box_out = outputs
        cls_targets, box_targets, positives = self.labeler.batch_label_anchors(targets["bbox"], targets["cls"])
        return self.loss_fn(class_out, box_out, cls_targets, box_targets, positives)[0]

    def bn_batches(self, batch_size: int):
        for i, batch in enumerate(self.train_batches(0, 0, batch_size)):
            if i == BN_BATCHES:
                break
            yield batch

    def reestimate_batchnorm_(self, model: nn.Module, batch_size: int) -> None:
        reestimate_batchnorm_(model, self.bn_batches(batch_size), device())

    @torch.no_grad()
    def detections(self, model: nn.Module, data, image_ids) -> list[dict]:
        """COCO results of ``model`` on ``data`` (effdet's post-processing, original image coordinates)."""
        from effdet.bench import _batch_detection, _post_process

        model.eval()
        where = next(model.parameters()).device
        results, offset = [], 0
        for images, target in self._loader(data, EVAL_BATCH):
            class_out, box_out = model(normalise(images.to(where)))
            class_out, box_out, indices, classes = _post_process(
                class_out, box_out, num_levels=self.config.num_levels, num_classes=self.config.num_classes,
                max_detection_points=self.config.max_detection_points)
            found = _batch_detection(len(images), class_out, box_out, self.anchors.boxes.to(where), indices, classes,
                                     target["img_scale"].to(where), target["img_size"].to(where),
                                     max_det_per_image=self.config.max_det_per_image, soft_nms=self.config.soft_nms)
            results += coco_detections(found, image_ids[offset:offset + len(images)])
            offset += len(images)
        return results

    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        data, ground_truth, image_ids = self.held[split]
        return {"map": coco_map(ground_truth, self.detections(model, data, image_ids), image_ids)}

    def representation_inputs(self) -> torch.Tensor:
        data = self.held["val"][0]
        count = min(self.representation_images, len(data))
        return normalise(torch.stack([torch.from_numpy(data[i][0]) for i in range(count)]))

    def describe(self) -> dict:
        return {"architecture": self.config.name, "image_size": list(self.config.image_size),
                "train_images": len(self.train), "val_images": len(self.held["val"][2]),
                "test_images": len(self.held["test"][2])}
