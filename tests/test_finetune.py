"""Fine-tuning stage: LSQ, GMP, BN re-estimation, CKA, data split and the loop, each against an
independent reference (PyTorch's own fake quantization, the LSQ paper's gradient formulas, the cubic
schedule's closed form, statistics computed by hand, sklearn's loader)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from pvq.config import ConfigError, validate
from pvq.finetune.batchnorm import reestimate_batchnorm_
from pvq.finetune.evaluate import evaluate
from pvq.finetune.gmp import PruneStrategy, cubic_sparsity
from pvq.finetune.layers import compressible_layers
from pvq.finetune.loop import NoCompression, Schedule, seed_everything, train
from pvq.finetune.lsq import QuantStrategy, lsq_grad_factor, lsq_quantize
from pvq.finetune.oneshot import compress_model
from pvq.finetune.tables import finetune_table
from pvq.finetune.tasks import DigitsTask, random_shift
from pvq.metrics import linear_cka
from pvq.models.digits import build_digits_resnet, digits_split
from pvq.quantize import grid_limits, mse_optimal_scale, quantize_symmetric


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_lsq_forward_equals_torch_fake_quantize(bits):
    torch.manual_seed(bits)
    w = torch.randn(64, 3, 3, 3)
    scale = float(w.abs().max()) / 2 ** (bits - 1) * 0.7  # some weights clip
    lo, hi = grid_limits(bits)
    ours = lsq_quantize(w, torch.tensor(scale), bits)
    reference = torch.fake_quantize_per_tensor_affine(w, scale, 0, lo, hi)
    torch.testing.assert_close(ours, reference, rtol=0, atol=1e-6)


def test_lsq_gradients_follow_the_lsq_paper():
    """Esser et al. eq. 3: d w_q / d s = -w/s + round(w/s) inside, -Qn below, Qp above; STE for w."""
    bits, s = 3, 0.5  # grid -4..3, so w/s in [-4, 3] is inside
    w = torch.tensor([0.1, -0.26, 0.74, 1.2, 3.0, -1.9, -2.5, 1.51], requires_grad=True)
    scale = torch.tensor(s, requires_grad=True)
    upstream = torch.tensor([1.0, -2.0, 0.5, 3.0, 1.5, -1.0, 2.0, 0.25])
    g = lsq_grad_factor(w.numel(), bits)
    assert g == pytest.approx(1 / np.sqrt(8 * 3))
    (lsq_quantize(w, scale, bits, g) * upstream).sum().backward()
    v = w.detach().numpy() / s
    inside = (v > -4) & (v < 3)
    expected_dscale = np.where(inside, np.round(v) - v, np.where(v <= -4, -4.0, 3.0))
    np.testing.assert_allclose(scale.grad.item(), g * np.sum(upstream.numpy() * expected_dscale), rtol=1e-6)
    np.testing.assert_allclose(w.grad.numpy(), upstream.numpy() * inside, rtol=0)


def test_lsq_starts_at_the_mse_optimal_quantization():
    model = build_digits_resnet(8)
    layers = compressible_layers(model)
    originals = {n: m.weight.detach().clone() for n, m in layers.items()}
    QuantStrategy(bits=3).attach_(model, layers, total_steps=1)
    for name, module in layers.items():
        w = originals[name].double().numpy()
        expected = quantize_symmetric(w, mse_optimal_scale(w, 3), 3)
        np.testing.assert_allclose(module.weight.detach().numpy(), expected, rtol=1e-5, atol=1e-7)


def test_cubic_schedule_matches_its_closed_form():
    final, ramp, every = 0.75, 100, 10
    for step in range(0, 130):
        t = min((step // every) * every, ramp)
        expected = final * (1 - (1 - t / ramp) ** 3)
        assert cubic_sparsity(step, final, ramp, every) == pytest.approx(expected, abs=1e-12)
    assert cubic_sparsity(0, final, ramp) == 0.0
    assert cubic_sparsity(ramp, final, ramp) == final


class TinyTask:
    """Random 8x8 images with labels from a fixed linear rule: enough to train on."""

    metric = "acc"
    representation_layers = ("stem", "pool")
    frozen_statistics = False

    def loss(self, outputs, targets):
        return nn.functional.cross_entropy(outputs, targets)

    def __init__(self, n=96, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, 1, 8, 8, generator=g)
        self.y = (self.x.flatten(1) @ torch.randn(64, generator=g) > 0).long()

    def steps_per_epoch(self, batch_size):
        return len(self.y) // batch_size

    def train_batches(self, epoch, seed, batch_size):
        order = torch.randperm(len(self.y), generator=torch.Generator().manual_seed(seed + epoch))
        for i in range(self.steps_per_epoch(batch_size)):
            index = order[i * batch_size:(i + 1) * batch_size]
            yield self.x[index], self.y[index]


def test_pruning_zeroes_exactly_the_scheduled_share_and_keeps_it_zero():
    seed_everything(0, 1)
    model = build_digits_resnet(8)
    layers = compressible_layers(model)
    task = TinyTask()
    schedule = Schedule(epochs=4, lr=0.05, batch_size=16, weight_decay=1e-3)
    total = schedule.epochs * task.steps_per_epoch(16)
    strategy = PruneStrategy(sparsity=0.75, ramp_fraction=0.5, every=3)
    strategy.attach_(model, layers, total)
    seen = []

    def check(epoch):
        for name, module in layers.items():
            w = module.weight.detach()
            assert not w[~strategy.masks[name]].any(), name  # pruned stay exactly zero
            expected = int(round(strategy.current * w.numel()))
            assert int((w == 0).sum()) == expected, (name, epoch)
        seen.append(strategy.current)
        return {}

    train(model, task, strategy, schedule, seed=0, on_epoch_end=check, log=lambda _m: None)
    ramp = strategy.ramp_steps
    assert seen[0] == pytest.approx(cubic_sparsity(task.steps_per_epoch(16) - 1, 0.75, ramp, 3))
    assert seen[-1] == 0.75


def test_batchnorm_reestimation_matches_statistics_by_hand():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(108, 2))
    model.train()
    model(torch.randn(8, 2, 8, 8) * 5)  # running stats now hold something else
    batches = [(torch.randn(10, 2, 8, 8) + i, None) for i in range(4)]
    assert reestimate_batchnorm_(model, batches) == 4
    with torch.no_grad():
        outputs = [model[0](x).double().numpy() for x, _ in batches]
    means = [o.mean(axis=(0, 2, 3)) for o in outputs]
    variances = [o.transpose(1, 0, 2, 3).reshape(3, -1).var(axis=1, ddof=1) for o in outputs]
    bn = model[1]
    np.testing.assert_allclose(bn.running_mean.numpy(), np.mean(means, axis=0), rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), np.mean(variances, axis=0), rtol=1e-5)
    assert bn.momentum == 0.1 and not bn.training


def test_linear_cka_identity_invariances_and_hsic_form():
    rng = np.random.default_rng(0)
    for n, p in [(50, 8), (20, 60)]:  # feature form and Gram form
        x = rng.normal(size=(n, p))
        y = x @ rng.normal(size=(p, p)) + 0.5 * rng.normal(size=(n, p))
        q, _ = np.linalg.qr(rng.normal(size=(p, p)))
        assert linear_cka(x, x) == pytest.approx(1.0)
        assert linear_cka(x, 3.7 * x @ q) == pytest.approx(1.0)
        assert linear_cka(x, y) == pytest.approx(linear_cka(2.5 * x @ q, y))
        h = np.eye(n) - 1.0 / n
        k, l_ = x @ x.T, y @ y.T
        hsic = lambda a, b: np.trace(a @ h @ b @ h)  # noqa: E731
        assert linear_cka(x, y) == pytest.approx(hsic(k, l_) / np.sqrt(hsic(k, k) * hsic(l_, l_)))
        assert linear_cka(x, rng.normal(size=(n, p))) < 0.9


def test_digits_split_is_sklearns_digits_stratified_and_seeded():
    from sklearn.datasets import load_digits

    images, labels = load_digits(return_X_y=True)
    data = digits_split(0)
    splits = [data.train, data.val, data.test]
    assert [len(s) for s in splits] == [1074, 355, 368]
    pixels = np.concatenate([(s.x.numpy().reshape(-1, 64) * 16).round() for s in splits])
    together = np.concatenate([pixels, np.concatenate([s.y.numpy() for s in splits])[:, None]], axis=1)
    reference = np.concatenate([images, labels[:, None]], axis=1)
    assert sorted(map(tuple, together)) == sorted(map(tuple, reference))  # a partition of the data set
    for s in splits:
        share = np.bincount(s.y.numpy(), minlength=10) / len(s)
        assert np.abs(share - np.bincount(labels) / len(labels)).max() < 0.01
    again, other = digits_split(0), digits_split(1)
    assert torch.equal(again.test.x, data.test.x) and not torch.equal(other.test.x, data.test.x)


def test_random_shift_translates_with_zero_fill():
    x = torch.arange(2 * 16, dtype=torch.float32).reshape(2, 1, 4, 4) + 1
    g = torch.Generator().manual_seed(3)
    out = random_shift(x, 1, g)
    g = torch.Generator().manual_seed(3)
    dy, dx = torch.randint(0, 3, (2,), generator=g), torch.randint(0, 3, (2,), generator=g)
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1))
    for b in range(2):
        assert torch.equal(out[b, 0], padded[b, 0, dy[b]:dy[b] + 4, dx[b]:dx[b] + 4])


def test_a_killed_run_resumes_to_the_same_weights(tmp_path):
    def run(stop_after=None, checkpoint=None):
        seed_everything(0, 1)
        model = build_digits_resnet(8)
        strategy = QuantStrategy(bits=4, scale_lr=1e-3)
        strategy.attach_(model, compressible_layers(model), 1)

        def stop(epoch):
            if epoch == stop_after:
                raise KeyboardInterrupt
            return {}

        train(model, TinyTask(), strategy, Schedule(3, 0.05, 16, 1e-4), seed=0, on_epoch_end=stop,
              checkpoint=checkpoint, log=lambda _m: None)
        return model.state_dict()

    whole = run()
    ckpt = tmp_path / "run.pt"
    with pytest.raises(KeyboardInterrupt):
        run(stop_after=3, checkpoint=ckpt)  # dies during epoch 3: the checkpoint holds epoch 2
    resumed = run(checkpoint=ckpt)
    for key in whole:
        assert torch.equal(whole[key], resumed[key]), key


def test_fp_training_reaches_high_digits_accuracy_quickly():
    seed_everything(0, 1)
    task = DigitsTask(seed=0)
    model = build_digits_resnet(8)
    train(model, task, NoCompression(), Schedule(4, 0.1, 64, 5e-4), seed=0, log=lambda _m: None)
    assert evaluate(model, task.held_out("val")) > 85


def test_one_shot_compression_changes_only_the_chosen_layers():
    model = build_digits_resnet(8)
    pruned = compress_model(model, ["block1.conv1"], "prune", 4)
    w = pruned.block1.conv1.weight
    assert int((w == 0).sum()) == round(0.75 * w.numel())
    assert torch.equal(pruned.stem[0].weight, model.stem[0].weight)
    assert not (model.block1.conv1.weight == 0).any()


def test_first_last_policy():
    model = build_digits_resnet(8)
    every = list(compressible_layers(model))
    assert every[0] == "stem.0" and every[-1] == "fc" and len(every) == 9
    assert list(compressible_layers(model, "keep")) == every[1:-1]


def _record(method, bits, per_seed, metric="acc", fp=99.0):
    return {"model": "digits_resnet", "method": method, "bits": bits, "metric_name": metric,
            "metric": float(np.mean(list(per_seed.values()))), "fp_metric": fp, "table_metrics": [metric],
            "fp_metrics": {metric: fp}, "seeds": list(per_seed),
            "runs": [{"seed": s, "metrics": {metric: v}} for s, v in per_seed.items()]}


def test_table_pairs_methods_per_seed_and_names_unsupported_rows(tmp_path):
    import json

    from scipy import stats

    values = {("quant", 8): {0: 98.0, 1: 97.0, 2: 98.5}, ("prune", 8): {0: 97.5, 1: 97.2, 2: 98.0},
              ("quant", 2): {0: 95.0, 1: 94.0, 2: 96.0}, ("prune", 2): {0: 80.0, 1: 85.0, 2: 83.0}}
    files = []
    for (method, bits), per_seed in values.items():
        path = tmp_path / f"{method}-b{bits}.json"
        path.write_text(json.dumps(_record(method, bits, per_seed)))
        files.append(path)
    table = finetune_table(files, {"EfficientDet": {"metric": "mAP", "reason": "no"}}, [2, 8])
    assert list(table.columns) == ["model", "metric", "fp", "bits", "quant", "prune", "quant_lo", "quant_hi",
                                   "prune_lo", "prune_hi", "seeds", "winner"]
    assert table["bits"].tolist() == [8, 2, 8, 2]
    two = table.iloc[1]
    quant = list(values[("quant", 2)].values())
    lo, hi = stats.t.interval(0.95, 2, loc=np.mean(quant), scale=stats.sem(quant))
    assert (two["quant"], two["quant_lo"], two["quant_hi"]) == pytest.approx((95.0, lo, hi))
    assert two["winner"] == "quant" and two["seeds"] == 3
    assert table.iloc[0]["winner"] == "inconclusive"  # 8 bits: +0.5, -0.2, +0.5 points
    assert table.iloc[2]["model"] == "EfficientDet" and np.isnan(table.iloc[2]["quant"])


def test_table_refuses_a_cell_without_its_partner(tmp_path):
    import json

    path = tmp_path / "quant-b4.json"
    path.write_text(json.dumps(_record("quant", 4, {0: 90.0})))
    with pytest.raises(ValueError, match="pairs quant with prune"):
        finetune_table([path])


def test_config_cross_checks_name_the_key():
    with pytest.raises(ConfigError, match="finetune.representations.bits"):
        validate({"finetune": {"bits": [2, 8], "representations": {"bits": 4}}})
    resnet = {"task": "imagenet", "metric": "acc", "batch_size": 8, "weight_decay": 0, "optimizer": "sgd",
              "epochs": 1, "lr": 0.1, "seeds": 1}
    with pytest.raises(ConfigError, match="imagenet_path"):
        validate({"finetune": {"models": {"resnet18": resnet}}})
    with pytest.raises(ConfigError, match="finetune.models"):
        validate({"finetune": {"models": {"alexnet": {}}}})
    with pytest.raises(ConfigError, match="finetune.models.resnet18.metric': task 'photos' reports 'agree'"):
        validate({"finetune": {"models": {"resnet18": {**resnet, "task": "photos"}}}})
    with pytest.raises(ConfigError, match="resnet18.task': 'digits'; only digits_resnet has task 'digits'"):
        validate({"finetune": {"models": {"resnet18": {**resnet, "task": "digits"}}}})
    with pytest.raises(ConfigError, match="digits_resnet.task': 'imagenet'; digits_resnet has task 'digits'"):
        validate({"imagenet_path": "/x", "finetune": {"models": {"digits_resnet": resnet}}})


def test_torch_magnitude_mask_equals_the_numpy_reference():
    from pvq.finetune.gmp import magnitude_mask
    from pvq.prune import magnitude_mask as reference

    rng = np.random.default_rng(1)
    w = rng.normal(size=(16, 8, 3, 3)).astype(np.float32)
    w[0, 0] = 0.5  # ties
    coarse = np.round(w, 1)  # many ties straddling every threshold
    channels_last = torch.from_numpy(w).contiguous(memory_format=torch.channels_last)
    for sparsity in (0.0, 0.3, 0.5, 0.875, 0.999, 1.0):
        for array in (w, coarse):
            ours = magnitude_mask(torch.from_numpy(array), sparsity).numpy()
            np.testing.assert_array_equal(ours, reference(np.abs(array), sparsity))
        np.testing.assert_array_equal(magnitude_mask(channels_last, sparsity).numpy(), reference(np.abs(w), sparsity))


@pytest.mark.parametrize("total", [1, 2, 3, 8])
def test_pruning_reaches_its_final_sparsity_in_short_runs(total):
    strategy = PruneStrategy(0.875, ramp_fraction=1.0)
    strategy.attach_(build_digits_resnet(4), compressible_layers(build_digits_resnet(4)), total)
    assert cubic_sparsity(total - 1, 0.875, strategy.ramp_steps) == 0.875
