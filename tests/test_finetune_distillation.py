"""The offline photo-distillation task and what the fine-tuning verdicts rest on: the distillation
loss against torch's KLDivLoss and a hand computation, the held-out split checked on the pixels,
the relative batch-norm re-estimation against statistics computed by hand, and a deliberately
broken strategy (pruning to 100 %) detected as the loser over seeds."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from pvq.finetune.batchnorm import batch_input_moments, reestimate_batchnorm_relative_
from pvq.finetune.distill import distillation_loss, output_distances
from pvq.finetune.gmp import PruneStrategy
from pvq.finetune.layers import compressible_layers
from pvq.finetune.loop import NoCompression, Schedule, seed_everything, train
from pvq.finetune.lsq import QuantStrategy
from pvq.finetune.photo_distillation import PhotoDistillationTask
from pvq.finetune.tables import cell_row
from pvq.finetune.tasks import DigitsTask
from pvq.models.digits import build_digits_resnet
from pvq.models.photos import SCENES, check_disjoint, photo_path, scene_photos


def _logits(seed, n=6, classes=10, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, classes, generator=g, dtype=torch.float64) * scale


@pytest.mark.parametrize("temperature", [1.0, 0.5, 4.0])
def test_distillation_loss_is_the_kl_of_teacher_to_student(temperature):
    student, teacher = _logits(0).requires_grad_(), _logits(1)
    loss = distillation_loss(student, teacher, temperature)
    value = float(loss.detach())
    p = torch.softmax(teacher / temperature, 1).numpy()
    q = torch.softmax(student.detach() / temperature, 1).numpy()
    by_hand = temperature**2 * np.mean(np.sum(p * (np.log(p) - np.log(q)), axis=1))
    assert value == pytest.approx(by_hand, rel=1e-10)
    torch_kl = nn.KLDivLoss(reduction="batchmean")(F.log_softmax(student / temperature, 1),
                                                   F.softmax(teacher / temperature, 1))
    assert value == pytest.approx(temperature**2 * float(torch_kl.detach()), rel=1e-10)
    loss.backward()  # d/dz_s = T (q_T - p_T) / N
    np.testing.assert_allclose(student.grad.numpy(), temperature * (q - p) / len(p), rtol=1e-9, atol=1e-14)


def test_distillation_loss_is_zero_for_the_teacher_itself_and_never_trains_the_teacher():
    teacher = _logits(2).requires_grad_()
    assert float(distillation_loss(teacher.detach().clone(), teacher)) == pytest.approx(0.0, abs=1e-12)
    distillation_loss(_logits(3).requires_grad_(), teacher).backward()
    assert teacher.grad is None
    with pytest.raises(ValueError, match="temperature"):
        distillation_loss(_logits(3), teacher, 0.0)


def test_output_distances_by_hand():
    teacher = torch.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [1.0, 0.0, 0.5], [0.2, 0.1, 0.0]], dtype=torch.float64)
    student = torch.tensor([[1.5, 1.0, 0.0], [0.0, 1.0, 2.0], [1.0, 0.0, 0.5], [0.0, 0.3, 0.0]], dtype=torch.float64)
    found = output_distances(student, teacher)
    assert found["agree"] == pytest.approx(50.0)  # rows 0 and 2 agree
    p, q = torch.softmax(teacher.double(), 1).numpy(), torch.softmax(student.double(), 1).numpy()
    assert found["kl"] == pytest.approx(np.mean(np.sum(p * np.log(p / q), axis=1)), rel=1e-10)
    noise = float(((teacher - student) ** 2).sum())
    assert found["logit_snr_db"] == pytest.approx(10 * np.log10(float((teacher**2).sum()) / noise), rel=1e-10)


def test_every_scene_ships_inside_the_installed_wheels_and_labels_name_its_subject():
    from torchvision.models import ResNet18_Weights

    for name, scene in SCENES.items():
        for file in scene.files:
            assert photo_path(scene.package, file).is_file(), (name, file)
        photos = scene_photos(name)
        assert all(p.dtype == np.uint8 and p.ndim == 3 and p.shape[2] == 3 for p in photos)
    categories = ResNet18_Weights.IMAGENET1K_V1.meta["categories"]
    assert {categories[i] for i in SCENES["chelsea"].classes} == {"tabby", "tiger cat", "Egyptian cat"}
    assert {categories[i] for i in SCENES["coffee"].classes} == {"espresso", "cup"}
    assert len(SCENES["motorcycle"].files) == 2  # the stereo pair is one scene: never split


def test_a_scene_in_two_groups_is_refused_by_name():
    check_disjoint(train=["camera", "coins"], test=["chelsea"])
    with pytest.raises(ValueError, match="'motorcycle' is in both train and test"):
        check_disjoint(train=["motorcycle"], test=["coffee", "motorcycle"])
    with pytest.raises(KeyError, match="unknown photo scene"):
        check_disjoint(train=["eagle"])


def test_config_refuses_a_held_out_scene_in_training():
    from pvq.config import ConfigError, validate

    with pytest.raises(ConfigError, match="'chelsea' is also in finetune.photos.train_scenes"):
        validate({"finetune": {"photos": {"test_scenes": ["chelsea"], "train_scenes": ["chelsea", "camera"]}}})


class TinyTeacher(nn.Module):
    """A stand-in for Lite0 with a batch-norm layer and 1000 outputs (fast)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 4, 3, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 1000)

    def forward(self, x):
        return self.fc(F.adaptive_avg_pool2d(torch.relu(self.bn(self.conv(x))), 1).flatten(1))


def photo_settings(train, val, test):
    return {"seed": 0, "photos": {"train_scenes": train, "val_scenes": val, "test_scenes": test,
                                  "resolution": 24, "min_scale": 0.25, "steps_per_epoch": 3, "eval_crops": 4,
                                  "representation_images": 4, "bn_batches": 1, "bn_batch_size": 4,
                                  "temperature": 1.0}}


def test_training_crops_never_come_from_a_held_out_scene():
    """Train on greyscale scenes, hold out colour ones: every training pixel must be grey (R = G = B
    exactly: the Lite0 normalisation is the same on every channel), every held-out set must not be."""
    teacher = TinyTeacher()
    task = PhotoDistillationTask("efficientnet_lite0", photo_settings(["camera", "coins", "moon"], ["rocket"],
                                                                      ["chelsea", "coffee", "motorcycle"]), teacher)
    assert {name for name, _ in task.train_views} == {"camera", "coins", "moon"}
    for epoch in range(2):
        for x, target in task.train_batches(epoch, seed=3, batch_size=8):
            assert torch.equal(x[:, 0], x[:, 1]) and torch.equal(x[:, 1], x[:, 2])
            with torch.no_grad():
                assert torch.equal(target, teacher(x))  # distillation targets: the teacher's logits
    for split in ("val", "test"):
        crops, scenes = task.held[split]
        colourful = (crops[:, 0] - crops[:, 1]).flatten(1).abs().amax(1) > 0
        assert colourful.all(), split
        assert sorted(set(scenes)) == list(range(len(task.scenes[split])))
    assert task.table_metrics == ("agree", "acc")  # chelsea and coffee have known classes
    metrics = task.evaluate(copy.deepcopy(teacher), "test")
    assert metrics["agree"] == 100.0 and metrics["kl"] == pytest.approx(0.0, abs=1e-12)


def test_training_batches_are_a_pure_function_of_seed_and_epoch():
    task = PhotoDistillationTask("efficientnet_lite0", photo_settings(["camera", "astronaut"], ["rocket"],
                                                                      ["chelsea"]), TinyTeacher())
    first = [x for x, _ in task.train_batches(1, 7, 4)]
    again = [x for x, _ in task.train_batches(1, 7, 4)]
    other = [x for x, _ in task.train_batches(1, 8, 4)]
    assert len(first) == 3 and all(torch.equal(a, b) for a, b in zip(first, again))
    assert not torch.equal(first[0], other[0])
    with pytest.raises(ValueError, match="is in both train and test"):
        PhotoDistillationTask("efficientnet_lite0", photo_settings(["chelsea"], ["rocket"], ["chelsea"]), TinyTeacher())


def _conv_bn(seed=0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(2, 3, 1, bias=False), nn.BatchNorm2d(3))
    model[1].running_mean.copy_(torch.tensor([0.3, -1.0, 2.0]))  # "ImageNet" statistics
    model[1].running_var.copy_(torch.tensor([2.0, 0.5, 1.5]))
    return model


def test_relative_batchnorm_matches_statistics_by_hand():
    reference = _conv_bn()
    with torch.no_grad():
        reference[0].weight[2] = 0.0  # a dead channel: no variance to compare with
    student = copy.deepcopy(reference)
    with torch.no_grad():
        student[0].weight.mul_(torch.tensor([2.0, -0.5, 1.0]).reshape(3, 1, 1, 1))
        student[0].weight[2, 0] = 0.7  # the dead channel comes alive in the student
    g = torch.Generator().manual_seed(1)
    batches = [(torch.randn(5, 2, 4, 4, generator=g) + i, None) for i in range(3)]
    buffers = {k: v.clone() for k, v in reference.state_dict().items()}
    reestimate_batchnorm_relative_(student, reference, batches)

    def moments(model):
        with torch.no_grad():
            outs = [model[0](x).double().numpy().transpose(1, 0, 2, 3).reshape(3, -1) for x, _ in batches]
        return np.mean([o.mean(1) for o in outs], 0), np.mean([o.var(1, ddof=1) for o in outs], 0)

    (m_s, v_s), (m_r, v_r) = moments(student), moments(reference)
    np.testing.assert_allclose(student[1].running_mean.numpy(), [0.3, -1.0, 2.0] + (m_s - m_r), rtol=1e-5)
    expected_var = np.array([2.0, 0.5, 1.5]) * np.where(v_r > 1e-12, v_s / np.maximum(v_r, 1e-12), 1.0)
    np.testing.assert_allclose(student[1].running_var.numpy(), expected_var, rtol=1e-5)
    assert student[1].running_var[2] == pytest.approx(1.5)  # dead reference channel: variance kept
    for key, value in reference.state_dict().items():  # the reference is untouched, counters included
        assert torch.equal(value, buffers[key]), key


def test_relative_batchnorm_leaves_the_uncompressed_model_exactly_as_it_was():
    reference = _conv_bn()
    student = copy.deepcopy(reference)
    batches = [(torch.randn(4, 2, 3, 3), None) for _ in range(2)]
    reestimate_batchnorm_relative_(student, reference, batches)
    assert torch.allclose(student[1].running_mean, reference[1].running_mean, atol=1e-7)
    assert torch.allclose(student[1].running_var, reference[1].running_var, rtol=1e-6)
    before = student[1].num_batches_tracked.clone()
    batch_input_moments(student, batches)
    assert torch.equal(student[1].num_batches_tracked, before)


def test_pruning_everything_is_detected_as_the_loser():
    """Five seeds of 4-bit QAT against a broken 'pruning' that removes 100 % of the weights: the
    paired comparison must name quantization the winner and the intervals must separate."""
    seed_everything(0, 1)
    task = DigitsTask(seed=0, train_samples=256)
    fp = build_digits_resnet(8)
    train(fp, task, NoCompression(), Schedule(6, 0.1, 32, 5e-4), seed=0, log=lambda _m: None)
    fp_acc = task.evaluate(fp, "test")["acc"]
    results = {"quant": {}, "prune": {}}
    for seed in range(5):
        for method in results:
            model = copy.deepcopy(fp)
            strategy = QuantStrategy(4) if method == "quant" else PruneStrategy(1.0, ramp_fraction=0.5)
            schedule = Schedule(1, 0.01, 32, 5e-4)
            strategy.attach_(model, compressible_layers(model), task.steps_per_epoch(32))
            train(model, task, strategy, schedule, seed=seed, log=lambda _m: None)
            task.reestimate_batchnorm_(model, 32)
            results[method][seed] = task.evaluate(model, "test")["acc"]
    row = cell_row("digits_resnet", "acc", fp_acc, 4, results["quant"], results["prune"])
    assert fp_acc > 50 and row["seeds"] == 5
    assert row["winner"] == "quant" and row["prune_hi"] < row["quant_lo"]
    assert row["prune"] < 25  # nothing left: about chance (10 classes)
