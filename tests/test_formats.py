"""The formats stage's logic: long-form rows, model-level points and Pareto fronts against brute force."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pvq.config import ConfigError
from pvq.formats.pareto import model_points, on_front, pareto_table
from pvq.formats.specs import checked_methods
from pvq.formats.sweep import COLUMNS, sweep_model
from pvq.metrics import kurtosis, snr_db


def test_rows_are_long_form_one_per_tensor_and_method():
    rng = np.random.default_rng(0)
    tensors = {"a.weight": rng.standard_normal((8, 4, 3, 3)), "b.weight": rng.standard_t(3, (10, 40))}
    methods = checked_methods(["int4/per-channel/mse", "prune/2:4", "prune/2:4+int4/per-channel/mse"])
    frame = sweep_model("m", tensors, methods, workers=2)
    assert list(frame.columns) == COLUMNS
    assert frame[["tensor", "spec"]].values.tolist() == [[t, s] for t in tensors for s in methods]
    assert frame["family"].tolist() == ["quant", "prune", "joint"] * 2
    for row in frame.itertuples():
        w = tensors[row.tensor]
        w_hat, stats = methods[row.spec].apply(w)
        assert row.numel == w.size and row.kurtosis == pytest.approx(kurtosis(w))
        assert row.bits_per_weight == methods[row.spec].bits_per_weight(w.shape)
        assert row.snr_db == pytest.approx(float(snr_db(np.sum(w**2), np.sum((w - w_hat) ** 2))), abs=1e-9)


def test_the_numbers_do_not_depend_on_the_workers():
    rng = np.random.default_rng(1)
    tensors = {f"t{i}.weight": rng.standard_t(4, (6 + i, 33)) for i in range(5)}
    methods = checked_methods(["int3/per-tensor/mse", "fp4-e2m1/per-channel/mse", "prune/u0.75"])
    alone = sweep_model("m", tensors, methods, workers=1)
    pd.testing.assert_frame_equal(sweep_model("m", tensors, methods, workers=3), alone, check_exact=True)


def test_bad_or_repeated_specs_name_their_config_key():
    with pytest.raises(ConfigError) as caught:
        checked_methods(["int4/per-channel/mse", "int4/per-row/mse", "int4/per-channel/mse/scale-fp16"])
    message = str(caught.value)
    assert "'formats.specs[1]'" in message and "per-row" in message
    assert "'formats.specs[2]'" in message and "again" in message


def test_model_points_weigh_tensors_by_size():
    frame = pd.DataFrame({
        "model": "m", "tensor": ["a", "b"], "numel": [100, 300], "kurtosis": 3.0, "spec": "x", "family": "quant",
        "bits_per_weight": [4.0, 2.0], "snr_db": [10.0, 20.0]})
    point = model_points(frame).iloc[0]
    assert point["bits_per_weight"] == pytest.approx((400 + 600) / 400)
    assert point["snr_db"] == pytest.approx(-10 * np.log10((100 * 0.1 + 300 * 0.01) / 400))
    exact = frame.assign(snr_db=[np.inf, np.nan])  # an exact reconstruction and a tensor of zeros: no error
    assert model_points(exact).iloc[0]["snr_db"] == np.inf


@settings(max_examples=80, deadline=None)
@given(points=st.lists(st.tuples(st.integers(1, 8), st.integers(0, 6)), min_size=1, max_size=12))
def test_front_is_the_undominated_set(points):
    bits, snr = (np.array(x, dtype=float) for x in zip(*points))
    expected = [not any(b2 <= b and s2 >= s and (b2 < b or s2 > s) for b2, s2 in points) for b, s in points]
    assert on_front(bits, snr).tolist() == expected


def test_fronts_per_family_and_over_all():
    frame = pd.DataFrame({
        "model": "m", "tensor": "t", "numel": 10, "kurtosis": 3.0,
        "spec": ["q4", "q8", "p50", "p75", "j"], "family": ["quant", "quant", "prune", "prune", "joint"],
        "bits_per_weight": [4.0, 8.0, 9.0, 5.0, 3.0], "snr_db": [18.0, 40.0, 12.0, 6.0, 9.0]})
    table = pareto_table(frame).set_index("spec")
    assert table["front_family"].to_dict() == {"q4": True, "q8": True, "p50": True, "p75": True, "j": True}
    assert table["front_all"].to_dict() == {"q4": True, "q8": True, "p50": False, "p75": False, "j": True}
