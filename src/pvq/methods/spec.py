"""Canonical spec strings: one per method, parsed back into the same value.

Grammar (tokens separated by "/"; a joint method is a pruner and a quantizer joined by "+"):

    spec        := quantizer | pruner | pruner "+" quantizer
    quantizer   := preset ["/" rule] | grid "/" granularity "/" rule ["/scale-" format] ["/tensor-scale-" format]
    preset      := mxfp4 | mxfp6-e3m2 | mxfp6-e2m3 | mxfp8-e4m3 | mxfp8-e5m2 | nvfp4
    grid        := "int" BITS | "fp" BITS "-e" EXP "m" MAN        (BITS = 1 + EXP + MAN: fp8-e4m3)
    granularity := per-tensor | per-channel | "group" SIZE
    rule        := mse | max | shared-exp | the token of any other ScaleRule
    format      := fp16 | bf16 | fp32 | fp64 | e8m0 | "e" EXP "m" MAN
    pruner      := "prune/" pattern ["/" positions] ["/values-" format]
    pattern     := N ":" M | "u" SPARSITY                          (2:4, u0.75: unstructured)
    positions   := bitmap | nm-index | "index" BITS | entropy

Defaults are left out of the canonical string: scale format fp16, no tensor scale, positions bitmap
(unstructured) or nm-index (N:M), values fp16, criterion magnitude. Presets: ``mxfp<b>-<element>``
is the OCP MX format (the element grid, groups of 32, shared-exp rule, E8M0 scales; ``mxfp4`` for
E2M1), ``nvfp4`` is E2M1 in groups of 16 with E4M3 scales by the max rule and an FP32 tensor scale;
a rule after a preset replaces its rule (``mxfp4/mse``: the MSE-optimal power of two). Examples:
``int4/per-channel/mse``, ``int4/group128/mse``, ``fp8-e4m3/per-tensor/mse``, ``mxfp4``, ``nvfp4``,
``prune/2:4``, ``prune/u0.75``, ``prune/u0.75/entropy``, ``prune/2:4+int4/per-channel/mse``.
"""

from __future__ import annotations

import re

from pvq.methods.granularity import PerChannel, PerGroup, PerTensor
from pvq.methods.grids import BF16, E2M1, E2M3, E3M2, E4M3, E5M2, E8M0, FP16, FP32, FP64, Float, Int
from pvq.methods.joint import PruneThenQuantize
from pvq.methods.pruner import NM, Magnitude, Pruner, Unstructured
from pvq.methods.quantizer import Quantizer
from pvq.methods.scales import Max, ScaleRule, SharedExponent
from pvq.methods.storage import Bitmap, EntropyBound, NMIndex, RelativeIndex

FORMATS = {"fp16": FP16, "bf16": BF16, "fp32": FP32, "fp64": FP64, "e8m0": E8M0()}
PRESETS = {
    "mxfp4": Quantizer(E2M1, PerGroup(32), SharedExponent(), E8M0()),
    "mxfp6-e3m2": Quantizer(E3M2, PerGroup(32), SharedExponent(), E8M0()),
    "mxfp6-e2m3": Quantizer(E2M3, PerGroup(32), SharedExponent(), E8M0()),
    "mxfp8-e4m3": Quantizer(E4M3, PerGroup(32), SharedExponent(), E8M0()),
    "mxfp8-e5m2": Quantizer(E5M2, PerGroup(32), SharedExponent(), E8M0()),
    "nvfp4": Quantizer(E2M1, PerGroup(16), Max(), E4M3, FP32),
}
POSITIONS = {"bitmap": Bitmap(), "nm-index": NMIndex(), "entropy": EntropyBound()}


class SpecError(ValueError):
    """A spec string that does not follow the grammar; the message names the part and what fits."""


def parse(text: str):
    """The method a spec string names (see the module docstring)."""
    if not isinstance(text, str):
        raise SpecError(f"a method spec must be a string, got {text!r}")
    spec = "".join(text.split())
    if not spec:
        raise SpecError("empty method spec")
    if "+" in spec:
        head, _, tail = spec.partition("+")
        if not head.startswith("prune/"):
            raise SpecError(f"{text!r}: a joint spec is a pruner, then '+', then a quantizer (prune/2:4+int4/per-channel/mse)")
        return _build(PruneThenQuantize, text, _pruner(head, text), _quantizer(tail, text))
    if spec.startswith("prune/") or spec == "prune":
        return _pruner(spec, text)
    return _quantizer(spec, text)


def format_spec(method) -> str:
    """The canonical spec string of ``method``: ``parse(format_spec(m)) == m``."""
    if isinstance(method, PruneThenQuantize):
        return f"{format_spec(method.pruner)}+{format_spec(method.quantizer)}"
    if isinstance(method, Pruner):
        return _format_pruner(method)
    if isinstance(method, Quantizer):
        return _format_quantizer(method)
    raise TypeError(f"not a compression method: {method!r}")


def _build(kind, text, *args):
    try:
        return kind(*args)
    except ValueError as error:
        raise SpecError(f"{text!r}: {error}") from None


def _format_name(scale_format) -> str:
    return scale_format.name


def _format_quantizer(q: Quantizer) -> str:
    for name, preset in PRESETS.items():
        if (q.grid, q.granularity, q.scale_format, q.tensor_scale) == (
                preset.grid, preset.granularity, preset.scale_format, preset.tensor_scale):
            return name if q.rule == preset.rule else f"{name}/{_rule_name(q.rule)}"
    grid = format_grid(q.grid)
    granularity = {PerTensor: "per-tensor", PerChannel: "per-channel"}.get(type(q.granularity)) \
        or f"group{q.granularity.size}"
    parts = [grid, granularity, _rule_name(q.rule)]
    if q.scale_format != FP16:
        parts.append(f"scale-{_format_name(q.scale_format)}")
    if q.tensor_scale is not None:
        parts.append(f"tensor-scale-{_format_name(q.tensor_scale)}")
    return "/".join(parts)


def _rule_name(rule) -> str:
    return rule.token


def _rules() -> dict:
    """Every registered scale rule by its token (``pvq.methods.scales.ScaleRule``)."""
    return {token: rule() for token, rule in ScaleRule.registry.items()}


def _quantizer(spec: str, text: str) -> Quantizer:
    parts = spec.split("/")
    if parts[0] in PRESETS:
        preset = PRESETS[parts[0]]
        if len(parts) == 1:
            return preset
        if len(parts) == 2:
            rule = _token(_rules(), parts[1], "rule", text)
            return _build(Quantizer, text, preset.grid, preset.granularity, rule, preset.scale_format,
                          preset.tensor_scale)
        raise SpecError(f"{text!r}: after a preset ({parts[0]}) only a rule may follow ({', '.join(_rules())})")
    if len(parts) < 3:
        raise SpecError(f"{text!r}: a quantizer spec is grid/granularity/rule (int4/per-channel/mse) or a preset "
                        f"({', '.join(PRESETS)})")
    grid, granularity, rule = _grid(parts[0], text), _granularity(parts[1], text), _token(_rules(), parts[2], "rule", text)
    scale_format, tensor_scale = None, None
    for part in parts[3:]:
        if part.startswith("scale-") and scale_format is None and tensor_scale is None:
            scale_format = _scale_format(part[len("scale-"):], text)
        elif part.startswith("tensor-scale-") and tensor_scale is None:
            tensor_scale = _scale_format(part[len("tensor-scale-"):], text)
        else:
            raise SpecError(f"{text!r}: unexpected {part!r}; after the rule come scale-<format> and then "
                            f"tensor-scale-<format>, each at most once")
    return _build(Quantizer, text, grid, granularity, rule, scale_format or FP16, tensor_scale)


def parse_grid(token: str):
    """The grid a grid token names (``int4``, ``fp8-e4m3``)."""
    return _grid(token, token)


def format_grid(grid) -> str:
    return f"int{grid.bits}" if isinstance(grid, Int) else f"fp{grid.bits}-e{grid.exp}m{grid.man}"


def _grid(token: str, text: str):
    if match := re.fullmatch(r"int(\d+)", token):
        return _build(Int, text, int(match[1]))
    if match := re.fullmatch(r"fp(\d+)-e(\d+)m(\d+)", token):
        bits, exp, man = (int(g) for g in match.groups())
        if bits != 1 + exp + man:
            raise SpecError(f"{text!r}: {token} has 1 + {exp} + {man} = {1 + exp + man} bits, not {bits}")
        return _build(Float, text, exp, man)
    raise SpecError(f"{text!r}: unknown grid {token!r}; expected int<bits> (int4) or fp<bits>-e<exp>m<man> "
                    "(fp8-e4m3, fp8-e5m2, fp6-e3m2, fp6-e2m3, fp4-e2m1)")


def _granularity(token: str, text: str):
    if token == "per-tensor":
        return PerTensor()
    if token == "per-channel":
        return PerChannel()
    if match := re.fullmatch(r"group(\d+)", token):
        return _build(PerGroup, text, int(match[1]))
    raise SpecError(f"{text!r}: unknown granularity {token!r}; expected per-tensor, per-channel or group<size>")


def _scale_format(token: str, text: str):
    if token in FORMATS:
        return FORMATS[token]
    if match := re.fullmatch(r"e(\d+)m(\d+)", token):
        return _build(Float, text, int(match[1]), int(match[2]))
    raise SpecError(f"{text!r}: unknown scale format {token!r}; expected {', '.join(FORMATS)} or e<exp>m<man>")


def _token(table: dict, token: str, what: str, text: str):
    if token not in table:
        raise SpecError(f"{text!r}: unknown {what} {token!r}; expected one of {', '.join(table)}")
    return table[token]


def _format_pruner(p: Pruner) -> str:
    pattern = p.pattern
    parts = ["prune", f"{pattern.n}:{pattern.m}" if isinstance(pattern, NM) else f"u{pattern.sparsity!r}"]
    default = NMIndex() if isinstance(pattern, NM) else Bitmap()
    if p.positions != default:
        positions = p.positions
        parts.append(f"index{positions.index_bits}" if isinstance(positions, RelativeIndex)
                     else next(name for name, value in POSITIONS.items() if value == positions))
    if p.values != FP16:
        parts.append(f"values-{_format_name(p.values)}")
    return "/".join(parts)


def _pruner(spec: str, text: str) -> Pruner:
    parts = spec.split("/")[1:]
    if not parts or not parts[0]:
        raise SpecError(f"{text!r}: a pruner spec is prune/<n>:<m> (prune/2:4) or prune/u<sparsity> (prune/u0.75)")
    if match := re.fullmatch(r"(\d+):(\d+)", parts[0]):
        pattern = _build(NM, text, int(match[1]), int(match[2]))
    elif match := re.fullmatch(r"u(\d*\.?\d+(?:e-?\d+)?)", parts[0]):
        pattern = _build(Unstructured, text, float(match[1]))
    else:
        raise SpecError(f"{text!r}: unknown pruning pattern {parts[0]!r}; expected <n>:<m> (2:4) or u<sparsity> (u0.75)")
    positions, values = None, None
    for part in parts[1:]:
        if positions is None and values is None and (part in POSITIONS or re.fullmatch(r"index\d+", part)):
            positions = POSITIONS[part] if part in POSITIONS else _build(RelativeIndex, text, int(part[5:]))
        elif part.startswith("values-") and values is None:
            values = _scale_format(part[len("values-"):], text)
        else:
            raise SpecError(f"{text!r}: unexpected {part!r}; after the pattern come the positions "
                            f"({', '.join(POSITIONS)}, index<bits>) and then values-<format>, each at most once")
    return _build(Pruner, text, pattern, Magnitude(), positions, values or FP16)
