"""Offline fine-tuning of a real ImageNet-pretrained model by distillation from its uncompressed self,
on the natural photos that ship inside installed wheels (pvq.models.photos). The default tier's
EfficientNet-Lite0 task; the interface of pvq.finetune.tasks.

- Data: the photo *scenes* are split into train, val and test by name (a scene is never in two
  groups; the two views of the motorcycle are one scene). Training batches are fresh seeded random
  crops of the training scenes (a square of min_scale..1 of the shorter side, random horizontal
  flip, resized to ``resolution``), a pure function of (seed, epoch, step). Held-out sets are
  ``eval_crops`` such crops per val or test scene, drawn once from the config's base seed, so every
  method and seed is scored on the same images.
- Loss: T^2 KL(teacher || student) on the logits (pvq.finetune.distill); the teacher is the
  uncompressed model, loaded through pvq.models.registry like every other stage's.
- Metrics: ``agree`` (top-1 agreement with the teacher, %), ``kl``, ``logit_snr_db``; ``acc``
  (top-1 in the scene's ImageNet classes, %) on the test scenes whose class is known.
- Batch norm: the photos are not ImageNet, so the model trains in eval mode (statistics frozen, no
  stochastic depth) and its statistics are re-estimated relative to the teacher's
  (pvq.finetune.batchnorm.reestimate_batchnorm_relative_) before training, after every epoch and
  so after training.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from pvq.finetune.batchnorm import batch_input_moments, reestimate_batchnorm_relative_
from pvq.finetune.distill import distillation_loss, output_distances
from pvq.finetune.evaluate import device
from pvq.models.images import random_crops
from pvq.models.photos import SCENES, check_disjoint, scene_photos

# Independent random streams derived from the base seed (numpy SeedSequence entropy lists).
_EVAL_STREAM, _BN_STREAM = 7_001, 7_002
EVAL_BATCH = 64


def scene_crops(scenes, per_scene: int, resolution: int, seed, min_scale: float, mean, std) -> tuple:
    """``per_scene`` seeded random crops of every scene, interleaved (scene 0, 1, ..., 0, 1, ...;
    multi-view scenes alternate views); returns (crops (N, 3, r, r), scene index per crop)."""
    views = [scene_photos(name) for name in scenes]
    order = [(s, views[s][k % len(views[s])]) for k in range(per_scene) for s in range(len(scenes))]
    crops = random_crops([photo for _, photo in order], len(order), resolution, seed, min_scale, mean, std)
    return crops, np.array([s for s, _ in order])


class PhotoDistillationTask:
    """Distill ``model_name`` (registry name; pretrained weights) on the wheels' photos; see the module doc."""

    metric = "agree"
    frozen_statistics = True
    channels_last = True

    def __init__(self, model_name: str, settings: dict, teacher: nn.Module | None = None):
        from pvq.finetune.imagenet import REPRESENTATION_LAYERS
        from pvq.models.registry import load_model, preprocessing

        options = settings["photos"]
        self.scenes = {split: list(options[f"{split}_scenes"]) for split in ("train", "val", "test")}
        check_disjoint(**self.scenes)
        for split, names in self.scenes.items():
            if not names:
                raise ValueError(f"config key 'finetune.photos.{split}_scenes' is empty: name at least one scene")
        prep = preprocessing(model_name)
        self.mean, self.std = prep.mean, prep.std
        self.resolution, self.min_scale = options["resolution"], options["min_scale"]
        self.steps, self.temperature = options["steps_per_epoch"], options["temperature"]
        self.representation_layers = REPRESENTATION_LAYERS[model_name]
        self.representation_images = options["representation_images"]
        self.train_views = [(name, view) for name in self.scenes["train"] for view in scene_photos(name)]
        base = settings["seed"]
        self.held = {split: scene_crops(self.scenes[split], options["eval_crops"], self.resolution,
                                        [base, _EVAL_STREAM, i], self.min_scale, self.mean, self.std)
                     for i, split in enumerate(("val", "test"))}
        self.labelled = [i for i, name in enumerate(self.scenes["test"]) if SCENES[name].classes]
        self.table_metrics = ("agree", "acc") if self.labelled else ("agree",)
        self._bn = [(crops, None) for crops in random_crops(
            [view for _, view in self.train_views], options["bn_batches"] * options["bn_batch_size"],
            self.resolution, [base, _BN_STREAM], self.min_scale, self.mean, self.std
        ).split(options["bn_batch_size"])]
        if teacher is None:
            teacher = load_model(model_name, pretrained=True)
        self.teacher = self._prepare(teacher.to(device()).eval())
        self._teacher_logits = {split: self._logits(self.teacher, crops) for split, (crops, _) in self.held.items()}
        self._teacher_moments = batch_input_moments(self.teacher, self._bn, device())

    def _prepare(self, model: nn.Module) -> nn.Module:
        return model.to(memory_format=torch.channels_last) if self.channels_last else model

    def _input(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(device())
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    @torch.no_grad()
    def _logits(self, model: nn.Module, crops: torch.Tensor) -> torch.Tensor:
        model.eval()
        return torch.cat([model(self._input(part)).float().cpu() for part in crops.split(EVAL_BATCH)])

    def steps_per_epoch(self, batch_size: int) -> int:
        return self.steps

    def train_batches(self, epoch: int, seed: int, batch_size: int):
        """Fresh crops of the training scenes (scenes in turn, views alternating), with the teacher's logits."""
        for step in range(self.steps):
            offset = step * batch_size
            n = len(self.train_views)
            photos = [self.train_views[(offset + i) % n][1] for i in range(batch_size)]
            x = self._input(random_crops(photos, batch_size, self.resolution, [seed, epoch, step],
                                         self.min_scale, self.mean, self.std))
            with torch.no_grad():
                target = self.teacher(x)
            yield x, target

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return distillation_loss(outputs, targets, self.temperature)

    def reestimate_batchnorm_(self, model: nn.Module, batch_size: int | None = None) -> None:
        """The teacher's statistics moved by the student's shift on fixed crops of the training scenes."""
        reestimate_batchnorm_relative_(model, self.teacher, self._bn, device(), anchor=self._teacher_moments)

    def evaluate(self, model: nn.Module, split: str) -> dict[str, float]:
        crops, scenes = self.held[split]
        logits = self._logits(model, crops)
        result = output_distances(logits, self._teacher_logits[split])
        if split == "test" and self.labelled:
            top1 = logits.argmax(1).numpy()
            hits = [int(top1[i]) in SCENES[self.scenes["test"][s]].classes
                    for i, s in enumerate(scenes) if s in self.labelled]
            result["acc"] = 100.0 * float(np.mean(hits))
        return result

    def representation_inputs(self) -> torch.Tensor:
        return self.held["val"][0][:self.representation_images]

    def describe(self) -> dict:
        """What the card names: scenes per split, crops, labels."""
        return {"scenes": self.scenes, "labelled_test_scenes": [self.scenes["test"][i] for i in self.labelled],
                "crops_per_held_out_scene": int(len(self.held["test"][1]) // max(len(self.scenes["test"]), 1))}
