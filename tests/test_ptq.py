"""Whole-model post-training compression (pvq.ptq) and SparseGPT (pvq.bounds.sparsegpt_prune):
against brute force, closed forms, the per-row pvq.bounds functions and a hand-run sequential pass."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
import torch
from torch import nn

from conftest import REPO
from pvq import bounds
from pvq.bounds.gptq import column_order
from pvq.bounds.hessian import damping, inverse_cholesky
from pvq.config import load_config
from pvq.models.registry import load_model
from pvq.ptq.calibration import execution_order, gram_root, layer_gram, segments
from pvq.ptq.methods import Settings, compress_layer, method_of, row_keeps
from pvq.ptq.sequential import compress_model_
from pvq.ptq.shared import gptq_rows, inverse_cholesky_of, sparsegpt_rows, wanda_rows

# The default tier's settings: the schema's defaults (a settings value has none of its own).
DEFAULT = load_config(REPO / "config.yaml")
SETTINGS = Settings.from_config(DEFAULT["ptq"], DEFAULT["baseline_bits"])


def nasty_X(rng, m=30, n=10, duplicate=1.0):
    """Correlated columns, one dead, one (nearly, with duplicate < 1) a copy of another; heavy tails."""
    X = rng.standard_t(3, size=(m, n)) @ (np.eye(n) + 0.6 * rng.standard_normal((n, n)))
    X[:, 3] = 0.0
    X[:, 7] = duplicate * X[:, 1] + (1 - duplicate) * X[:, 2]
    return X


def brute_force_prune(X, w0, keep):
    n = w0.size
    best = np.inf
    target = X @ w0
    for support in itertools.combinations(range(n), keep):
        cols = list(support)
        if cols:
            w = np.linalg.lstsq(X[:, cols], target, rcond=None)[0]
            best = min(best, float(np.sum((X[:, cols] @ w - target) ** 2)))
        else:
            best = min(best, float(target @ target))
    return best


# --- SparseGPT on one row -----------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("keep", [0, 2, 5, 8])
def test_sparsegpt_never_beats_the_optimum_and_keeps_keep(seed, keep):
    rng = np.random.default_rng(seed)
    X = nasty_X(rng, m=20, n=8)
    w0 = rng.standard_normal(8)
    result = bounds.sparsegpt_prune(X, w0, keep, block=3)
    assert np.count_nonzero(result.weights) <= keep
    assert result.info["support"].size == keep
    assert np.isclose(result.error, float(np.sum((X @ (result.weights - w0)) ** 2)))
    assert result.error >= brute_force_prune(X, w0, keep) * (1 - 1e-9) - 1e-12


@pytest.mark.parametrize("order", ["act", "natural"])
@pytest.mark.parametrize("seed", range(3))
def test_sparsegpt_single_removal_is_the_cheapest_with_later_columns_free(seed, order):
    """keep = n - 1, one block: the removed weight minimises w_q^2 / U_qq^2, which is the least-squares
    cost of zeroing w_q with the earlier columns fixed and the later ones refitted (computed by lstsq)."""
    rng = np.random.default_rng(10 + seed)
    X = rng.standard_normal((40, 7)) @ (np.eye(7) + 0.5 * rng.standard_normal((7, 7)))
    w0 = rng.standard_normal(7)
    result = bounds.sparsegpt_prune(X, w0, 6, order=order, damp=0.0, block=64)
    sequence = result.info["order"]
    costs = []
    for k, q in enumerate(sequence):
        later = sequence[k + 1:]
        target = X[:, q] * w0[q]
        fit = np.linalg.lstsq(X[:, later], target, rcond=None)[0] if later.size else np.zeros(0)
        costs.append(float(np.sum((X[:, later] @ fit - target) ** 2)))
    removed = np.setdiff1d(np.arange(7), result.info["support"])
    assert removed.tolist() == [sequence[int(np.argmin(costs))]]
    assert np.isclose(result.error, min(costs), rtol=1e-8)


def test_sparsegpt_on_diagonal_hessian_is_wanda():
    rng = np.random.default_rng(3)
    X = np.diag(rng.uniform(0.5, 3.0, 9))
    w0 = rng.standard_normal(9)
    for keep in (1, 4, 8):
        sparse = bounds.sparsegpt_prune(X, w0, keep, damp=0.0, block=100)
        wanda = bounds.wanda_prune(X, w0, keep)
        np.testing.assert_allclose(sparse.weights, wanda.weights, atol=1e-12)


@pytest.mark.parametrize("order", ["act", "natural"])
def test_sparsegpt_keeping_everything_on_a_grid_is_gptq(order):
    rng = np.random.default_rng(5)
    X = nasty_X(rng, m=25, n=11)
    w0 = rng.standard_normal(11)
    joint = bounds.sparsegpt_prune(X, w0, 11, delta=0.3, bits=3, order=order, block=4)
    gptq = bounds.gptq_quant(X, w0, 0.3, 3, order=order)
    np.testing.assert_array_equal(joint.codes, gptq.codes)


def test_sparsegpt_joint_codes_on_grid_and_zero_where_pruned():
    rng = np.random.default_rng(6)
    X = nasty_X(rng)
    w0 = 2 * rng.standard_normal(10)
    result = bounds.sparsegpt_prune(X, w0, 4, delta=0.25, bits=2, block=3)
    assert result.codes.min() >= -2 and result.codes.max() <= 1
    outside = np.setdiff1d(np.arange(10), result.info["support"])
    assert np.all(result.codes[outside] == 0)
    np.testing.assert_allclose(result.weights, 0.25 * result.codes)


def test_sparsegpt_zeroes_dead_columns_first():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((20, 6))
    X[:, [1, 4]] = 0.0
    w0 = rng.standard_normal(6) + 5.0  # large: a live weight would cost a lot
    result = bounds.sparsegpt_prune(X, w0, 4)
    assert set(np.flatnonzero(result.weights == 0)) == {1, 4}
    assert result.error < 1e-9 * float(np.sum((X @ w0) ** 2))


def test_sparsegpt_refuses_bad_input():
    X, w0 = np.eye(3), np.ones(3)
    with pytest.raises(ValueError, match="block"):
        bounds.sparsegpt_prune(X, w0, 1, block=0)
    with pytest.raises(ValueError, match="delta"):
        bounds.sparsegpt_prune(X, w0, 1, delta=0.1)
    with pytest.raises(ValueError, match="keep"):
        bounds.sparsegpt_prune(X, w0, 4)


# --- all rows of a layer with one Hessian equal the per-row functions ----------------------------

@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("order", ["act", "natural"])
def test_batched_rows_equal_per_row_functions(seed, order):
    rng = np.random.default_rng(20 + seed)
    # seed 2: fewer rows than features; near-copies (ties in act order would fall either way in rounding)
    X = nasty_X(rng, m=8 if seed == 2 else 30, n=13, duplicate=0.999)
    A = X.T @ X
    W = rng.standard_normal((6, 13)) * np.array([1, 10, 0.1, 1, 1, 3])[:, None]
    keeps = np.array([0, 3, 5, 7, 12, 13])
    deltas = rng.uniform(0.05, 0.5, 6)
    pruned = sparsegpt_rows(A, W, keeps, order=order, block=4)
    joint = sparsegpt_rows(A, W, keeps, deltas, 3, order=order, block=4)
    gptq = gptq_rows(A, W, deltas, 4, order=order)
    wanda = wanda_rows(A, W, keeps)
    for r in range(6):
        np.testing.assert_allclose(pruned[r], bounds.sparsegpt_prune(X, W[r], keeps[r], order=order, block=4).weights,
                                   rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(joint[r], bounds.sparsegpt_prune(X, W[r], keeps[r], deltas[r], 3, order=order,
                                                                    block=4).weights, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(gptq[r], bounds.gptq_quant(X, W[r], deltas[r], 4, order=order).weights,
                                   rtol=1e-7, atol=1e-9)
        np.testing.assert_array_equal(wanda[r], bounds.wanda_prune(X, W[r], keeps[r]).weights)


def test_gram_root_is_exact_and_keeps_dead_columns_dead():
    rng = np.random.default_rng(1)
    X = nasty_X(rng)
    A = gram_root(X.T @ X)
    np.testing.assert_allclose(A.T @ A, X.T @ X, atol=1e-9 * np.abs(X.T @ X).max())
    assert np.all(A[:, 3] == 0) and np.all(np.any(A[:, [0, 1, 2]] != 0, axis=0))


def test_row_keeps_share_the_tensor_count():
    keeps = row_keeps(23, 5, 10)
    assert keeps.sum() == 50 - 23 and keeps.max() - keeps.min() <= 1
    assert row_keeps(0, 3, 4).tolist() == [4, 4, 4]


# --- the sequential procedure ------------------------------------------------------------------

class TwoLayers(nn.Module):
    """A conv, a depthwise conv and a linear layer, in an order that differs from their definition."""

    def __init__(self):
        super().__init__()
        self.head = nn.Linear(6 * 5 * 5, 4)
        self.depthwise = nn.Conv2d(6, 6, 3, padding=(1, 1), groups=6, bias=False)
        self.stem = nn.Conv2d(2, 6, 3, padding=(0, 0))

    def forward(self, x):
        return self.head(torch.relu(self.depthwise(torch.relu(self.stem(x)))).flatten(1))


def test_execution_order_follows_the_forward_pass():
    model = TwoLayers()
    names = [name for name, _ in execution_order(model, torch.zeros(1, 2, 7, 7))]
    assert names == ["stem", "depthwise", "head"]


def test_layer_gram_unfolds_conv_depthwise_and_linear_inputs():
    torch.manual_seed(0)
    model = TwoLayers().double()
    x = torch.randn(3, 2, 7, 7, dtype=torch.float64)
    G, rows = layer_gram(model, model.stem, [x[:2], x[2:]])
    # stem: every 3x3 window of every image, as weight.reshape(6, -1) orders it
    patches = np.stack([x[n, :, i:i + 3, j:j + 3].numpy().ravel() for n in range(3) for i in range(5) for j in range(5)])
    np.testing.assert_allclose(G, patches.T @ patches, rtol=1e-12)
    assert rows == 75
    with torch.no_grad():
        h = torch.relu(model.stem(x)).numpy()
        features = torch.relu(model.depthwise(torch.relu(model.stem(x)))).flatten(1).numpy()
    padded = np.pad(h, ((0, 0), (0, 0), (1, 1), (1, 1)))
    G, _ = layer_gram(model, model.depthwise, [x])
    for c in (0, 5):
        windows = np.stack([padded[n, c, i:i + 3, j:j + 3].ravel() for n in range(3) for i in range(5) for j in range(5)])
        np.testing.assert_allclose(G[c], windows.T @ windows, rtol=1e-12, atol=1e-12)
    G, rows = layer_gram(model, model.head, [x])
    np.testing.assert_allclose(G, features.T @ features, rtol=1e-12)


def test_grouped_conv_is_refused_with_its_name():
    model = nn.Sequential(nn.Conv2d(4, 4, 3, groups=2))
    with pytest.raises(ValueError, match="'0'.*grouped"):
        execution_order(model, torch.zeros(1, 4, 5, 5))


@pytest.mark.parametrize("method", ["gptq", "sparsegpt", "sparsegpt+gptq", "wanda"])
def test_sequential_pass_fits_each_layer_to_the_compressed_inputs(method):
    """Run by hand: the head's new weights come from the inputs the compressed stem and depthwise
    layers give it, not the original ones (those give different weights)."""
    torch.manual_seed(1)
    model = TwoLayers().double()
    batches = [torch.randn(8, 2, 7, 7, dtype=torch.float64) for _ in range(2)]
    original = TwoLayers().double()
    original.load_state_dict(model.state_dict())
    settings = dataclasses.replace(SETTINGS, block=16)
    record = compress_model_(model, method, 2, batches, settings)
    assert record["layers"] == 3

    reference = TwoLayers().double()
    reference.load_state_dict(original.state_dict())
    for name in ("stem", "depthwise", "head"):
        layer = getattr(reference, name)
        G, _ = layer_gram(reference, layer, batches)
        w = compress_layer(method, 2, layer.weight.detach().numpy(), G, name == "depthwise", settings)
        if name == "head":
            G_fp, _ = layer_gram(original, original.head, batches)
            stale = compress_layer(method, 2, layer.weight.detach().numpy(), G_fp, False, settings)
            assert np.abs(stale - w).max() > 1e-3  # the two procedures differ on this model
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(w))
    for name in ("stem", "depthwise", "head"):
        np.testing.assert_allclose(getattr(model, name).weight.detach().numpy(),
                                   getattr(reference, name).weight.detach().numpy(), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("method", ["rtn", "gptq", "magnitude", "wanda", "sparsegpt", "sparsegpt+gptq"])
@pytest.mark.parametrize("bits", [2, 4])
def test_storage_and_nonzeros_match_the_spec(method, bits):
    torch.manual_seed(2)
    model = TwoLayers().double()
    batches = [torch.randn(6, 2, 7, 7, dtype=torch.float64)]
    record = compress_model_(model, method, bits, batches, SETTINGS)
    value = method_of(method, bits, SETTINGS)
    shapes = [m.weight.shape for m in (model.stem, model.depthwise, model.head)]
    total = sum(np.prod(s) for s in shapes)
    assert record["spec"] == value.spec
    assert np.isclose(record["bits_per_weight"], sum(value.storage_bits(tuple(s)) for s in shapes) / total)
    if method == "rtn" or method == "gptq":
        expected = bits + 16 * sum(s[0] for s in shapes) / total  # one FP16 step per output channel
        assert np.isclose(record["bits_per_weight"], expected)
    if value.family == "prune":
        kept = sum(value.pattern.kept_count(tuple(s)) for s in shapes)
        assert np.isclose(record["bits_per_weight"], (16 * kept + total) / total)  # FP16 values + bitmap
    if value.family in ("prune", "joint"):
        pruner = value if value.family == "prune" else value.pruner
        nonzero = sum(int(torch.count_nonzero(m.weight)) for m in (model.stem, model.depthwise, model.head))
        assert nonzero <= sum(pruner.pattern.kept_count(tuple(s)) for s in shapes)


def test_joint_value_bits_must_be_whole():
    assert method_of("sparsegpt+gptq", 3, SETTINGS).spec == "prune/u0.5+int6/per-channel/mse"
    with pytest.raises(ValueError, match="whole number"):
        method_of("sparsegpt+gptq", 3, dataclasses.replace(SETTINGS, joint_sparsity=0.3))
    with pytest.raises(ValueError, match="damp"):
        dataclasses.replace(SETTINGS, damp=0.0)


def test_inverse_cholesky_from_the_gram_matches_the_square_root_form():
    """The batched factor (Cholesky of the damped G) against pvq.bounds.hessian's (QR of X), dead column left out."""
    rng = np.random.default_rng(0)
    X = nasty_X(rng, m=9, n=10, duplicate=0.9)  # fewer rows than features: only the damping inverts G
    for order in ("act", "natural"):
        sequence, U, lam = inverse_cholesky_of(X.T @ X, order, 0.01)
        expected = column_order(X, np.flatnonzero(np.any(X != 0, axis=0)), order)
        np.testing.assert_array_equal(sequence, expected)
        assert np.isclose(lam, damping(X[:, expected], 0.01))
        np.testing.assert_allclose(U, inverse_cholesky(X[:, expected], lam), rtol=1e-8, atol=1e-12)
        H = X[:, expected].T @ X[:, expected] + lam * np.eye(expected.size)
        np.testing.assert_allclose(U.T @ U, np.linalg.inv(H), rtol=1e-8)


def test_efficientnet_segments_chain_to_the_model():
    torch.manual_seed(3)
    model = load_model("efficientnet_lite0", pretrained=False).eval()
    x = torch.randn(2, 3, 32, 32)
    parts = segments(model)
    assert len(parts) == 2 + len(model._blocks)
    with torch.no_grad():
        y = x
        for part in parts:
            y = part(y)
        np.testing.assert_allclose(y.numpy(), model(x).numpy(), rtol=1e-5, atol=1e-5)


def test_lite0_layers_are_fitted_to_inputs_through_the_compressed_layers():
    """With segments cached: every layer's compressed weights are what the method gives on the inputs
    the final (compressed) model feeds it, which only earlier layers shape; the uncompressed model's
    inputs give other weights."""
    torch.manual_seed(4)
    original = load_model("efficientnet_lite0", pretrained=False).eval()
    model = load_model("efficientnet_lite0", pretrained=False).eval()
    model.load_state_dict(original.state_dict())
    batches = [torch.randn(2, 3, 32, 32)]
    compress_model_(model, "gptq", 3, batches, SETTINGS)
    for name in ("_conv_stem", "_blocks.5._depthwise_conv", "_blocks.15._project_conv", "_fc"):
        layer, before = model.get_submodule(name), original.get_submodule(name)
        G, _ = layer_gram(model, layer, batches)
        expected = compress_layer("gptq", 3, before.weight.detach().double().numpy(), G,
                                  name.endswith("depthwise_conv"), SETTINGS)
        np.testing.assert_allclose(layer.weight.detach().numpy(), expected, rtol=1e-5, atol=1e-6)
        if name != "_conv_stem":  # the stem sees the images themselves
            G_fp, _ = layer_gram(original, before, batches)
            stale = compress_layer("gptq", 3, before.weight.detach().double().numpy(), G_fp,
                                   name.endswith("depthwise_conv"), SETTINGS)
            assert np.abs(stale - expected).max() > 1e-3


def test_pointwise_conv_gram_is_pixels_times_pixels():
    conv = nn.Conv2d(3, 4, 1, bias=False).double()
    x = torch.randn(2, 3, 5, 6, dtype=torch.float64)
    G, rows = layer_gram(conv, conv, [x], images_per_step=1)
    pixels = x.permute(0, 2, 3, 1).reshape(-1, 3).numpy()
    np.testing.assert_allclose(G, pixels.T @ pixels, rtol=1e-12)
    assert rows == 60


def test_shared_rows_refuse_bad_input_by_name():
    G, W = np.eye(3), np.ones((2, 3))
    with pytest.raises(ValueError, match="share n"):
        sparsegpt_rows(np.eye(4), W, 1)
    with pytest.raises(ValueError, match="keeps must lie in 0..3"):
        wanda_rows(G, W, [1, 4])
    with pytest.raises(ValueError, match="both deltas and bits"):
        sparsegpt_rows(G, W, 3, deltas=[0.1, 0.1])
    with pytest.raises(ValueError, match="positive"):
        gptq_rows(G, W, [0.1, 0.0], 4)
    with pytest.raises(ValueError, match="damp"):
        gptq_rows(G, W, 0.1, 4, damp=0.0)
    # every input dead: nothing to fit, nothing pruned beyond the count, the grid still applies
    out = sparsegpt_rows(np.zeros((3, 3)), W, [1, 3], deltas=0.4, bits=2)
    assert np.count_nonzero(out[0]) == 1 and np.allclose(out[1], 0.4 * np.round(1 / 0.4).clip(-2, 1))
