"""Pruners, the joint method and storage counts against brute force and hand-counted examples."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from pvq.methods import (FP16, FP32, FP64, MSE, NM, Bitmap, EntropyBound, Int, PerChannel, PerTensor, PruneThenQuantize,
                         Pruner, Quantizer, RelativeIndex, Unstructured, Weights, parse)
from pvq.methods.layout import reduction_matrix
from pvq.methods.storage import binary_entropy, filler_entries
from pvq.prune import magnitude_mask
from pvq.quantize import fit_scales
from pvq.sorted_weights import SortedWeights


def brute_force_nm(matrix: np.ndarray, n: int, m: int) -> np.ndarray:
    """Per group of m consecutive weights of a row: the n-subset keeping the most energy, by trying all."""
    keep = np.zeros(matrix.shape, dtype=bool)
    for row, start in itertools.product(range(matrix.shape[0]), range(0, matrix.shape[1], m)):
        group = matrix[row, start:start + m]
        best = max(itertools.combinations(range(group.size), min(n, group.size)),
                   key=lambda subset: np.sum(group[list(subset)] ** 2))
        keep[row, start + np.array(best)] = True
    return keep


@pytest.mark.parametrize("n, m", [(2, 4), (1, 4), (4, 8), (3, 5)])
@pytest.mark.parametrize("shape", [(6, 5, 3, 3), (7, 40), (4, 1, 5, 5)])
def test_nm_masks_equal_brute_force_per_group(n, m, shape):
    w = np.random.default_rng(n * m).standard_normal(shape)
    pruner = Pruner(NM(n, m))
    keep = pruner.keep(Weights(w))
    np.testing.assert_array_equal(keep, brute_force_nm(reduction_matrix(w), n, m))
    w_hat, stats = pruner.apply(w)
    assert stats.kept == keep.sum() == pruner.pattern.kept_count(shape)
    kept_fp16 = FP16.quantize(reduction_matrix(w)[keep])
    assert stats.squared_error == pytest.approx(np.sum(reduction_matrix(w)[~keep] ** 2)
                                                + np.sum((reduction_matrix(w)[keep] - kept_fp16) ** 2), rel=1e-12)


def test_nm_groups_run_over_input_channels_first():
    # One output channel, 4 input channels, 1x2 kernel: groups of 4 are the 4 input channels at each
    # kernel position, not the 2 positions of one input channel.
    w = np.zeros((1, 4, 1, 2))
    w[0, :, 0, 0] = [4.0, 3.0, 2.0, 1.0]
    w[0, :, 0, 1] = [1.0, 2.0, 3.0, 4.0]
    w_hat, _ = Pruner(NM(2, 4)).apply(w)
    assert w_hat[0, :, 0, 0].tolist() == [4.0, 3.0, 0.0, 0.0]
    assert w_hat[0, :, 0, 1].tolist() == [0.0, 0.0, 3.0, 4.0]


def test_nm_short_group_keeps_its_largest_and_never_the_padding():
    w = np.array([[1.0, -5.0, 2.0, 0.5, 3.0]])  # groups [1, -5, 2, 0.5] and [3] (+ padding)
    w_hat, stats = Pruner(NM(2, 4)).apply(w)
    assert w_hat.tolist() == [[0.0, -5.0, 2.0, 0.0, 3.0]] and stats.kept == 3
    w_hat, _ = Pruner(NM(2, 4)).apply(np.array([[0.0, 0.0, 0.0, 0.0, 0.0]]))
    assert not w_hat.any()


@settings(max_examples=60, deadline=None)
@given(w=arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 40)), elements=st.floats(-100, 100)),
       sparsity=st.floats(0.0, 0.99))
def test_unstructured_prunes_exactly_the_smallest(w, sparsity):
    pruner = Pruner(Unstructured(sparsity), values=FP64)
    keep = pruner.keep(Weights(w))
    assert (~keep).sum() == round(sparsity * w.size)
    if keep.any() and (~keep).any():
        assert np.abs(w[~keep]).max() <= np.abs(w[keep]).min()
    _, stats = pruner.apply(w)
    assert stats.squared_error == pytest.approx(SortedWeights(w).pruning_error(round(sparsity * w.size)), rel=1e-12, abs=1e-12)


def test_unstructured_matches_the_papers_mask_without_ties():
    w = np.random.default_rng(3).standard_normal((64, 100))
    keep = Pruner(Unstructured(0.75)).keep(Weights(w))
    np.testing.assert_array_equal(keep, magnitude_mask(w, 0.75))


@pytest.mark.parametrize("spec, shape, bits", [
    ("prune/2:4", (64, 128), 9.0),                       # NOTES.md: (2 x 16 + 2 x 2) / 4
    ("prune/1:4", (64, 128), (16 + 2) / 4),
    ("prune/4:8", (64, 128), (4 * 16 + 4 * 3) / 8),
    ("prune/u0.75", (10, 100), (250 * 16 + 1000) / 1000),
    ("prune/u0.75/entropy", (10, 100), (250 * 16) / 1000 + binary_entropy(0.75)),
    ("prune/2:4/entropy", (64, 128), (2 * 16 + math.log2(6)) / 4),
    ("mxfp4", (64, 128), 4.25),                          # NOTES.md: 4 + 8/32
    ("nvfp4", (64, 128), 4.5 + 32 / (64 * 128)),         # 4 + 8/16 + one FP32 per tensor
    ("int4/per-channel/mse", (64, 128), 4 + 16 / 128),
    ("int4/per-channel/mse/scale-fp32", (64, 128), 4 + 32 / 128),
    ("int8/per-tensor/mse", (64, 128), 8 + 16 / (64 * 128)),
    ("int4/group128/mse", (32, 1, 3, 3), 4 + 16 / 9),    # a depthwise channel is one short group
    ("fp8-e4m3/group32/mse", (8, 40), 8 + 2 * 16 / 40),  # 40 = a group of 32 and one of 8
    ("prune/2:4+int4/per-channel/mse", (64, 128), (64 * 64 * 4 + 64 * 16 + 64 * 64 * 2) / (64 * 128)),
    ("prune/2:4", (16, 1, 3, 3), (16 * 5 * (16 + 2)) / (16 * 9)),  # groups of 4, 4 and 1: 2 + 2 + 1 kept
])
def test_bits_per_weight_hand_counted(spec, shape, bits):
    method = parse(spec)
    assert method.bits_per_weight(shape) == pytest.approx(bits, rel=1e-12)
    _, stats = method.apply(np.random.default_rng(0).standard_normal(shape))
    assert stats.bits_per_weight == pytest.approx(bits, rel=1e-12)


def test_relative_index_counts_fillers_by_hand():
    # kept at 0, 3, 20 with 3-bit gaps (span 8): distances 1, 3, 17 -> 0 + 0 + 2 fillers
    assert filler_entries(np.array([0, 3, 20]), 3) == 2
    mask = np.zeros((1, 24), dtype=bool)
    mask[0, [0, 3, 20]] = True
    bits = RelativeIndex(3).bits(Unstructured(0.875), (1, 24), mask, value_bits=16)
    assert bits == 3 * 3 + 2 * (16 + 3)
    with pytest.raises(ValueError, match="apply"):
        parse("prune/u0.5/index3").bits_per_weight((1, 24))
    w = np.zeros((1, 24))
    w[0, [0, 3, 20]] = [3.0, -2.0, 5.0]
    _, stats = parse("prune/u0.875/index3").apply(w)
    assert stats.storage_bits == 3 * 16 + 3 * 3 + 2 * (16 + 3)


def test_joint_fits_the_scale_on_the_kept_weights_alone():
    w = np.random.default_rng(5).standard_t(4, (16, 64))
    joint = PruneThenQuantize(Pruner(Unstructured(0.5)), Quantizer(Int(4), PerTensor(), MSE(), FP64))
    w_hat, stats = joint.apply(w)
    keep = joint.pruner.keep(Weights(w))
    fit = fit_scales(SortedWeights(w[keep]), [4])[0]
    assert stats.scales[0] == pytest.approx(fit.scale, rel=1e-12)  # zeros add no error at any scale
    assert stats.squared_error == pytest.approx(np.sum(w[~keep] ** 2) + fit.squared_error, rel=1e-9)
    assert not w_hat[~keep].any()
    assert stats.kept == keep.sum() and stats.storage_bits == keep.sum() * 4 + 64 + w.size


@pytest.mark.parametrize("make, words", [
    (lambda: NM(4, 2), "n < m"), (lambda: NM(0, 4), "n < m"), (lambda: NM(2.0, 4), "integer"),
    (lambda: Unstructured(1.0), "[0, 1)"), (lambda: Unstructured(-0.1), "[0, 1)"),
    (lambda: Pruner(Unstructured(0.5), positions=parse("prune/2:4").positions), "N:M patterns only"),
    (lambda: Pruner("2:4"), "pattern"), (lambda: Pruner(NM(2, 4), values=Int(8)), "Float"),
    (lambda: PruneThenQuantize(Pruner(NM(2, 4), values=FP32), parse("int4/per-channel/mse")), "value format"),
    (lambda: Quantizer(Int(4), PerChannel(), MSE(), Int(8)), "scale_format"),
])
def test_bad_methods_are_clear_errors(make, words):
    with pytest.raises(ValueError, match=None) as caught:
        make()
    assert words in str(caught.value)


def test_entropy_bound_and_bitmap_are_shape_only():
    for positions in (Bitmap(), EntropyBound()):
        pruner = Pruner(Unstructured(0.6), positions=positions)
        _, stats = pruner.apply(np.random.default_rng(1).standard_normal((5, 7)))
        assert stats.storage_bits == pytest.approx(pruner.storage_bits((5, 7)))
    assert binary_entropy(0.5) == 1.0 and binary_entropy(0.0) == 0.0
