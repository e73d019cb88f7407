"""Quantizer, pruning mask and metrics against their definitions and PyTorch/SciPy references."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from pvq.metrics import kurtosis, snr_db
from pvq.prune import magnitude_mask, sparsity_for_bits
from pvq.quantize import grid_limits, quantize_symmetric

weights = arrays(np.float64, st.integers(1, 200), elements=st.floats(-1e3, 1e3, allow_nan=False))


@settings(max_examples=60, deadline=None)
@given(w=weights, bits=st.integers(2, 8), scale=st.floats(1e-3, 10.0))
def test_quantized_values_lie_on_the_clipped_grid(w, bits, scale):
    codes = quantize_symmetric(w, scale, bits) / scale
    lo, hi = grid_limits(bits)
    np.testing.assert_allclose(codes, np.round(codes), atol=1e-6)
    assert codes.min() >= lo - 1e-9 and codes.max() <= hi + 1e-9


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_quantizer_equals_torch_fake_quantize(bits):
    w = torch.randn(10_000, dtype=torch.float32) * 0.7
    scale = 0.05 * 8 / bits
    lo, hi = grid_limits(bits)
    expected = torch.fake_quantize_per_tensor_affine(w, scale, 0, lo, hi).numpy()
    np.testing.assert_allclose(quantize_symmetric(w.numpy(), np.float32(scale), bits), expected, atol=1e-7)


@settings(max_examples=60, deadline=None)
@given(w=weights, sparsity=st.floats(0.0, 0.99))
def test_magnitude_mask_prunes_exactly_the_smallest(w, sparsity):
    mask = magnitude_mask(w, sparsity)
    assert (~mask).sum() == round(sparsity * w.size)
    if mask.any() and (~mask).any():
        assert np.abs(w[~mask]).max() <= np.abs(w[mask]).min()


def test_paper_compression_pairs():
    assert [sparsity_for_bits(b) for b in (8, 4, 2)] == [0.5, 0.75, 0.875]


def test_kurtosis_matches_scipy():
    x = np.random.default_rng(1).standard_t(5, size=(64, 3, 3, 3))
    assert kurtosis(x) == pytest.approx(stats.kurtosis(x.ravel(), fisher=False), rel=1e-12)


def test_snr_db():
    assert snr_db(100.0, 1.0) == pytest.approx(20.0)
    assert snr_db(1.0, 0.0) == np.inf
