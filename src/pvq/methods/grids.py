"""Number grids: the values a code can take, in units of its scale.

- ``Int(bits)``: the integers -2^(b-1) .. 2^(b-1) - 1 (the paper's grid; ``pvq.quantize``).
- ``Float(exp, man)``: a sign, ``exp`` exponent bits (bias 2^(exp-1) - 1) and ``man`` mantissa bits,
  subnormals included, as the OCP 8-bit and Microscaling specs define them: E4M3 keeps only
  S.1111.111 for NaN (max 448, no infinities); E5M2, FP16, BF16, FP32 and FP64 reserve their top
  exponent for infinities and NaN (IEEE 754: E5M2's max is 57344); the MX element types E3M2, E2M3
  and E2M1 have no special values, every code is a number (E2M1: 0, 0.5, 1, 1.5, 2, 3, 4, 6).
- ``E8M0``: the MX shared scale, 2^e for e = -127..127 (unsigned, no zero; 0xFF is NaN).

``quantize`` rounds to the nearest value, ties to even (as a cast does), saturating at the largest
finite value instead of overflowing: a quantizer clips.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

# (exp, man) -> what the top exponent field holds; anything not listed follows IEEE 754.
_NO_SPECIALS = {(3, 2), (2, 3), (2, 1)}  # OCP MX FP6 / FP4: all codes finite
_NAN_ONLY = {(4, 3)}  # OCP FP8 E4M3: only S.1111.111 is NaN
_NAMES = {(5, 10): "fp16", (8, 7): "bf16", (8, 23): "fp32", (11, 52): "fp64"}


@dataclass(frozen=True)
class Int:
    """Signed b-bit integers, -2^(b-1) .. 2^(b-1) - 1, with round to nearest (ties to even) and clipping."""

    bits: int

    def __post_init__(self) -> None:
        if not isinstance(self.bits, (int, np.integer)) or not 2 <= self.bits <= 16:
            raise ValueError(f"Int grid: bits must be an integer in 2..16, got {self.bits!r}")

    @property
    def low(self) -> int:
        return -(2 ** (self.bits - 1))

    @property
    def top(self) -> float:
        """The largest positive level: a max-based scale maps max|w| onto it."""
        return float(2 ** (self.bits - 1) - 1)

    @property
    def reach(self) -> float:
        """The largest magnitude any level has (the negative end): what no scale can clip beyond."""
        return float(2 ** (self.bits - 1))

    @property
    def smallest(self) -> float:
        """The smallest positive level: values below half of it (in scale units) become zero."""
        return 1.0

    def levels(self) -> np.ndarray:
        return np.arange(self.low, self.top + 1, dtype=np.float64)

    def magnitudes(self) -> tuple[np.ndarray, np.ndarray]:
        """Level magnitudes, ascending from 0, of the positive and of the negative side."""
        return np.arange(self.top + 1.0), np.arange(self.reach + 1.0)

    def crossings(self, magnitude: np.ndarray, negative: np.ndarray, side: str) -> np.ndarray:
        """How many rounding boundaries (j + 1/2) of its sign's side each ``magnitude`` has passed
        (one it sits on counts when ``side`` is "right")."""
        passed = np.floor(magnitude + 0.5) if side == "right" else np.ceil(magnitude - 0.5)
        return np.clip(passed, 0, np.where(negative, self.reach, self.top)).astype(np.int64)

    def crossing_estimate(self, abs_sum: np.ndarray, length: int, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """About how many boundaries a unit's values cross between scales ``high`` and ``low`` (> 0):
        sum |v| (1/low - 1/high) for boundaries one scale apart, plus one per value."""
        return abs_sum * (1.0 / low - 1.0 / high) + length

    def quantize(self, x, out=None) -> np.ndarray:
        """Nearest level of each x (in scale units); ``out`` may be ``x`` itself."""
        out = np.rint(x, out=out)
        return np.clip(out, self.low, self.top, out=out)


@dataclass(frozen=True)
class Float:
    """Sign, ``exp`` exponent bits and ``man`` mantissa bits (see the module docstring for specials)."""

    exp: int
    man: int

    def __post_init__(self) -> None:
        for name, value, low, high in (("exp", self.exp, 1, 11), ("man", self.man, 0, 52)):
            if not isinstance(value, (int, np.integer)) or not low <= value <= high:
                raise ValueError(f"Float grid: {name} must be an integer in {low}..{high}, got {value!r}")
        if self.exp == 1 and self.man == 0:
            raise ValueError("Float grid: E1M0 has no nonzero finite value")

    @property
    def bits(self) -> int:
        return 1 + self.exp + self.man

    @property
    def name(self) -> str:
        """``fp16``, ``bf16``, ``fp32``, ``fp64`` or ``e<exp>m<man>``."""
        return _NAMES.get((self.exp, self.man), f"e{self.exp}m{self.man}")

    @property
    def bias(self) -> int:
        return 2 ** (self.exp - 1) - 1

    @property
    def emin(self) -> int:
        """Exponent of the smallest normal value (subnormals share it)."""
        return 1 - self.bias

    @property
    def emax(self) -> int:
        """Exponent of the largest normal value (the MX spec's emax_elem)."""
        top_field = 2**self.exp - 1
        if (self.exp, self.man) not in _NO_SPECIALS | _NAN_ONLY:
            top_field -= 1  # IEEE: reserved for infinities and NaN
        return top_field - self.bias

    @cached_property
    def top(self) -> float:
        """The largest finite value."""
        mantissa = 2.0 - 2.0 ** -self.man
        if (self.exp, self.man) in _NAN_ONLY:
            mantissa -= 2.0 ** -self.man  # the all-ones mantissa is NaN
        return float(np.ldexp(mantissa, self.emax))

    @property
    def reach(self) -> float:
        return self.top

    @property
    def smallest_normal(self) -> float:
        return float(np.ldexp(1.0, self.emin))

    @property
    def smallest(self) -> float:
        """The smallest positive (subnormal) value, 2^(emin - man)."""
        return float(np.ldexp(1.0, self.emin - self.man))

    def levels(self) -> np.ndarray:
        """Every finite value, ascending (zero once); for grids of at most 16 bits."""
        if self.bits > 16:
            raise ValueError(f"Float grid {self.name}: listing all values of a {self.bits}-bit grid is not sensible")
        fraction = np.arange(2**self.man) / 2.0**self.man
        subnormal = np.ldexp(fraction, self.emin)
        normal = [np.ldexp(1.0 + fraction, e) for e in range(self.emin, self.emax + 1)]
        positive = np.concatenate([subnormal, *normal])
        positive = positive[positive <= self.top]
        return np.concatenate((-positive[:0:-1], positive))

    def positive_levels(self) -> np.ndarray:
        levels = self.levels()
        return levels[levels > 0]

    def magnitudes(self) -> tuple[np.ndarray, np.ndarray]:
        """Level magnitudes, ascending from 0, of the positive and of the negative side (the same)."""
        side = np.concatenate(([0.0], self.positive_levels()))
        return side, side

    def crossings(self, magnitude: np.ndarray, negative: np.ndarray, side: str) -> np.ndarray:
        """How many rounding boundaries (midpoints of consecutive level magnitudes) each ``magnitude``
        has passed (one it sits on counts when ``side`` is "right")."""
        levels = self.magnitudes()[0]
        return np.searchsorted(0.5 * (levels[1:] + levels[:-1]), magnitude, side=side)

    def crossing_estimate(self, abs_sum: np.ndarray, length: int, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """About how many boundaries a unit's values cross between scales ``high`` and ``low`` (> 0):
        2^man per binade the scale spans, plus one, per value."""
        return length * (2.0**self.man * np.log2(high / low) + 1.0)

    def floor(self, x) -> np.ndarray:
        """The largest value <= each x > 0 (at least the smallest positive value, at most top)."""
        return self._step(x, np.floor)

    def ceil(self, x) -> np.ndarray:
        """The smallest value >= each x > 0 (at most top)."""
        return self._step(x, np.ceil)

    def _step(self, x, direction) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        _, exponent = np.frexp(x)
        spacing = np.maximum(exponent - 1, self.emin) - self.man
        return np.clip(np.ldexp(direction(np.ldexp(x, -spacing)), spacing), self.smallest, self.top)

    def quantize(self, x, out=None) -> np.ndarray:
        """Nearest value of each x (ties to even mantissa), saturating at +-top; ``out`` may be ``x``.

        On float32 and float64 data by integer arithmetic on the bits: adding half an ulp of the
        target (less one, plus the last kept bit: ties to even) to the magnitude's bits and clearing
        the dropped bits rounds the mantissa, carrying into the exponent where it overflows; below the
        smallest normal value, where the target's spacing is fixed, (x + c) - c with c = 1.5 x 2^k
        rounds to that spacing in the hardware's own round-to-nearest-even.
        """
        x = np.asarray(x)
        if x.ndim == 0:
            return self.quantize(x.reshape(1))[0]
        if x.dtype == np.float32 and self.man <= _TABLE_MANTISSA:
            return _rounded_by_table(self, x, out)
        layout = _BIT_LAYOUTS.get(x.dtype)
        if layout is None or self.man >= layout[1] or self.emin - self.man + layout[1] > layout[2]:
            result = _rounded_by_exponent(self, x.astype(np.float64))
        else:
            unsigned, width, _ = layout
            shift = unsigned(width - self.man)
            bits = x.view(unsigned)
            rounded = (bits >> shift) & unsigned(1)
            rounded += unsigned((1 << (width - self.man - 1)) - 1)
            rounded += bits
            rounded &= ~unsigned((1 << (width - self.man)) - 1)
            result = rounded.view(x.dtype)
            magic = x.dtype.type(1.5 * 2.0 ** (self.emin - self.man + width))
            fixed = (x + magic) - magic  # multiples of the subnormal spacing 2^(emin - man)
            small = np.abs(x) < 2.0**self.emin
            np.copyto(result, fixed, where=small)
        result = np.clip(result, -self.top, self.top, out=result)
        if out is not None:
            out[...] = result
            return out
        return result


# dtype -> (unsigned integer of its width, mantissa bits, largest normal exponent)
_BIT_LAYOUTS = {np.dtype(np.float32): (np.uint32, 23, 127), np.dtype(np.float64): (np.uint64, 52, 1023)}


# float32 data on grids of at most this many mantissa bits round by table look-up: the result of
# rounding is fixed by the sign, the exponent, the mantissa bits the grid keeps, the next bit and
# whether any bit below it is set, whatever the grid's own exponent range (its subnormals keep fewer
# bits, never more), so a table of 2^(11 + man) entries holds every case.
_TABLE_MANTISSA = 7


@lru_cache(maxsize=32)
def _rounding_table(exp: int, man: int) -> np.ndarray:
    grid = Float(exp, man)
    shift = 23 - man - 1
    classes = np.arange(2 ** (32 - shift), dtype=np.uint64)
    representative = np.empty(2 * classes.size, dtype=np.uint32)
    representative[0::2] = (classes << np.uint64(shift)).astype(np.uint32)  # nothing below the next bit
    representative[1::2] = representative[0::2] | np.uint32(1)  # something below it
    values = representative.view(np.float32)
    finite = np.isfinite(values)
    table = np.zeros(values.size, dtype=np.float32)
    table[finite] = grid.quantize(values[finite].astype(np.float64))
    table[~finite] = np.copysign(grid.top, values[~finite])
    table.setflags(write=False)
    return table


def _rounded_by_table(grid: Float, x: np.ndarray, out=None) -> np.ndarray:
    shift = np.uint32(23 - grid.man - 1)
    bits = x.view(np.uint32)
    key = bits >> shift
    key <<= np.uint32(1)
    key |= (bits & np.uint32((1 << (23 - grid.man - 1)) - 1)) != 0
    return np.take(_rounding_table(grid.exp, grid.man), key, out=out)


def _rounded_by_exponent(grid: Float, x: np.ndarray) -> np.ndarray:
    """``Float.quantize`` by frexp/ldexp (any float64 data, any width of the target)."""
    magnitude = np.abs(x)
    _, exponent = np.frexp(magnitude)  # magnitude = f 2^exponent, f in [0.5, 1)
    spacing = np.maximum(exponent - 1, grid.emin) - grid.man  # representable values are 2^spacing apart
    rounded = np.ldexp(np.rint(np.ldexp(magnitude, -spacing)), spacing)
    return np.copysign(np.minimum(rounded, grid.top), x)


@dataclass(frozen=True)
class E8M0:
    """The OCP MX scale: 2^e, e = -127..127, in 8 bits (no sign, no zero; 0xFF is NaN)."""

    bits = 8
    name = "e8m0"
    emin = -127
    emax = 127

    @property
    def top(self) -> float:
        return float(np.ldexp(1.0, self.emax))

    @property
    def smallest(self) -> float:
        return float(np.ldexp(1.0, self.emin))

    smallest_normal = smallest

    def positive_levels(self) -> np.ndarray:
        return np.ldexp(1.0, np.arange(self.emin, self.emax + 1))

    def floor(self, x) -> np.ndarray:
        _, exponent = np.frexp(np.asarray(x, dtype=np.float64))
        return np.ldexp(1.0, np.clip(exponent - 1, self.emin, self.emax))

    def ceil(self, x) -> np.ndarray:
        mantissa, exponent = np.frexp(np.asarray(x, dtype=np.float64))
        return np.ldexp(1.0, np.clip(np.where(mantissa == 0.5, exponent - 1, exponent), self.emin, self.emax))

    def quantize(self, x) -> np.ndarray:
        """Nearest power of two of each x > 0 (ties, 1.5 * 2^e, up), within 2^-127 .. 2^127."""
        mantissa, exponent = np.frexp(np.asarray(x, dtype=np.float64))  # x = m 2^e, m in [0.5, 1)
        exponent = np.where(mantissa >= 0.75, exponent, exponent - 1)  # 2^e is nearer than 2^(e-1)
        return np.ldexp(1.0, np.clip(exponent, self.emin, self.emax))


E2M1 = Float(2, 1)
E2M3 = Float(2, 3)
E3M2 = Float(3, 2)
E4M3 = Float(4, 3)
E5M2 = Float(5, 2)
FP16 = Float(5, 10)
BF16 = Float(8, 7)
FP32 = Float(8, 23)
FP64 = Float(11, 52)
