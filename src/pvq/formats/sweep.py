"""Every method on every tensor of one model: one row per (tensor, method), long form.

A row holds the tensor's size and plain kurtosis, the method's canonical spec and family
(``quant``, ``prune`` or ``joint``), its exact storage per weight (values, scales, masks or N:M
metadata: ``pvq.methods``) and its SNR, 10 log10(sum w^2 / sum (w - w_hat)^2), in float64.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

from pvq.formats.artifacts import FORMATS_SWEEP
from pvq.methods import Weights
from pvq.metrics import kurtosis

COLUMNS = list(FORMATS_SWEEP.columns)


def sweep_tensor(w, methods: dict[str, object]) -> tuple[float, list[dict]]:
    """(plain kurtosis, one row per method: spec, family, bits_per_weight, snr_db) for tensor ``w``."""
    weights = Weights(w)
    values = weights.matrix.ravel()
    kurt = float("nan") if values.size == 0 or values.min() == values.max() else kurtosis(values)
    rows = []
    for spec, method in methods.items():
        _, stats = method.apply(weights)
        rows.append({"spec": spec, "family": method.family, "bits_per_weight": stats.bits_per_weight,
                     "snr_db": stats.snr_db})
    return kurt, rows


def _swept(tensors: dict[str, np.ndarray], methods: dict[str, object], workers: int):
    """(name, ``sweep_tensor``'s result) in the tensors' order. ``workers`` > 1 processes take tensors
    largest and smallest alternately (threads share one interpreter, and the searches are many small
    numpy calls: threads kept about 0.65 of 2 cores busy); spawned, not forked, as torch is loaded."""
    if workers <= 1:
        yield from ((name, sweep_tensor(w, methods)) for name, w in tensors.items())
        return
    by_size = sorted(tensors, key=lambda name: -np.size(tensors[name]))
    order = [by_size[i // 2] if i % 2 == 0 else by_size[-1 - i // 2] for i in range(len(by_size))]
    with ProcessPoolExecutor(workers, multiprocessing.get_context("spawn")) as pool:
        swept = {name: pool.submit(sweep_tensor, np.asarray(tensors[name]), methods) for name in order}
        yield from ((name, swept.pop(name).result()) for name in tensors)


def sweep_model(model: str, tensors: dict[str, np.ndarray], methods: dict[str, object], workers: int = 1,
                progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """COLUMNS for every tensor (in the given order) and method (in the given order), on ``workers``
    processes; tensors are independent, so the numbers do not depend on how many."""
    rows, start = [], time.perf_counter()
    for i, (name, (kurt, results)) in enumerate(_swept(tensors, methods, workers), 1):
        w = tensors[name]
        rows += [{"model": model, "tensor": name, "numel": int(np.size(w)), "kurtosis": kurt, **row}
                 for row in results]
        if progress is not None:
            progress(f"{model}: {i}/{len(tensors)} tensors ({name}, {np.size(w)} weights, "
                     f"{len(methods)} methods), {time.perf_counter() - start:.1f} s")
    return pd.DataFrame(rows, columns=COLUMNS)
