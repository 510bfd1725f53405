"""Shared wrapper for the narrow-path planted targets: torch.nn.functional, except that when the
module's ``hits(call)`` is true the output's first element is off by one (a plain wrong value,
caught in exact and float mode alike). ``call`` describes one invocation (:class:`Call`)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

_NAMES = ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")


def _per_dim(v, nd):
    return (v,) * nd if isinstance(v, int) else tuple(v)


@dataclass
class Call:
    transposed: bool
    nd: int
    input: torch.Tensor
    weight: torch.Tensor
    bias: torch.Tensor | None
    stride: tuple
    dilation: tuple
    groups: int

    @property
    def gaps(self) -> tuple:
        """Per dimension: stride larger than the effective kernel (k - 1) * d + 1."""
        ks = self.weight.shape[-self.nd:]
        return tuple(s > (k - 1) * d + 1 for s, k, d in zip(self.stride, ks, self.dilation))

    @property
    def channels_last_input(self) -> bool:
        if self.input.dim() not in (4, 5):
            return False
        fmt = torch.channels_last if self.input.dim() == 4 else torch.channels_last_3d
        return self.input.is_contiguous(memory_format=fmt) and not self.input.is_contiguous()


def functions(hits):
    """The six functions of a target that is wrong exactly where ``hits(call)`` holds."""
    def make(name):
        fn, transposed, nd = getattr(F, name), "transpose" in name, int(name[-2])

        def conv(input, weight, bias=None, stride=1, padding=0, *rest, **kw):
            out = fn(input, weight, bias, stride, padding, *rest, **kw)
            if transposed:
                dilation = rest[2] if len(rest) > 2 else kw.get("dilation", 1)
                groups = rest[1] if len(rest) > 1 else kw.get("groups", 1)
            else:
                dilation = rest[0] if rest else kw.get("dilation", 1)
                groups = rest[1] if len(rest) > 1 else kw.get("groups", 1)
            call = Call(transposed, nd, input, weight, bias, _per_dim(stride, nd), _per_dim(dilation, nd), groups)
            if out.numel() and hits(call):
                out = out + torch.nn.functional.pad(torch.ones(1, dtype=out.dtype), (0, out.numel() - 1)).reshape(out.shape)
            return out
        conv.__name__ = name
        return conv
    return {name: make(name) for name in _NAMES}
