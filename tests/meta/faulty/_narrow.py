"""Shared by the planted narrow-precision targets: wrap every torch.nn.functional conv so that a
chosen dtype is computed with narrower operands or in a narrower dtype."""

import torch
import torch.nn.functional as F

NAMES = ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")


def tf32(t: torch.Tensor) -> torch.Tensor:
    """float32 rounded to TF32 (10 stored mantissa bits), to nearest even, as tensor cores do."""
    bits = t.contiguous().view(torch.int32)
    bits = (bits + 0xFFF + ((bits >> 13) & 1)) & ~0x1FFF
    return bits.view(torch.float32)


def via(dtype: torch.dtype, narrow):
    """Functions that, for inputs of ``dtype``, compute ``narrow(input), narrow(weight)`` (bias as is)."""
    def wrap(fn):
        def call(input, weight, bias=None, *args, **kwargs):
            if input.dtype == dtype:
                return narrow(fn, input, weight, bias, *args, **kwargs)
            return fn(input, weight, bias, *args, **kwargs)
        call.__name__ = fn.__name__
        return call
    return {name: wrap(getattr(F, name)) for name in NAMES}


def operands_rounded(round_fn):
    """``narrow`` for :func:`via`: round input and weight, compute in the original dtype."""
    return lambda fn, x, w, b, *a, **k: fn(round_fn(x), round_fn(w), b, *a, **k)


def computed_in(dtype: torch.dtype):
    """``narrow`` for :func:`via`: the whole call in ``dtype``, cast back."""
    def narrow(fn, x, w, b, *a, **k):
        return fn(x.to(dtype), w.to(dtype), None if b is None else b.to(dtype), *a, **k).to(x.dtype)
    return narrow
