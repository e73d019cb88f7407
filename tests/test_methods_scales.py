"""Scale rules and searches against brute force, the OCP MX definition and pvq.quantize.fit_scales."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pvq.methods import (E2M1, E3M2, E4M3, E5M2, E8M0, FP16, FP32, FP64, MSE, Int, Max, PerChannel, PerGroup,
                         PerTensor, Quantizer, Weights, parse)
from pvq.methods import scales, search
from pvq.quantize import fit_scales, quantize_symmetric
from pvq.sorted_weights import SortedWeights

GRIDS = [Int(2), Int(4), Int(8), E2M1, E3M2, E4M3, E5M2]


def sample(kind: str, shape, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w = {"normal": rng.standard_normal, "t3": lambda s: rng.standard_t(3, s), "laplace": lambda s: rng.laplace(size=s)}[kind](shape)
    w[..., 0] = -np.abs(w[..., 0]) * 2.0  # a negative largest value: the INT grid's longer side
    return w


def dense_minimum(units, grid, points: int = 20_000) -> np.ndarray:
    """Brute force: the least error over ``points`` scales spread geometrically over [0.005, 2.2] max|v| / top."""
    base = units.amax / grid.top
    best = np.full(units.count, np.inf)
    for chunk in np.array_split(np.geomspace(0.005, 2.2, points), 40):
        best = np.minimum(best, search.errors(units.values, base[:, None] * chunk, grid).min(axis=1))
    return best


def bracket(units, grid):
    reference = scales.max_scales(units, grid, FP64, 1.0)
    error = search.errors(units.values, reference[:, None], grid)[:, 0]
    high = np.minimum(search.zeroing_ceiling(units, grid, error), 2.0 * units.amax / grid.top)
    return np.clip(search.clipping_floor(units, grid, error), 1e-9 * high, high), high, error


@pytest.mark.parametrize("bits", range(2, 9))
@pytest.mark.parametrize("size", [300, 3000, 30_000])
def test_per_tensor_int_mse_is_bit_identical_to_fit_scales(bits, size):
    w = sample("t3", (size,), bits).astype(np.float32).reshape(-1, 10)
    w_hat, stats = Quantizer(Int(bits), PerTensor(), MSE(), FP64).apply(w)
    fit = fit_scales(SortedWeights(w), [bits])[0]
    assert stats.scales[0] == fit.scale
    np.testing.assert_array_equal(w_hat, quantize_symmetric(w.astype(np.float64), fit.scale, bits))
    assert stats.squared_error == pytest.approx(fit.squared_error, rel=1e-9)


@pytest.mark.parametrize("grid", GRIDS, ids=str)
@pytest.mark.parametrize("kind, shape", [("normal", (40, 9)), ("t3", (24, 32)), ("laplace", (6, 200))])
def test_sweep_is_the_exact_minimum(grid, kind, shape):
    units = Weights(sample(kind, shape, 7)).units(PerChannel())
    low, high, _ = bracket(units, grid)
    scale, error = search.sweep(units, grid, low, high)
    direct = search.errors(units.values, scale[:, None], grid)[:, 0]
    np.testing.assert_allclose(error, direct, rtol=1e-7, atol=1e-14)  # S2 - 2sC + s^2 N cancels
    assert np.all(direct <= dense_minimum(units, grid) * (1 + 1e-9) + 1e-14)


@pytest.mark.parametrize("grid", GRIDS, ids=str)
def test_bracket_bounds_hold(grid):
    units = Weights(sample("t3", (30, 16), 3)).units(PerChannel())
    low, high, reference = bracket(units, grid)
    base = units.amax / grid.top
    rng = np.random.default_rng(0)
    below = low[:, None] * rng.uniform(0.01, 1.0, (units.count, 50))
    above = search.zeroing_ceiling(units, grid, reference)[:, None] * rng.uniform(1.0, 20.0, (units.count, 50))
    assert np.all(search.errors(units.values, below, grid) >= reference[:, None] * (1 - 1e-9))
    finite = np.isfinite(above).all(axis=1)
    assert np.all(search.errors(units.values[finite], above[finite], grid) >= reference[finite, None] * (1 - 1e-9))
    far = base[:, None] * rng.uniform(2.0, 16.0, (units.count, 50))  # halving a scale above 2 max/top never hurts
    assert np.all(search.errors(units.values, far / 2, grid) <= search.errors(units.values, far, grid) * (1 + 1e-9) + 1e-15)


@pytest.mark.parametrize("grid", [Int(4), Int(6), E2M1, E4M3], ids=str)
@pytest.mark.parametrize("granularity", [PerChannel(), PerGroup(32)], ids=str)
def test_mse_scales_are_near_the_dense_optimum(grid, granularity):
    """The default mix (exact sweeps while cheap, scans beyond) within 0.1 dB of brute force per
    tensor, and never worse than the max rule."""
    w = sample("t3", (48, 160), 11)
    quantizer = Quantizer(grid, granularity, MSE(), FP64)
    units = Weights(w).units(granularity)
    _, stats = quantizer.apply(w)
    best = dense_minimum(units, grid).sum()
    assert 10 * np.log10(stats.squared_error / best) <= 0.1
    assert stats.squared_error <= Quantizer(grid, granularity, Max(), FP64).apply(w)[1].squared_error


@pytest.mark.parametrize("grid", [Int(4), Int(8), E4M3, E2M1], ids=str)
@pytest.mark.parametrize("kind, shape, granularity", [("normal", (12, 1024), PerChannel()),
                                                      ("t3", (48, 160), PerGroup(32))], ids=["long", "groups"])
def test_scan_alone_is_near_the_exact_sweep(grid, kind, shape, granularity):
    """The scan the large tensors get, against the exact sweep: within 0.1 dB per tensor (8-bit
    grids the worst; benchmarks/accuracy_formats.py measures Lite0)."""
    units = Weights(sample(kind, shape, 5)).units(granularity)
    low, high, _ = bracket(units, grid)
    scale, _ = search.scan(units, grid, low, high, scales.scan_candidates(grid), scales.SCAN_SEEDS,
                           scales.SCAN_FINE, scales.LLOYD_STEPS)
    scanned = search.errors(units.values, scale[:, None], grid)[:, 0]  # float64, as apply() reports it
    _, exact = search.sweep(units, grid, low, high)
    assert np.all(exact <= scanned * (1 + 1e-6))
    assert 10 * np.log10(scanned.sum() / exact.sum()) <= 0.1


def test_mse_power_of_two_is_the_best_of_all_e8m0_values():
    w = sample("t3", (16, 96), 2)
    _, stats = parse("mxfp4/mse").apply(w)
    units = Weights(w).units(PerGroup(32))
    every = E8M0().positive_levels()
    brute = search.errors(units.values, np.broadcast_to(every, (units.count, every.size)), E2M1)
    chosen = search.errors(units.values, stats.scales[:, None], E2M1)[:, 0]
    np.testing.assert_allclose(chosen, brute.min(axis=1), rtol=1e-6)
    assert set(np.log2(stats.scales)) <= set(range(-127, 128))


def test_nvfp4_mse_block_scales_are_the_best_e4m3_values():
    w = sample("laplace", (8, 64), 4)
    _, stats = parse("nvfp4/mse").apply(w)
    base = float(FP32.quantize(np.abs(w).max() / (6.0 * 448.0)))
    every = base * E4M3.positive_levels()
    units = Weights(w).units(PerGroup(16))
    brute = search.errors(units.values, np.broadcast_to(every, (units.count, every.size)), E2M1).min(axis=1)
    chosen = search.errors(units.values, stats.scales[:, None], E2M1)[:, 0]
    np.testing.assert_allclose(chosen, brute, rtol=1e-6)
    assert set((stats.scales / base).round(12)) <= set(E4M3.positive_levels())


def ocp_shared_scale(block: np.ndarray, emax_elem: int) -> float:
    """The OCP MX v1.0 rule written out: X = 2^(floor(log2(max_i |V_i|)) - emax_elem), clamped to E8M0."""
    exponent = math.floor(math.log2(float(np.max(np.abs(block))))) - emax_elem
    return 2.0 ** min(max(exponent, -127), 127)


def test_shared_exponent_follows_the_ocp_mx_definition():
    rng = np.random.default_rng(9)
    w = rng.standard_normal((4, 64)) * np.exp(rng.uniform(-30, 30, (4, 1)))
    for spec, grid in (("mxfp4", E2M1), ("mxfp6-e3m2", E3M2), ("mxfp8-e4m3", E4M3), ("mxfp8-e5m2", E5M2)):
        w_hat, stats = parse(spec).apply(w)
        blocks = Weights(w).units(PerGroup(32)).values
        expected = [ocp_shared_scale(block, grid.emax) for block in blocks]
        assert stats.scales.tolist() == expected
        # elements: each V_i / X rounded to the element format, saturating at its largest normal value
        np.testing.assert_array_equal(Weights(w_hat).units(PerGroup(32)).values,
                                      grid.quantize(blocks / np.array(expected)[:, None]) * np.array(expected)[:, None])


def test_shared_exponent_worked_by_hand():
    """Hand-worked from the definition: max 2.9 -> floor(log2 2.9) = 1, X = 2^(1 - 2) = 0.5 for E2M1;
    2.9 / 0.5 = 5.8 -> 6 -> 3.0; 3.9 / 0.5 = 7.8 saturates at 6 -> 3.0 (the rule can clip);
    0.3 / 0.5 = 0.6 -> 0.5 -> 0.25; 0.1 / 0.5 = 0.2 -> 0 (below half of 0.5)."""
    block = np.array([[2.9, -0.3, 0.1, 1.2] + [0.0] * 28])
    w_hat, stats = parse("mxfp4").apply(block)
    assert stats.scales.tolist() == [0.5]
    assert w_hat[0, :4].tolist() == [3.0, -0.25, 0.0, 1.0]
    w_hat, stats = parse("mxfp4").apply(np.array([[3.9, 0.75] + [0.0] * 30]))
    assert stats.scales.tolist() == [0.5] and w_hat[0, :2].tolist() == [3.0, 0.75]
    tiny = parse("mxfp8-e4m3").apply(np.array([[1e-45, 1e-46]]))[1]
    assert tiny.scales.tolist() == [2.0**-127]  # floor(log2 1e-45) - 8 = -158: clamped to E8M0's least


def test_max_rule_and_all_zero_units():
    w = np.zeros((3, 8))
    w[0, 3] = -5.0
    _, stats = Quantizer(Int(4), PerChannel(), Max(), FP64).apply(w)
    assert stats.scales[0] == 5.0 / 7.0 and stats.squared_error == 0.0 and stats.zeros == 23
    _, stats = Quantizer(Int(4), PerChannel(), Max(), FP16).apply(w)
    assert stats.scales[0] == float(FP16.quantize(5.0 / 7.0)) != 5.0 / 7.0
    for spec in ("int4/per-channel/mse", "fp8-e4m3/per-channel/mse", "mxfp4/mse", "nvfp4/mse", "mxfp4"):
        w_hat, st = parse(spec).apply(w)
        assert np.isfinite(st.scales).all() and not w_hat[1:].any() and st.zeros >= 23


def test_scale_formats_round_the_stored_scale():
    w = sample("normal", (8, 64), 1)
    for fmt in (FP16, FP32):
        _, stats = Quantizer(Int(4), PerChannel(), MSE(), fmt).apply(w)
        np.testing.assert_array_equal(fmt.quantize(stats.scales), stats.scales)
