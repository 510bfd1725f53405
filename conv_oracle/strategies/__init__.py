"""Layer 6, the strategies (Hypothesis): may import layers 0-5.

Hypothesis strategies for convolution property tests (public; import them into your own suite).

* :func:`cases` draws valid :class:`~conv_oracle.definition.case.Case` objects by construction (no filtering),
  weighted so that more than half have a stride larger than the effective kernel in some dimension,
  while equal and smaller strides, dilation holes and tail remainders stay common.
* :func:`operands` draws input / weight / bias arrays: ``"exact"`` mode uses small integers sized so
  every partial sum is exact in the dtype under test; ``"float"`` mode ordinary random values.
* :func:`cases_in` draws ``(case, dtype, x_layout, w_layout)`` inside one row of the 3-way covering
  array of the discrete features (:mod:`conv_oracle.definition.features`);
* :func:`layouts` draws memory layouts; :func:`invalid_cases` draws one configuration per rule torch
  enforces, with the rule's name.

Sizes are bounded by the settings ``max_side`` (spatial length), ``max_channels`` (channels per group) and
``max_batch`` (:mod:`conv_oracle.machine.settings`: environment variables read once), fixed when a strategy
is built, never read while drawing.
"""

from .cases import LAYOUTS, cases, layouts, tag_regimes
from .cells import cases_in
from .invalid import INVALID_RULE_OPS, INVALID_RULES, InvalidCall, apply_shape_fault, invalid_cases
from .operands import MANTISSA_BITS, Exactness, Operands, exact_magnitude, exactness, make_operands, operands

__all__ = ["cases", "cases_in", "layouts", "tag_regimes", "LAYOUTS", "operands", "make_operands", "exactness", "Exactness",
           "exact_magnitude", "Operands",
           "MANTISSA_BITS", "invalid_cases", "InvalidCall", "INVALID_RULES", "INVALID_RULE_OPS", "apply_shape_fault"]
