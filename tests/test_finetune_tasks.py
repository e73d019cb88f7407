"""Table 1's segmentation, detection and language-modelling tasks, offline: each metric against a value
computed by hand, each loader on a tiny data set written here in the real on-disk format (a VOC
folder with palette PNG masks, a COCO JSON with boxes, WikiText's raw text files), and each task
through the real fine-tuning entry points (baseline, QAT and GMP runs, Table 1) on a tiny model of its
architecture with random weights. Nothing downloads."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from pvq.config import ConfigError, check_paths, validate
from pvq.finetune.experiment import finetune_run, train_baseline
from pvq.finetune.layers import compressible_layers
from pvq.optional import MissingPackageError, require
from pvq.finetune.tables import finetune_table

os.environ["HF_HUB_OFFLINE"] = "1"  # a test that tried to reach the hub would fail, not download

# ----------------------------------------------------------------------------------------------
# Tiny data sets in their real layouts


def write_voc(root, train=4, val=2, size=(40, 48)):
    """VOCdevkit/VOC2012 with JPEG images and palette PNG masks (classes 0..20, 255 on boundaries)."""
    base = root / "VOCdevkit" / "VOC2012"
    for folder in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (base / folder).mkdir(parents=True)
    rng = np.random.default_rng(0)
    palette = rng.integers(0, 255, 768).astype(np.uint8).tolist()
    masks = {}
    for split, count in (("train", train), ("val", val)):
        names = [f"2007_{split}{i:02d}" for i in range(count)]
        for name in names:
            h, w = size
            Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(base / "JPEGImages" / f"{name}.jpg")
            mask = np.zeros((h, w), dtype=np.uint8)
            mask[5:25, 10:30] = rng.integers(1, 21)
            mask[4, 10:30] = 255  # a boundary
            png = Image.fromarray(mask, mode="P")
            png.putpalette(palette)
            png.save(base / "SegmentationClass" / f"{name}.png")
            masks[name] = mask
        (base / "ImageSets" / "Segmentation" / f"{split}.txt").write_text("\n".join(names) + "\n")
    return root, masks


def write_coco(root, train=4, val=2, size=(64, 80)):
    """train2017/, val2017/ and annotations/instances_*2017.json with two boxes per image."""
    rng = np.random.default_rng(1)
    (root / "annotations").mkdir(parents=True)
    categories = [{"id": 1, "name": "cat", "supercategory": "animal"},
                  {"id": 3, "name": "car", "supercategory": "vehicle"}]
    ann_id, image_id = 1, 1
    for split, count in (("train2017", train), ("val2017", val)):
        (root / split).mkdir()
        images, annotations = [], []
        for i in range(count):
            h, w = size
            Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(root / split / f"{image_id:012d}.jpg")
            images.append({"id": image_id, "file_name": f"{image_id:012d}.jpg", "height": h, "width": w})
            for category, box in ((1, [4.0, 6.0, 30.0, 20.0]), (3, [40.0, 30.0, 24.0, 28.0])):
                annotations.append({"id": ann_id, "image_id": image_id, "category_id": category, "bbox": box,
                                    "area": box[2] * box[3], "iscrowd": 0})
                ann_id += 1
            image_id += 1
        name = "instances_" + split + ".json"
        (root / "annotations" / name).write_text(json.dumps(
            {"images": images, "annotations": annotations, "categories": categories}))
    return root


WORDS = ("the cat sat on a mat while dogs ran over hills and rivers in green fields under bright "
         "sky with birds").split()


def write_wikitext(root, lines=120):
    rng = np.random.default_rng(2)
    root.mkdir(parents=True, exist_ok=True)
    for name, count in (("wiki.train.raw", lines), ("wiki.valid.raw", lines // 3)):
        text = [" = Heading = \n", "\n"] + [" ".join(rng.choice(WORDS, 12)) + " \n" for _ in range(count)]
        (root / name).write_text("".join(text))
    return root


def tiny_opt(folder, text_root):
    """A word-level tokenizer trained on the text and a 2-layer OPT, both saved in save_pretrained layout."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import OPTConfig, OPTForCausalLM, PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer.train([str(text_root / "wiki.train.raw")], trainers.WordLevelTrainer(special_tokens=["<pad>", "</s>", "<unk>"]))
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="<unk>", pad_token="<pad>",
                                   eos_token="</s>", bos_token="</s>")
    fast.save_pretrained(folder)
    config = OPTConfig(vocab_size=fast.vocab_size, hidden_size=16, num_hidden_layers=2, ffn_dim=32,
                       num_attention_heads=2, max_position_embeddings=64, word_embed_proj_dim=16,
                       pad_token_id=0, bos_token_id=1, eos_token_id=1)
    torch.manual_seed(0)
    OPTForCausalLM(config).save_pretrained(folder)
    return folder


def base_settings(model, task, metric, **extra):
    """The finetune section of a resolved config (schema defaults) with one tiny model."""
    config = validate({})
    settings = {**config["finetune"], "seed": 0, "threads": 1, "baseline_bits": 16, "imagenet_path": None,
                "voc_path": None, "coco_path": None, "wikitext_path": None, "lr_grid": [0]}
    settings["models"] = {model: {"task": task, "metric": metric, "batch_size": 2, "weight_decay": 0.0,
                                  "optimizer": "adam", "epochs": 1, "lr": 1e-3, "seeds": 2}}
    settings.update(extra)
    return settings


# ----------------------------------------------------------------------------------------------
# Metrics against hand-computed values


class FixedSegmenter(nn.Module):
    """Predicts the class ids its input carries: logits are one-hot of x (B, 1, H, W)."""

    def __init__(self):
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return {"out": nn.functional.one_hot(x[:, 0].long(), 21).permute(0, 3, 1, 2).float()}


def test_miou_is_one_for_a_perfect_prediction_and_the_known_value_for_a_known_confusion():
    from pvq.finetune.voc import mean_iou

    truth = torch.tensor([[[0, 0], [1, 1]], [[2, 2], [255, 1]]])
    perfect = [(truth.clamp(max=20)[:, None], truth)]
    assert mean_iou(FixedSegmenter(), perfect) == pytest.approx(100.0)
    # Image 1: one background pixel predicted as 1. Image 2: the boundary pixel (255) predicted 7 is
    # ignored. Class 0: 1 hit / (2 true + 0 extra) = 1/2; class 1: 3 / (3 true + 1 extra) = 3/4;
    # class 2: 2 / 2 = 1; class 7 appears only on an ignored pixel, every other class nowhere.
    predicted = torch.tensor([[[0, 1], [1, 1]], [[2, 2], [7, 1]]])
    assert mean_iou(FixedSegmenter(), [(predicted[:, None], truth)]) == pytest.approx(100 * (0.5 + 0.75 + 1) / 3)


def coco_ground_truth(tmp_path):
    from pycocotools.coco import COCO

    root = write_coco(tmp_path / "coco", train=1, val=2)
    return COCO(str(root / "annotations" / "instances_val2017.json"))


def test_map_is_one_for_perfect_detections_and_51_of_101_for_half_the_boxes(tmp_path, capsys):
    from pvq.finetune.coco import coco_map

    truth = coco_ground_truth(tmp_path)
    boxes = [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 1.0}
             for a in truth.dataset["annotations"]]
    ids = truth.getImgIds()
    assert coco_map(truth, boxes, ids) == pytest.approx(100.0)
    # Per category, one of its two boxes found exactly: recall 1/2 at precision 1, so 51 of COCO's
    # 101 recall points (0, 0.01, ..., 0.5) have precision 1 and the rest 0, at every IoU threshold.
    half = [b for b in boxes if b["image_id"] == ids[0]]
    assert coco_map(truth, half, ids) == pytest.approx(100 * 51 / 101)
    # Restricted to the image whose boxes were all found, the same detections are perfect.
    assert coco_map(truth, half, ids[:1]) == pytest.approx(100.0)
    assert coco_map(truth, [], ids) == 0.0


def test_coco_detections_convert_effdet_rows_to_coco_boxes():
    from pvq.finetune.coco import coco_detections

    rows = torch.tensor([[[10.0, 20.0, 40.0, 60.0, 0.9, 3.0], [0, 0, 0, 0, 0, 0]]])
    assert coco_detections(rows, [42]) == [{"image_id": 42, "category_id": 3, "bbox": [10.0, 20.0, 30.0, 40.0],
                                            "score": pytest.approx(0.9)}]


class Uniform(nn.Module):
    def __init__(self, vocabulary):
        super().__init__()
        self.vocabulary = vocabulary
        self.unused = nn.Parameter(torch.zeros(1))

    def forward(self, tokens):
        return torch.zeros(*tokens.shape, self.vocabulary)


def test_a_uniform_language_model_has_the_vocabulary_size_as_perplexity():
    from pvq.finetune.wikitext import next_token_nll, perplexity

    blocks = torch.randint(0, 37, (5, 9), generator=torch.Generator().manual_seed(0))
    assert perplexity(Uniform(37), blocks, batch_size=2) == pytest.approx(37.0)
    # A model sure of the next token: probability 1 where it is right.
    logits = torch.full((1, 4, 5), -1e4)
    tokens = torch.tensor([[1, 2, 3, 4]])
    logits[0, torch.arange(3), tokens[0, 1:]] = 0.0
    assert float(next_token_nll(logits, tokens)) == pytest.approx(0.0, abs=1e-6)


# ----------------------------------------------------------------------------------------------
# Loaders on the tiny on-disk data sets


def test_voc_task_reads_the_png_masks_and_holds_out_training_images(tmp_path):
    from pvq.finetune.voc import IGNORE, VOCTask

    root, masks = write_voc(tmp_path / "voc")
    settings = base_settings("deeplabv3", "voc", "miou", voc_path=str(root))
    settings["voc"] = {**settings["voc"], "val_images": 1, "base_size": 40, "crop_size": 32, "workers": 0,
                       "representation_images": 2}
    task = VOCTask(settings)
    assert (len(task.train), len(task.val), len(task.test)) == (3, 1, 2)
    # Evaluation pairs at base_size = the images' shorter side: the masks exactly as written.
    for index, name in enumerate(["2007_val00", "2007_val01"]):
        x, y = task.test[index]
        assert x.shape == (3, 40, 48)
        np.testing.assert_array_equal(y.numpy(), masks[name])
    x, y = next(iter(task.train_batches(0, 0, 2)))
    assert x.shape == (2, 3, 32, 32) and y.shape == (2, 32, 32) and y.dtype == torch.int64
    assert set(torch.unique(y).tolist()) <= set(range(21)) | {IGNORE}
    assert task.representation_inputs().shape == (1, 3, 32, 32)
    settings["voc"]["val_images"] = 4
    with pytest.raises(ValueError, match="config key 'finetune.voc.val_images': 4 holds out every one of the 4"):
        VOCTask(settings)


def test_coco_task_reads_boxes_as_effdet_expects_them(tmp_path, monkeypatch):
    from pvq.finetune import coco
    from pvq.finetune.coco import COCOTask

    monkeypatch.setattr(coco, "efficientdet_config", tiny_effdet_config)
    root = write_coco(tmp_path / "coco")
    settings = tiny_detector_settings(root)
    task = COCOTask(settings)
    assert len(task.train) == 3 and len(task.held["val"][2]) == 1 and task.held["test"][2] == [5, 6]
    image, target = task.held["test"][0][0]
    scale = 64 / 80  # the 64x80 image resized to fit 64x64
    assert image.shape == (3, 64, 64) and target["img_scale"] == pytest.approx(1 / scale)
    # [x, y, w, h] in the JSON -> [y0, x0, y1, x1] scaled, classes the COCO category ids.
    expected = np.array([[6, 4, 26, 34], [30, 40, 58, 64]]) * scale
    np.testing.assert_allclose(target["bbox"], np.minimum(expected, [64 * scale, 64, 64 * scale, 64]), rtol=1e-5)
    assert target["cls"].tolist() == [1, 3]
    x, y = next(iter(task.train_batches(0, 0, 2)))
    assert x.shape == (2, 3, 64, 64) and x.dtype == torch.float32
    assert y["bbox"].shape == (2, 100, 4) and (y["cls"][:, :2] > 0).all() and (y["cls"][:, 2:] == -1).all()


def test_wikitext_blocks_are_the_tokenized_lines_concatenated(tmp_path):
    from transformers import AutoTokenizer

    from pvq.finetune.wikitext import token_blocks

    text = write_wikitext(tmp_path / "wikitext", lines=30)
    folder = tiny_opt(tmp_path / "opt", text)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    blocks = token_blocks(text / "wiki.train.raw", tokenizer, 16)
    words = (text / "wiki.train.raw").read_text().split()
    ids = tokenizer.convert_tokens_to_ids(words)
    assert blocks.shape == (len(ids) // 16, 16)
    assert blocks.flatten().tolist() == ids[:blocks.numel()]
    with pytest.raises(ValueError, match="fewer than one block"):
        token_blocks(text / "wiki.train.raw", tokenizer, 10**6)


def test_opt_compresses_every_decoder_linear_but_not_the_tied_embedding(tmp_path):
    from pvq.finetune.wikitext import build_language_model

    text = write_wikitext(tmp_path / "wikitext", lines=10)
    folder = tiny_opt(tmp_path / "opt", text)
    model = build_language_model({"wikitext": {"checkpoint": str(folder)}}, pretrained=True)
    assert model.lm_head.weight is model.model.decoder.embed_tokens.weight  # tied
    linears = {n for n, m in model.named_modules() if type(m) is nn.Linear}
    assert set(compressible_layers(model)) == linears - {"lm_head"}
    assert len(linears - {"lm_head"}) == 2 * 6  # q, k, v, out, fc1, fc2 per layer


def test_the_zoo_reads_opt_linear_weights_through_the_registry(tmp_path, monkeypatch):
    from pvq.models import registry

    text = write_wikitext(tmp_path / "wikitext", lines=10)
    folder = tiny_opt(tmp_path / "opt", text)
    monkeypatch.setitem(registry.TRANSFORMERS_MODELS, "opt_350m", str(folder))
    assert registry.unknown_models(["opt_350m", "efficientnet_lite0"]) == []
    tensors = registry.weight_tensors("opt_350m")
    state = json.loads((folder / "config.json").read_text())
    assert len(tensors) == 6 * state["num_hidden_layers"] and "lm_head.weight" not in tensors
    assert tensors["model.decoder.layers.0.fc1.weight"].shape == (state["ffn_dim"], state["hidden_size"])
    assert registry.weights_name("opt_350m").startswith("transformers ")
    with pytest.raises(ValueError, match="no image preprocessing"):
        registry.preprocessing("opt_350m")


# ----------------------------------------------------------------------------------------------
# Each task end to end through the fine-tuning entry points, QAT and GMP, on a tiny model


def tiny_deeplab(pretrained: bool) -> nn.Module:
    """DeepLab-V3 as torchvision builds it (MobileNet-V3-Large features, ASPP head), at a quarter of the
    backbone's width and 16 ASPP channels, random weights."""
    from torchvision.models import mobilenet_v3_large
    from torchvision.models._utils import IntermediateLayerGetter
    from torchvision.models.segmentation.deeplabv3 import ASPP, DeepLabV3

    features = mobilenet_v3_large(weights=None, width_mult=0.25, dilated=True).features
    head = nn.Sequential(ASPP(features[16].out_channels, [12, 24, 36], out_channels=16),
                         nn.Conv2d(16, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
                         nn.Conv2d(16, 21, 1))
    torch.manual_seed(0)
    return DeepLabV3(IntermediateLayerGetter(features, {"16": "out"}), head)


def tiny_effdet_config(settings=None, url=""):
    """EfficientDet-D0's config cut down: a MobileNet-V3 backbone at half width, 8 BiFPN channels, one
    cell, one head repeat, 3 levels, 64 px, 4 classes."""
    from effdet import get_efficientdet_config

    config = get_efficientdet_config("efficientdet_d0")
    config.update(dict(backbone_name="mobilenetv3_small_050", backbone_args={}, image_size=(64, 64),
                       fpn_channels=8, fpn_cell_repeats=1, box_class_repeats=1, num_classes=4,
                       max_level=5, num_levels=3, max_detection_points=100, url=url))
    return config


def publish_tiny_effdet(tmp_path, monkeypatch):
    """A tiny EfficientDet whose 'published' weights are a local file (file:// URL, torch hub cache in tmp)."""
    from effdet import EfficientDet

    from pvq.finetune import coco

    torch.manual_seed(0)
    weights = tmp_path / "published" / "tiny_effdet.pth"
    weights.parent.mkdir()
    torch.save(EfficientDet(tiny_effdet_config(), pretrained_backbone=False).state_dict(), weights)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(coco, "efficientdet_config", lambda settings: tiny_effdet_config(url=weights.as_uri()))
    return weights


def tiny_detector_settings(root):
    settings = base_settings("efficientdet", "coco", "map", coco_path=str(root))
    settings["coco"] = {**settings["coco"], "val_images": 1, "workers": 0, "representation_images": 2}
    return settings


def run_both_methods(tmp_path, model, settings, bits=4):
    """train_baseline, then a QAT and a GMP cell (2 seeds each), then Table 1 from their records."""
    log = lambda _m: None  # noqa: E731
    fp = train_baseline(model, settings, tmp_path / "fp.pt", tmp_path / "fp.json", log=log)
    records = {}
    for method in ("quant", "prune"):
        records[method] = finetune_run(model, method, bits, settings, tmp_path / "fp.pt", tmp_path / "fp.json",
                                       tmp_path / f"{method}-b{bits}.json",
                                       tmp_path / f"{method}-b{bits}_representations.csv",
                                       checkpoint_dir=tmp_path / "checkpoints", log=log)
    table = finetune_table([tmp_path / f"{m}-b{bits}.json" for m in ("quant", "prune")])
    return fp, records, table


def check_cell(fp, records, table, model, metric):
    assert fp["metric_name"] == metric and fp["table_metrics"] == [metric]
    prune, quant = records["prune"], records["quant"]
    assert prune["sparsity"] == pytest.approx(0.75, abs=0.01)  # 4 bits of 16: GMP ends at 75 %
    assert quant["sparsity"] < 0.5 and quant["seeds"] == [0, 1]
    for record in records.values():
        assert record["metric_name"] == metric and all(math.isfinite(r["metrics"][metric]) for r in record["runs"])
    row = table.iloc[0]
    assert (row["model"], row["metric"], row["bits"], row["seeds"]) == (model, metric, 4, 2)
    assert row["winner"] in ("quant", "prune", "inconclusive")


def test_segmentation_fine_tunes_end_to_end(tmp_path, monkeypatch):
    from pvq.finetune import voc

    monkeypatch.setattr(voc, "build_deeplabv3", tiny_deeplab)
    root, _ = write_voc(tmp_path / "voc", train=5, val=2)
    settings = base_settings("deeplabv3", "voc", "miou", voc_path=str(root))
    settings["voc"] = {**settings["voc"], "val_images": 1, "base_size": 40, "crop_size": 32, "workers": 0,
                       "representation_images": 2}
    fp, records, table = run_both_methods(tmp_path, "deeplabv3", settings)
    check_cell(fp, records, table, "deeplabv3", "miou")
    assert all(0 <= r["metric"] <= 100 for r in records.values())


def test_detection_fine_tunes_end_to_end(tmp_path, monkeypatch):
    published = torch.load(publish_tiny_effdet(tmp_path, monkeypatch))
    root = write_coco(tmp_path / "coco", train=5, val=2)
    fp, records, table = run_both_methods(tmp_path, "efficientdet", tiny_detector_settings(root))
    baseline = torch.load(tmp_path / "fp.pt")
    assert all(torch.equal(baseline[k], published[k]) for k in published if not k.endswith("num_batches_tracked"))
    check_cell(fp, records, table, "efficientdet", "map")
    assert all(0 <= r["metric"] <= 100 for r in records.values())


def test_language_modelling_fine_tunes_end_to_end_and_perplexity_is_lower_is_better(tmp_path):
    text = write_wikitext(tmp_path / "wikitext")
    folder = tiny_opt(tmp_path / "opt", text)
    settings = base_settings("opt_350m", "wikitext", "ppl", wikitext_path=str(text))
    settings["wikitext"] = {**settings["wikitext"], "checkpoint": str(folder), "sequence_length": 16,
                            "val_blocks": 4, "micro_batch_size": 1, "eval_batch_size": 4,
                            "representation_sequences": 2}
    settings["models"]["opt_350m"]["lr"] = 1e-2
    fp, records, table = run_both_methods(tmp_path, "opt_350m", settings)
    check_cell(fp, records, table, "opt_350m", "ppl")
    vocabulary = json.loads((folder / "config.json").read_text())["vocab_size"]
    assert all(1 < r["metric"] < 10 * vocabulary for r in records.values())
    # The card says what was compressed and read, from this run's settings and records.
    from pvq.report.cards import quantization_card

    config = validate({"wikitext_path": str(text), "finetune": {
        "models": {**validate({})["finetune"]["models"], **settings["models"]}, "wikitext": settings["wikitext"]}})
    card = quantization_card("finetune", config, {"runs": [str(tmp_path / f"{m}-b4.json") for m in ("quant", "prune")],
                                                  "fp": [str(tmp_path / "fp.json")]})
    assert "OPT: every linear layer of the decoder" in card and "LM head tied to the token embedding" in card
    assert f"opt_350m: transformers {folder}" in card and "next-token cross-entropy" in card
    assert f"WikiText-103 (raw) at {text}" in card and "16-token blocks" in card


class Regression:
    """A task of the loop's interface: mean squared error, targets a dict of tensors (as detection's)."""

    def __init__(self, micro_batch_size=None):
        self.micro_batch_size = micro_batch_size

    def loss(self, outputs, targets):
        return ((outputs - targets["y"]) ** 2).mean()


@pytest.mark.parametrize("micro", [1, 2, 3, 7])
def test_micro_batches_accumulate_the_gradient_of_the_whole_batch(micro):
    from pvq.finetune.loop import NoCompression, train_step

    torch.manual_seed(0)
    x, y = torch.randn(7, 5), {"y": torch.randn(7, 3)}
    whole, parts = nn.Linear(5, 3), nn.Linear(5, 3)
    parts.load_state_dict(whole.state_dict())
    losses = []
    for model, task in ((whole, Regression()), (parts, Regression(micro))):
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        losses.append(train_step(model, task, NoCompression(), [optimizer], x, y, 0))
    assert losses[1] == pytest.approx(losses[0], rel=1e-6)
    for a, b in zip(whole.parameters(), parts.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


# ----------------------------------------------------------------------------------------------
# Config, data paths and optional packages


def test_lower_perplexity_wins_table1(tmp_path):
    def record(method, values):
        runs = [{"seed": s, "metrics": {"ppl": v}} for s, v in enumerate(values)]
        return {"model": "opt_350m", "method": method, "bits": 4, "metric_name": "ppl", "metric": float(np.mean(values)),
                "fp_metric": 20.0, "fp_metrics": {"ppl": 20.0}, "table_metrics": ["ppl"], "seeds": [0, 1, 2],
                "runs": runs}

    paths = []
    for method, values in (("quant", [21.0, 21.5, 22.0]), ("prune", [30.0, 31.0, 33.0])):
        paths.append(tmp_path / f"{method}.json")
        paths[-1].write_text(json.dumps(record(method, values)))
    table = finetune_table(paths)
    assert table.loc[0, "winner"] == "quant"  # lower perplexity
    from pvq.report.compare_finetune import cell_winner, gap

    lead = gap(table.iloc[0], {})
    assert lead.value == pytest.approx(np.mean([30, 31, 33]) - np.mean([21, 21.5, 22]))
    assert cell_winner(table.iloc[0].drop("winner"), {}) == "quant"


@pytest.mark.parametrize("key, what", [("voc_path", "VOCdevkit/VOC2012"), ("coco_path", "annotations"),
                                       ("wikitext_path", "wiki.train.raw")])
def test_a_data_path_without_its_layout_is_a_clear_error(tmp_path, key, what):
    check_paths({key: None})
    with pytest.raises(ConfigError, match=f"config key '{key}': .* is not a directory"):
        check_paths({key: str(tmp_path / "nowhere")})
    with pytest.raises(ConfigError, match=f"config key '{key}': .* has no .*{what}"):
        check_paths({key: str(tmp_path)})


def test_a_task_without_its_data_path_is_reported_by_key():
    models = {"deeplabv3": {"task": "voc", "metric": "miou", "batch_size": 2, "weight_decay": 0.0,
                            "optimizer": "sgd", "epochs": 1, "lr": 1e-3, "seeds": 1}}
    with pytest.raises(ConfigError, match="config key 'voc_path': finetune.models \\['deeplabv3'\\] need it"):
        validate({"finetune": {"models": models}})
    with pytest.raises(ConfigError, match="config key 'finetune.models.deeplabv3.metric'"):
        validate({"voc_path": "/data/voc", "finetune": {"models": {"deeplabv3": {**models["deeplabv3"],
                                                                                "metric": "acc"}}}})
    with pytest.raises(ConfigError, match="only deeplabv3 has task 'voc'"):
        validate({"voc_path": "/data/voc", "finetune": {"models": {"resnet18": models["deeplabv3"]}}})


def test_a_missing_optional_package_names_itself(monkeypatch, tmp_path):
    with pytest.raises(MissingPackageError, match="the detection task needs the package 'no-such-thing'"):
        require("no_such_module_for_pvq", "no-such-thing", "the detection task")
    monkeypatch.setitem(sys.modules, "effdet", None)  # import effdet now raises ImportError
    from pvq.finetune.coco import COCOTask

    with pytest.raises(MissingPackageError, match="package 'effdet'.*pip install -e '.\\[tasks\\]'"):
        COCOTask(tiny_detector_settings(tmp_path))


def test_the_default_tiers_code_never_imports_the_task_libraries():
    code = ("import sys; import pvq.finetune.experiment, pvq.finetune.tables, pvq.report.compare_finetune, "
            "pvq.config, pvq.report.cards; "
            "print([m for m in ('transformers', 'effdet', 'timm', 'torchmetrics', 'pycocotools') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
