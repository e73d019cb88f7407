"""The zoo stage's own quantizer and pruner against the same methods as ``pvq.methods`` values, on every
real Lite0 tensor: what a switch of the zoo sweep to ``pvq.methods`` would keep and what it would move.

Kept bit for bit: the MSE scale (``int<b>/per-tensor/mse/scale-fp64`` runs ``pvq.quantize.fit_scales``)
and the natural sparsity. Moved in the last bits: the SNRs, because the methods sum the squared error
over the residual (einsum) while the zoo takes it from sorted prefix sums; the difference is float
rounding (at most 1e-11 dB; on Lite0 at 2, 4, 8 bits 133 of 150 quantization SNRs and 288 of 300 pruning
SNRs differ in some bit), but the zoo CSV stores full precision, so the sweep keeps its own path."""

from __future__ import annotations

import pytest

from pvq.methods import Weights, parse
from pvq.metrics import snr_db
from pvq.models import registry
from pvq.zoo.sweep import sweep_tensor

BITS = [2, 4, 8]


@pytest.fixture(scope="module")
def lite0():
    return registry.weight_tensors("efficientnet_lite0")


def test_zoo_quantizer_and_pruner_agree_with_the_methods_on_every_lite0_tensor(lite0):
    for name, w in lite0.items():
        weights = Weights(w)
        for row in sweep_tensor(w, BITS):
            b = row["bits"]
            _, quant = parse(f"int{b}/per-tensor/mse/scale-fp64").apply(weights)
            assert float(quant.scales[0]) == row["quant_scale"], (name, b)  # the same scale, bit for bit
            assert quant.zeros / quant.numel == row["natural_sparsity"], (name, b)
            quant_snr = float(snr_db(quant.energy, quant.squared_error))
            assert quant_snr == pytest.approx(row["quant_snr_db"], rel=0, abs=1e-9), (name, b)
            for sparsity, column in ((row["sparsity"], "prune_snr_db"),
                                     (row["prune_sparsity_masked"], "prune_snr_db_masked")):
                _, pruned = parse(f"prune/u{sparsity!r}/values-fp64").apply(weights)
                assert pruned.kept == w.size - round(sparsity * w.size)
                prune_snr = float(snr_db(pruned.energy, pruned.squared_error))  # rel. 1e-14: summation order
                assert prune_snr == pytest.approx(row[column], rel=0, abs=1e-9), (name, b, column)
