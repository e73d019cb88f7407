"""Spec strings: every method has one, parse(format_spec(m)) == m, bad strings name their problem."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pvq.methods import (BF16, E2M1, E4M3, E8M0, FP16, FP32, FP64, MSE, NM, Bitmap, EntropyBound, Float, Int, Max,
                         NMIndex, PerChannel, PerGroup, PerTensor, PruneThenQuantize, Pruner, Quantizer, RelativeIndex,
                         SharedExponent, SpecError, Unstructured, format_spec, parse)

grids = st.one_of(st.builds(Int, st.integers(2, 16)),
                  st.sampled_from([Float(2, 1), Float(2, 3), Float(3, 2), Float(4, 3), Float(5, 2), Float(5, 10),
                                   Float(3, 4)]))
granularities = st.one_of(st.just(PerTensor()), st.just(PerChannel()), st.builds(PerGroup, st.integers(1, 512)))
formats = st.sampled_from([FP16, FP32, FP64, BF16, E4M3, E8M0(), Float(6, 3)])


@st.composite
def quantizers(draw):
    grid = draw(grids)
    if isinstance(grid, Float) and draw(st.booleans()):
        return Quantizer(grid, draw(granularities), SharedExponent(), E8M0())
    tensor_scale = draw(st.sampled_from([None, FP32, FP16]))
    return Quantizer(grid, draw(granularities), draw(st.sampled_from([MSE(), Max()])), draw(formats), tensor_scale)


@st.composite
def pruners(draw, plain: bool = False):
    if draw(st.booleans()):
        m = draw(st.integers(2, 64))
        pattern = NM(draw(st.integers(1, m - 1)), m)
        positions = draw(st.sampled_from([NMIndex(), EntropyBound(), Bitmap(), RelativeIndex(4)]))
    else:
        pattern = Unstructured(draw(st.floats(0.0, 0.999999, allow_nan=False)))
        positions = draw(st.one_of(st.sampled_from([Bitmap(), EntropyBound()]), st.builds(RelativeIndex, st.integers(1, 32))))
    values = FP16 if plain else draw(st.sampled_from([FP16, FP32, BF16]))
    return Pruner(pattern, positions=positions, values=values)


methods = st.one_of(quantizers(), pruners(), st.builds(PruneThenQuantize, pruners(plain=True), quantizers()))


@settings(max_examples=300, deadline=None)
@given(method=methods)
def test_parse_inverts_format(method):
    text = format_spec(method)
    assert parse(text) == method
    assert method.spec == text
    assert format_spec(parse(text)) == text


@pytest.mark.parametrize("text, method", [
    ("int4/per-tensor/mse", Quantizer(Int(4), PerTensor(), MSE(), FP16)),
    ("int4/per-channel/mse", Quantizer(Int(4), PerChannel(), MSE(), FP16)),
    ("int4/group128/mse", Quantizer(Int(4), PerGroup(128), MSE(), FP16)),
    ("fp8-e4m3/per-tensor/mse", Quantizer(E4M3, PerTensor(), MSE(), FP16)),
    ("mxfp4", Quantizer(E2M1, PerGroup(32), SharedExponent(), E8M0())),
    ("mxfp4/mse", Quantizer(E2M1, PerGroup(32), MSE(), E8M0())),
    ("nvfp4", Quantizer(E2M1, PerGroup(16), Max(), E4M3, FP32)),
    ("prune/2:4", Pruner(NM(2, 4), positions=NMIndex(), values=FP16)),
    ("prune/u0.75", Pruner(Unstructured(0.75), positions=Bitmap())),
    ("prune/2:4+int4/per-channel/mse", PruneThenQuantize(Pruner(NM(2, 4)), Quantizer(Int(4), PerChannel()))),
])
def test_examples_of_the_grammar(text, method):
    assert parse(text) == method and format_spec(method) == text


def test_spaces_and_the_long_form_of_presets():
    assert parse(" prune/2:4 + int4/per-channel/mse ") == parse("prune/2:4+int4/per-channel/mse")
    assert format_spec(parse("fp4-e2m1/group32/shared-exp/scale-e8m0")) == "mxfp4"
    assert format_spec(parse("fp4-e2m1/group16/max/scale-e4m3/tensor-scale-fp32")) == "nvfp4"
    assert format_spec(parse("int4/per-channel/mse/scale-fp16")) == "int4/per-channel/mse"
    assert parse("int4/per-channel/mse").family == "quant"
    assert parse("prune/u0.5").family == "prune" and parse("prune/2:4+mxfp4").family == "joint"


@pytest.mark.parametrize("text, words", [
    ("", "empty"), ("int1/per-tensor/mse", "2..16"), ("int4/per-row/mse", "per-row"),
    ("int4/per-tensor/best", "unknown rule 'best'"), ("fp8-e5m3/per-tensor/mse", "9 bits, not 8"),
    ("fp8/per-tensor/mse", "unknown grid 'fp8'"), ("int4/group0/mse", "size"), ("int4/per-channel", "grid/granularity/rule"),
    ("mxfp4/mse/extra", "only a rule"), ("int4/per-tensor/mse/scale-fp99", "scale format 'fp99'"),
    ("int4/per-tensor/mse/scale-fp16/scale-fp32", "at most once"), ("prune/3:2", "n < m"),
    ("prune/u1.5", "[0, 1)"), ("prune/half", "pattern 'half'"), ("prune/u0.5/nm-index", "N:M patterns only"),
    ("int4/per-tensor/mse+prune/2:4", "pruner, then '+'"), ("fp4-e2m1/group32/shared-exp", "E8M0"),
    ("prune/2:4/values-fp32+int4/per-channel/mse", "value format"),
])
def test_bad_specs_name_the_problem(text, words):
    with pytest.raises(SpecError) as caught:
        parse(text)
    assert words in str(caught.value)


def readme_python_blocks() -> list[str]:
    from conftest import REPO

    text = (REPO / "README.md").read_text()
    section = text.split("## Compression methods as values")[1].split("\n## ")[0]
    return [block.split("```", 1)[0] for block in section.split("```python\n")[1:]]


def test_readme_examples_run_and_a_new_rule_is_one_dataclass():
    import numpy as np

    from pvq.methods import scales

    usage, new_rule = readme_python_blocks()
    exec(usage, {})
    namespace = {"dataclass": __import__("dataclasses").dataclass, "np": np, "ScaleRule": scales.ScaleRule}
    try:
        exec(new_rule, namespace)
        method = parse("int4/per-channel/3sigma")  # the config line's spec
        assert format_spec(method) == "int4/per-channel/3sigma" and method.family == "quant"
        w = np.random.default_rng(0).standard_t(3, (16, 64))
        _, stats = method.apply(w)
        sigma = np.sqrt(np.mean(w**2, axis=1))
        expected = FP16.quantize(np.minimum(np.abs(w).max(axis=1), 3 * sigma) / 7)
        np.testing.assert_array_equal(stats.scales, expected)
        assert stats.bits_per_weight == parse("int4/per-channel/mse").bits_per_weight(w.shape)
    finally:
        scales.ScaleRule.registry.pop("3sigma", None)
