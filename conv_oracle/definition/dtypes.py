"""The one table of floating-point facts the suite relies on.

For each format: mantissa bits ``p`` (including the implicit bit), so the unit roundoff is
``u = 2^-p`` and every integer of magnitude at most ``2^p`` is exact; and ``eta``, half the
smallest subnormal (the absolute error one underflowing product may add). ``tf32`` is not a
storage dtype: it is the operand format of float32 convolutions on NVIDIA tensor cores (10
stored mantissa bits, float32's exponent range).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DtypeFacts:
    name: str
    mantissa_bits: int   #: p, including the implicit leading bit
    min_exponent: int    #: exponent of the smallest normal number, 2**min_exponent
    storage: bool = True  #: False for formats that exist only inside a kernel (tf32)

    @property
    def unit_roundoff(self) -> float:
        return 2.0 ** -self.mantissa_bits

    @property
    def underflow(self) -> float:
        """Half the smallest subnormal: 2**(min_exponent - p); for float64, whose half subnormal rounds to
        0 in float64 itself, the smallest subnormal (a safe over-estimate, never a zero term)."""
        half = 2.0 ** (self.min_exponent - self.mantissa_bits)
        return half if half > 0 else 2.0 ** (self.min_exponent - self.mantissa_bits + 1)

    @property
    def exact_integer_limit(self) -> int:
        """Every integer of magnitude <= this is representable (and every partial sum below it exact)."""
        return 2 ** self.mantissa_bits


FACTS = {f.name: f for f in (
    DtypeFacts("float64", 53, -1022),
    DtypeFacts("float32", 24, -126),
    DtypeFacts("float16", 11, -14),
    DtypeFacts("bfloat16", 8, -126),
    DtypeFacts("tf32", 11, -126, storage=False),
)}

#: the storage dtypes the suite checks, widest first is not implied; this is the order tests use
FLOAT_DTYPES = ("float32", "float64", "float16", "bfloat16")


def facts(name: str) -> DtypeFacts:
    """The facts of ``name``; raises KeyError naming the known formats."""
    try:
        return FACTS[name]
    except KeyError:
        raise KeyError(f"unknown floating-point format {name!r}; known: {sorted(FACTS)}") from None


def unit_roundoff(name: str) -> float:
    return facts(name).unit_roundoff


def mantissa_bits(name: str) -> int:
    return facts(name).mantissa_bits
