"""The example that showed a known deviation, kept with its entry and replayed in every run.

A random draw reaches a narrow fault in some runs and not in others, and an entry whose scope ran but
never matched is reported NOT REPRODUCED: without its example that would say "torch fixed it" when it
only says "the draw missed it". An entry's optional ``[deviation.example]`` table names one call
(``[[deviation.example]]``, several: a fault may show on different calls at different ISA levels):

=============  =======================================================================================
``property``   the check that replays it: ``forward_exact``, ``forward_nonfinite_input`` / ``_weight``
               / ``_bias``, ``gradient_input`` / ``_weight`` / ``_bias``, ``gradient_nonfinite_input`` /
               ``_weight`` / ``_bias`` (an output gradient ``gy`` holding +-Inf / NaN),
               ``skipped_pixels_nonfinite``, ``bias_only_nonfinite`` or ``error_parity`` (required)
``case``       the configuration, as :meth:`conv_oracle.definition.case.Case.from_dict` reads it, without
               ``batch`` for an unbatched call (required; a valid one, except for ``error_parity``)
``dtype``      storage dtype (default float32);  ``x_layout`` / ``w_layout``: memory layouts (contiguous)
``x``, ``w``,  operand values as nested arrays (TOML has ``inf``, ``-inf`` and ``nan``); the ones left
``b``, ``gy``  out come from ``seed`` (small integers, :func:`~conv_oracle.checks.operands.make_operands`;
               ``gy``: the output gradient of a gradient property, required by ``gradient_nonfinite_*``)
``seed``       default 0: the other operands, the output gradient, the property's own poisons
``rule``       for ``error_parity``: the invalid-configuration rule the call breaks
=============  =======================================================================================

The suite replays each example against every target (``suite/test_known_examples.py``): inside the
entry's scope it shows the deviation (or the entry is NOT REPRODUCED, now meaning what it says);
outside it the definition must hold like anywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..checks.failure_kinds import FailureKind, of_details
from ..definition.case import Case
from ..definition.dtypes import FLOAT_DTYPES

PROPERTIES = ("forward_exact", "forward_nonfinite_input", "forward_nonfinite_weight", "forward_nonfinite_bias",
              "gradient_input", "gradient_weight", "gradient_bias", "gradient_nonfinite_input",
              "gradient_nonfinite_weight", "gradient_nonfinite_bias", "skipped_pixels_nonfinite", "bias_only_nonfinite",
              "error_parity")
FIELDS = {"property", "case", "dtype", "x_layout", "w_layout", "x", "w", "b", "gy", "seed", "rule"}
#: the magnitude of seeded exact operands (as the suite's exact mode draws them)
MAGNITUDE = 3


class ExampleError(ValueError):
    """A malformed example table; the message names the entry, the field and the rule broken."""


@dataclass(frozen=True)
class KnownExample:
    """One call that shows a deviation: a property, a configuration, a dtype, layouts and operands."""

    entry: str
    property: str
    case: Case
    dtype: str = "float32"
    x_layout: str = "contiguous"
    w_layout: str = "contiguous"
    seed: int = 0
    x: tuple | None = None
    w: tuple | None = None
    b: tuple | None = None
    rule: str | None = None
    gy: tuple | None = None
    #: how many times a replay may make the call until it shows uninitialised memory (:func:`replay`)
    tries: int = 1

    @property
    def wrt(self) -> str | None:
        """The operand a gradient property differentiates (None for the others)."""
        return self.property.rsplit("_", 1)[1] if self.property.startswith("gradient_") else None

    def operands(self):
        """:class:`~conv_oracle.checks.operands.Operands` in exact mode: the given values, the rest seeded."""
        from ..checks.operands import Operands, make_operands
        seeded = make_operands(self.case, "exact", self.seed, MAGNITUDE)
        x = seeded.x if self.x is None else np.array(self.x, dtype=np.float64)
        w = seeded.w if self.w is None else np.array(self.w, dtype=np.float64)
        b = seeded.b if self.b is None else np.array(self.b, dtype=np.float64)
        gy = None if self.gy is None else np.array(self.gy, dtype=np.float64)
        return Operands(x, w, b, "exact", MAGNITUDE, self.seed, gy=gy)


#: tries of an example whose entry excuses uninitialised memory: such a read can give the same bits in both
#: calls of a check (seen in 1 of 100 replays of
#: onednn-bf16-channels-last-conv-weight-grad-uninitialised-padding-taps-nonfinite-gradient, torch 2.13.0 on an
#: AVX512_BF16 EPYC), which one try would report as NOT REPRODUCED, or as a wrong value the entry does not excuse
UNINITIALISED_TRIES = 3


def replay(call, tries: int = 1):
    """``call()``, made again (up to ``tries`` times in all) while it does not fail with uninitialised memory.

    Returns ``(value, n)``: the first try's value, and the tries made. Raises the first failure of kind
    ``uninitialised`` (its ``details["tries"]`` set); when no try shows one, the first try's outcome stands,
    pass or fail: a later try never hides what the first one found, it can only show that the call reads
    memory it never wrote (and then any value it gave is that memory's)."""
    first = None
    for n in range(1, tries + 1):
        try:
            outcome = (call(), None)
        except AssertionError as exc:
            details = getattr(exc, "details", None)
            if isinstance(details, dict) and of_details(details) is FailureKind.UNINITIALISED:
                details["tries"] = n
                raise
            outcome = (None, exc)
        first = first or outcome
    value, error = first
    if error is not None:
        raise error
    return value, tries


def _nested(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) or (
        isinstance(value, list) and all(_nested(v) for v in value))


def parse(raw, entry: str, where: str, index: int | None = None, tries: int = 1) -> KnownExample:
    """The ``example`` table of entry ``entry`` (``where`` names the file and entry in errors; ``index``
    the table's place when the entry keeps several, which also names the example ``entry#index``;
    ``tries``: :attr:`KnownExample.tries`)."""
    from ..targets.execution import LAYOUTS
    where = f"{where}: example" + ("" if index is None else f" #{index + 1}")
    if index is not None:
        entry = f"{entry}#{index + 1}"
    if not isinstance(raw, dict):
        raise ExampleError(f"{where} must be a table")
    unknown = set(raw) - FIELDS
    if unknown:
        raise ExampleError(f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(FIELDS)}")
    prop = raw.get("property")
    if prop not in PROPERTIES:
        raise ExampleError(f"{where}: property={prop!r} must be one of {', '.join(PROPERTIES)}")
    if not isinstance(raw.get("case"), dict):
        raise ExampleError(f"{where}: 'case' is required (a table of Case fields: op, nd, batch, ...)")
    try:
        case = Case.from_dict({"batch": None, **raw["case"]})  # no batch: unbatched
    except TypeError as exc:
        raise ExampleError(f"{where}: case={raw['case']!r} is not a configuration ({exc})") from None
    if prop != "error_parity":
        from ..definition.errors import ConvConfigError
        try:
            case.config()
        except ConvConfigError as exc:
            raise ExampleError(f"{where}: the case is not a valid call ({exc}); only error_parity replays "
                               f"invalid ones") from None
    dtype = raw.get("dtype", "float32")
    if dtype not in FLOAT_DTYPES:
        raise ExampleError(f"{where}: dtype={dtype!r} must be one of {', '.join(FLOAT_DTYPES)}")
    for key in ("x_layout", "w_layout"):
        if raw.get(key, "contiguous") not in LAYOUTS:
            raise ExampleError(f"{where}: {key}={raw[key]!r} must be one of {', '.join(LAYOUTS)}")
    seed = raw.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ExampleError(f"{where}: seed={seed!r} must be a non-negative integer")
    shapes = {"x": case.input_shape, "w": case.weight_shape, "b": case.bias_shape if case.bias else None}
    if prop.startswith("gradient_nonfinite_") != ("gy" in raw):
        raise ExampleError(f"{where}: 'gy' (the output gradient) goes with the gradient_nonfinite_* properties, "
                           f"and only with them")
    if "gy" in raw:
        shapes["gy"] = case.output_shape
    values = {}
    for key, shape in shapes.items():
        if key not in raw:
            continue
        if not _nested(raw[key]) or np.array(raw[key], dtype=np.float64).shape != tuple(shape or ()):
            raise ExampleError(f"{where}: {key} must be nested numbers of shape {list(shape or ())} "
                               f"(the case's {dict(x='input', w='weight', b='bias', gy='output')[key]})")
        values[key] = raw[key]
    rule = raw.get("rule")
    if (prop == "error_parity") != (rule is not None):
        raise ExampleError(f"{where}: 'rule' goes with property 'error_parity', and only with it")
    if rule is not None:
        from ..definition.invalid_calls import INVALID_RULES
        if rule not in INVALID_RULES:
            raise ExampleError(f"{where}: rule={rule!r} must be one of {', '.join(INVALID_RULES)}")
    return KnownExample(entry, prop, case, dtype, raw.get("x_layout", "contiguous"), raw.get("w_layout", "contiguous"),
                        seed, _frozen(values.get("x")), _frozen(values.get("w")), _frozen(values.get("b")), rule,
                        _frozen(values.get("gy")), tries)


def _frozen(value):
    return None if value is None else tuple(_frozen(v) if isinstance(v, list) else v for v in value)
