"""The zoo sweep's rows against a direct call of the same methods as ``pvq.methods`` values, on every
real Lite0 tensor: the same scale, zeros and squared errors bit for bit, because both evaluate
per-tensor INT with an MSE scale and magnitude pruning the one way pvq has (``pvq.quantize.fit_scales``
and ``squared_errors``, ``SortedWeights.zero_count`` and ``pruning_error``). Only the energy sum w^2
is summed in another order (the methods' over the reduction layout, the zoo's over the sorted values):
the SNRs then differ by about 1e-13 dB.

The sweep keeps its own loop over bit widths rather than calling the method values: those build every
w_hat, about 9x slower on Lite0 (benchmarks/bench_zoo_methods.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from pvq.methods import Weights, parse
from pvq.metrics import snr_db
from pvq.models import registry
from pvq.zoo.sweep import sweep_tensor

BITS = [2, 4, 8]
BASELINE_BITS, CANDIDATES = 16, 100  # the methods' scale search runs fit_scales' default grid


@pytest.fixture(scope="module")
def lite0():
    return registry.weight_tensors("efficientnet_lite0")


def test_zoo_rows_equal_the_method_values_on_every_lite0_tensor(lite0):
    for name, w in lite0.items():
        weights = Weights(w)
        energy = weights.sorted.energy  # the zoo's sum w^2
        for row in sweep_tensor(w, BITS, BASELINE_BITS, CANDIDATES):
            b = row["bits"]
            _, quant = parse(f"int{b}/per-tensor/mse/scale-fp64").apply(weights)
            assert float(quant.scales[0]) == row["quant_scale"], (name, b)
            assert quant.zeros / quant.numel == row["natural_sparsity"], (name, b)
            assert snr_db(energy, quant.squared_error) == row["quant_snr_db"], (name, b)  # the same error
            assert quant.snr_db == pytest.approx(row["quant_snr_db"], rel=0, abs=1e-12), (name, b)
            for sparsity, column in ((row["sparsity"], "prune_snr_db"),
                                     (row["prune_sparsity_masked"], "prune_snr_db_masked")):
                _, pruned = parse(f"prune/u{sparsity!r}/values-fp64").apply(weights)
                assert pruned.kept == w.size - round(sparsity * w.size)
                assert snr_db(energy, pruned.squared_error) == row[column], (name, b, column)
                assert pruned.snr_db == pytest.approx(row[column], rel=0, abs=1e-12), (name, b, column)


def test_the_methods_errors_are_the_errors_of_their_own_output():
    """The shared evaluation is the error of the tensor each method returns (an independent residual
    sum), on a heavy-tailed tensor above and below the direct-sum size, with ties and exact zeros."""
    rng = np.random.default_rng(7)
    for n in (300, 9000):
        w = rng.standard_t(3, size=n).astype(np.float32)
        w[: n // 10] = 0.0
        w[n // 10: n // 5] = w[n // 5]  # a run of ties in magnitude
        w[n // 5: n // 5 + 7] = -w[n // 5]
        for spec in ("int2/per-tensor/mse", "int4/per-tensor/mse/scale-fp64", "int8/per-tensor/max",
                     "prune/u0.5", "prune/u0.875/values-fp64", "prune/u0.1"):
            w_hat, stats = parse(spec).apply(w)
            residual = w.astype(np.float64) - w_hat
            assert stats.squared_error == pytest.approx(float(np.sum(residual * residual)), rel=1e-9), (n, spec)
            assert stats.zeros == int(np.count_nonzero(w_hat == 0)), (n, spec)
