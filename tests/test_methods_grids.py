"""Number grids against the formats' published value tables and PyTorch's own casts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pvq.methods import BF16, E2M1, E2M3, E3M2, E4M3, E5M2, E8M0, FP16, FP32, Float, Int
from pvq.methods.layout import from_reduction_matrix, grouped, reduction_matrix, ungrouped
from pvq.methods import PerChannel, PerGroup, PerTensor
from pvq.quantize import quantize_symmetric


def decoded_values(exp: int, man: int, specials: str) -> np.ndarray:
    """Every finite value of a sign/exponent/mantissa code, decoded bit pattern by bit pattern as the
    OCP specs define it (independent of pvq's construction): exponent field 0 is subnormal
    (f / 2^man * 2^(1 - bias)); "ieee": top exponent field is inf/NaN; "nan": only all ones is NaN."""
    bias = 2 ** (exp - 1) - 1
    values = set()
    for sign, e, m in itertools.product((1, -1), range(2**exp), range(2**man)):
        if specials == "ieee" and e == 2**exp - 1:
            continue
        if specials == "nan" and e == 2**exp - 1 and m == 2**man - 1:
            continue
        magnitude = (m / 2**man) * 2.0 ** (1 - bias) if e == 0 else (1 + m / 2**man) * 2.0 ** (e - bias)
        values.add(sign * magnitude)
    return np.array(sorted(values))


@pytest.mark.parametrize("grid, specials", [(E2M1, "none"), (E2M3, "none"), (E3M2, "none"), (E4M3, "nan"),
                                            (E5M2, "ieee")])
def test_value_tables_match_the_bit_patterns(grid, specials):
    np.testing.assert_array_equal(grid.levels(), decoded_values(grid.exp, grid.man, specials))


def test_published_extremes():
    assert E2M1.levels()[E2M1.levels() >= 0].tolist() == [0, 0.5, 1, 1.5, 2, 3, 4, 6]
    assert (E4M3.top, E4M3.smallest, E4M3.smallest_normal) == (448.0, 2.0**-9, 2.0**-6)
    assert E4M3.levels()[E4M3.levels() > 0][6] == 0.875 * 2.0**-6  # the largest subnormal
    assert (E5M2.top, E5M2.smallest) == (57344.0, 2.0**-16)
    assert (E3M2.top, E2M3.top, FP16.top) == (28.0, 7.5, 65504.0)
    assert (E2M1.emax, E4M3.emax, E5M2.emax, E3M2.emax, E2M3.emax) == (2, 8, 15, 4, 2)  # MX emax_elem
    assert E2M1.bits == 4 and E4M3.bits == 8 and E3M2.bits == 6 and E8M0().bits == 8


@pytest.mark.parametrize("grid, dtype", [(E4M3, torch.float8_e4m3fn), (E5M2, torch.float8_e5m2),
                                         (FP16, torch.float16), (BF16, torch.bfloat16)])
def test_rounding_equals_torch_casts(grid, dtype):
    # float32 inputs: torch casts float64 through float32 (rounding twice), float32 once
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(50_000) * np.exp(rng.uniform(-14, 12, 50_000))).astype(np.float32)
    levels = grid.levels()
    x = np.concatenate((x, (0.5 * (levels[1:] + levels[:-1])).astype(np.float32)))  # every tie
    x = x[np.abs(x) <= grid.top]  # beyond it a cast overflows (E5M2: inf), a quantizer saturates
    expected = torch.tensor(x).to(dtype).float().numpy()
    np.testing.assert_array_equal(grid.quantize(x), expected)
    np.testing.assert_array_equal(grid.quantize(x.astype(np.float64)), expected.astype(np.float64))


def test_float64_rounding_equals_numpy_casts():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(100_000) * np.exp(rng.uniform(-20, 10, 100_000))
    x = x[np.abs(x) <= FP16.top]
    np.testing.assert_array_equal(FP16.quantize(x), x.astype(np.float16).astype(np.float64))
    np.testing.assert_array_equal(FP32.quantize(x), x.astype(np.float32).astype(np.float64))


def test_saturation_instead_of_overflow():
    assert E4M3.quantize(np.array([500.0, -1e9]))[0] == 448.0
    assert E5M2.quantize(np.array([1e9]))[0] == 57344.0
    assert E2M1.quantize(np.array([7.0, -100.0])).tolist() == [6.0, -6.0]


def test_e8m0_rounds_to_the_nearest_power_of_two_like_torch():
    rng = np.random.default_rng(1)
    x = np.exp(rng.uniform(-80, 80, 20_000))
    x = np.concatenate((x, 1.5 * 2.0 ** np.arange(-100, 100)))  # the midpoints (ties)
    expected = torch.tensor(x).to(torch.float8_e8m0fnu).double().numpy()
    np.testing.assert_array_equal(E8M0().quantize(x), expected)
    assert E8M0().quantize(np.array([1e-60, 1e60])).tolist() == [2.0**-127, 2.0**127]


@settings(max_examples=80, deadline=None)
@given(x=st.floats(-600.0, 600.0), grid=st.sampled_from([E2M1, E2M3, E3M2, E4M3, E5M2, Int(3), Int(8)]))
def test_rounds_to_a_nearest_value(x, grid):
    levels = grid.levels()
    q = float(grid.quantize(np.array([x]))[0])
    assert q in set(levels.tolist())
    assert abs(x - q) <= np.abs(x - levels).min() + 1e-12 * max(1.0, abs(x))


@settings(max_examples=60, deadline=None)
@given(x=st.floats(1e-3, 1e3), grid=st.sampled_from([E4M3, E2M1, E3M2, FP16, E8M0()]))
def test_floor_and_ceil_bracket_x_with_neighbouring_values(x, grid):
    levels = grid.positive_levels() if hasattr(grid, "positive_levels") else None
    low, high = float(grid.floor(x)), float(grid.ceil(x))
    assert low <= x <= high or x > grid.top or x < grid.smallest
    if levels is not None and grid.smallest <= x <= grid.top:
        between = levels[(levels > low) & (levels < high)]
        assert between.size == 0 and low in levels and high in levels


def test_int_grid_is_the_papers_quantizer():
    w = np.random.default_rng(2).standard_normal(1000)
    for bits in (2, 4, 8):
        np.testing.assert_array_equal(0.1 * Int(bits).quantize(w / 0.1), quantize_symmetric(w, 0.1, bits))
    assert Int(4).levels().tolist() == list(range(-8, 8))


@pytest.mark.parametrize("make", [lambda: Int(1), lambda: Int(17), lambda: Int(4.5), lambda: Float(0, 3),
                                  lambda: Float(4, -1), lambda: Float(1, 0), lambda: PerGroup(0),
                                  lambda: PerGroup(True)])
def test_bad_construction_is_a_clear_error(make):
    with pytest.raises(ValueError, match=r"(bits|exp|man|size|E1M0)"):
        make()


def test_reduction_layout_is_input_channels_fastest_then_kernel_positions():
    w = np.arange(2 * 3 * 2 * 2).reshape(2, 3, 2, 2)  # (O, I, kh, kw)
    matrix = reduction_matrix(w)
    assert matrix.shape == (2, 12)
    # row 0: kernel position (0,0) for input channels 0, 1, 2, then position (0,1), ...
    assert matrix[0, :6].tolist() == [w[0, 0, 0, 0], w[0, 1, 0, 0], w[0, 2, 0, 0], w[0, 0, 0, 1], w[0, 1, 0, 1], w[0, 2, 0, 1]]
    np.testing.assert_array_equal(from_reduction_matrix(matrix, w.shape), w)
    linear = np.arange(6).reshape(2, 3)
    assert reduction_matrix(linear) is linear


def test_groups_run_along_rows_and_pad_the_last():
    matrix = np.arange(1, 19, dtype=float).reshape(2, 9)
    groups = grouped(matrix, 4)
    assert groups.shape == (6, 4)
    assert groups[2].tolist() == [9, 0, 0, 0] and groups[3].tolist() == [10, 11, 12, 13]
    np.testing.assert_array_equal(ungrouped(groups, 2, 9), matrix)
    assert PerGroup(4).unit_count((2, 9)) == 6 and PerGroup(32).unit_count((64, 1, 3, 3)) == 64
    assert PerChannel().unit_count((8, 3, 3, 3)) == 8 and PerTensor().unit_count((8, 3, 3, 3)) == 1
