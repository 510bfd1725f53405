"""conv_oracle: an independent numpy reference for convolutions and a differential suite for torch.

Reference operators (numpy in, numpy out, float64): :func:`conv1d`, :func:`conv2d`, :func:`conv3d`,
:func:`conv_transpose1d`, :func:`conv_transpose2d`, :func:`conv_transpose3d`.
Geometry: :func:`skipped_input_pixels`, :func:`bias_only_output_cells`, :func:`conv_output_size`,
:func:`conv_transpose_output_size`. Property-test building blocks: :mod:`conv_oracle.strategies`.
Types: :class:`Case` (one configuration), :class:`Target` and its :class:`Capability`, :func:`load_target`.
"""

import importlib

#: public name -> the submodule defining it; imported on first use (PEP 562), so that loading the
#: pytest plugin (an entry point) does not import the whole package before coverage starts
_EXPORTS = {
    "ConvConfigError": "definition.errors", "Case": "definition.case",
    "Target": "targets", "Capability": "targets", "load_target": "targets",
    "bias_only_output_cells": "definition.geometry", "conv_output_size": "definition.geometry",
    "conv_transpose_output_size": "definition.geometry", "effective_kernel": "definition.geometry",
    "skipped_input_pixels": "definition.geometry",
    "conv1d": "oracle", "conv2d": "oracle", "conv3d": "oracle",
    "conv_transpose1d": "oracle", "conv_transpose2d": "oracle", "conv_transpose3d": "oracle",
    "ConvConfig": "definition.validation", "conv_config": "definition.validation",
    "conv_transpose_config": "definition.validation",
}

__version__ = "0.1.0"

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
