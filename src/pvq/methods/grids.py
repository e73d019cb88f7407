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
from functools import cached_property

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
        """Nearest value of each x (ties to even mantissa), saturating at +-top; ``out`` may be ``x``."""
        x = np.asarray(x)
        if x.ndim == 0:
            return self.quantize(x.reshape(1))[0]
        negative = np.signbit(x)
        magnitude = np.abs(x, out=out)
        _, exponent = np.frexp(magnitude)  # magnitude = f 2^exponent, f in [0.5, 1)
        # The value's binade is 2^(exponent - 1); below emin the spacing is the subnormals'.
        np.maximum(exponent, self.emin + 1, out=exponent)
        exponent -= 1 + self.man  # the spacing of representable values there is 2^exponent
        np.negative(exponent, out=exponent)
        np.ldexp(magnitude, exponent, out=magnitude)
        np.rint(magnitude, out=magnitude)
        np.negative(exponent, out=exponent)
        np.ldexp(magnitude, exponent, out=magnitude)
        np.minimum(magnitude, self.top, out=magnitude)
        return np.negative(magnitude, out=magnitude, where=negative)


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
