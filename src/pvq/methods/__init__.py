"""Compression methods as values: quantizers, pruners and both, each with its exact storage.

Every method is a small frozen dataclass, checked when built, with
- ``bits_per_weight(shape)``: exact storage of any tensor of that shape, per weight;
- ``apply(w) -> (w_hat, Stats)``: the compressed tensor and its error and storage;
- ``spec``: a canonical string (``int4/per-channel/mse``, ``mxfp4``, ``prune/2:4``,
  ``prune/2:4+int4/per-channel/mse``) that ``parse`` turns back into the same value;
- ``family``: ``quant``, ``prune`` or ``joint``.
Code that uses methods calls these and never looks at which method it holds.
"""

from pvq.methods.granularity import PerChannel, PerGroup, PerTensor
from pvq.methods.grids import BF16, E2M1, E2M3, E3M2, E4M3, E5M2, E8M0, FP16, FP32, FP64, Float, Int
from pvq.methods.joint import PruneThenQuantize
from pvq.methods.pruner import NM, Magnitude, Pruner, Unstructured
from pvq.methods.quantizer import Quantizer
from pvq.methods.scales import MSE, Max, SharedExponent
from pvq.methods.spec import SpecError, format_spec, parse
from pvq.methods.stats import Stats
from pvq.methods.storage import Bitmap, EntropyBound, NMIndex, RelativeIndex
from pvq.methods.weights import Weights

__all__ = ["BF16", "E2M1", "E2M3", "E3M2", "E4M3", "E5M2", "E8M0", "FP16", "FP32", "FP64", "MSE", "NM", "Bitmap",
           "EntropyBound", "Float", "Int", "Magnitude", "Max", "NMIndex", "PerChannel", "PerGroup", "PerTensor",
           "PruneThenQuantize", "Pruner", "Quantizer", "RelativeIndex", "SharedExponent", "SpecError", "Stats",
           "Unstructured", "Weights", "format_spec", "parse"]
