"""Validation of a whole configuration, from shapes alone, under torch's rules.

``conv_config`` / ``conv_transpose_config`` either return a normalised, frozen
:class:`ConvConfig` or raise :class:`~conv_oracle.definition.errors.ConvConfigError` naming the
parameter, the value and the rule. They are used by the oracle, the strategies (to
predict acceptance) and the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import geometry
from .errors import ConvConfigError
from .params import check_padding_mode, per_dim, resolve_padding


@dataclass(frozen=True)
class ConvConfig:
    """A valid configuration, every per-dimension argument as an ``nd``-tuple."""

    transposed: bool
    batched: bool
    batch: int
    in_channels: int
    out_channels: int
    groups: int
    input_size: tuple[int, ...]
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]  # (before, after) per dim
    dilation: tuple[int, ...]
    output_padding: tuple[int, ...]
    padding_mode: str
    output_size: tuple[int, ...]
    has_bias: bool

    @property
    def nd(self) -> int:
        return len(self.input_size)

    @property
    def padding_before(self) -> tuple[int, ...]:
        return tuple(p for p, _ in self.padding)

    @property
    def effective_kernel(self) -> tuple[int, ...]:
        return tuple(geometry.effective_kernel(k, d) for k, d in zip(self.kernel_size, self.dilation))


def _shape(name: str, shape) -> tuple[int, ...]:
    return tuple(int(n) for n in shape)


def _check_ranks(input_shape, weight_shape, nd: int, op: str) -> bool:
    if len(input_shape) not in (nd + 1, nd + 2):
        raise ConvConfigError("input.shape", tuple(input_shape),
                              f"{op} expects {nd + 1}-D (unbatched) or {nd + 2}-D (batched) input")
    if len(weight_shape) != nd + 2:
        raise ConvConfigError("weight.shape", tuple(weight_shape), f"{op} expects a {nd + 2}-D weight")
    if any(k < 1 for k in weight_shape[2:]):
        raise ConvConfigError("weight.shape", tuple(weight_shape), "kernel sizes must be positive")
    return len(input_shape) == nd + 2


def _check_groups(groups) -> int:
    if isinstance(groups, bool) or not isinstance(groups, int):
        raise ConvConfigError("groups", groups, "must be an int")
    if groups < 1:
        raise ConvConfigError("groups", groups, "must be positive")
    return groups


def _check_bias(bias_shape, out_channels: int) -> bool:
    if bias_shape is None:
        return False
    if tuple(bias_shape) != (out_channels,):
        raise ConvConfigError("bias.shape", tuple(bias_shape),
                              f"must be ({out_channels},), one value per output channel")
    return True


def conv_config(input_shape, weight_shape, bias_shape=None, stride=1, padding=0, dilation=1,
                groups=1, padding_mode="zeros", nd: int | None = None) -> ConvConfig:
    """Validate a convolution (weight ``(C_out, C_in/groups, *k)``) and return its normalised form."""
    input_shape, weight_shape = _shape("input", input_shape), _shape("weight", weight_shape)
    nd = nd if nd is not None else len(weight_shape) - 2
    batched = _check_ranks(input_shape, weight_shape, nd, f"conv{nd}d")
    stride = per_dim("stride", stride, nd, minimum=1)
    dilation = per_dim("dilation", dilation, nd, minimum=1)
    groups = _check_groups(groups)
    padding_mode = check_padding_mode(padding_mode)
    kernel = weight_shape[2:]
    pads = resolve_padding(padding, kernel, dilation, stride)
    out_channels, in_per_group = weight_shape[:2]
    if out_channels < 1 or out_channels % groups:
        raise ConvConfigError("weight.shape", weight_shape,
                              f"out_channels {out_channels} must be positive and divisible by groups={groups}")
    if in_per_group < 1:
        raise ConvConfigError("weight.shape", weight_shape, "in_channels/groups (weight.shape[1]) must be positive")
    in_channels = input_shape[-nd - 1]
    if in_channels != in_per_group * groups:
        raise ConvConfigError("input.shape", input_shape,
                              f"expected {in_per_group * groups} input channels (weight.shape[1]={in_per_group} "
                              f"x groups={groups}), got {in_channels}")
    has_bias = _check_bias(bias_shape, out_channels)
    size = input_shape[-nd:]
    if padding_mode in ("reflect", "circular"):
        for L, (pb, pa) in zip(size, pads):
            limit_ok = max(pb, pa) < L if padding_mode == "reflect" else max(pb, pa) <= L
            if not limit_ok:
                rule = ("reflect padding must be smaller than the input size" if padding_mode == "reflect"
                        else "circular padding must not exceed the input size (wraps at most once)")
                raise ConvConfigError("padding", padding, f"{rule} ({L}) in every dimension")
    out = tuple(geometry.conv_output_length(L, k, s, pb, d, pa)
                for L, k, s, (pb, pa), d in zip(size, kernel, stride, pads, dilation))
    if any(o < 1 for o in out):
        raise ConvConfigError("input.shape", input_shape,
                              f"padded input size {tuple(L + pb + pa for L, (pb, pa) in zip(size, pads))} "
                              f"must be at least the effective kernel "
                              f"{tuple(geometry.effective_kernel(k, d) for k, d in zip(kernel, dilation))} "
                              f"(output size would be {out})")
    return ConvConfig(False, batched, input_shape[0] if batched else 1, in_channels, out_channels, groups,
                      size, kernel, stride, pads, dilation, (0,) * nd, padding_mode, out, has_bias)


def conv_transpose_config(input_shape, weight_shape, bias_shape=None, stride=1, padding=0,
                          output_padding=0, groups=1, dilation=1, output_size=None,
                          nd: int | None = None) -> ConvConfig:
    """Validate a transposed convolution (weight ``(C_in, C_out/groups, *k)``).

    ``output_size`` follows ``nn.ConvTranspose*d.forward``: ``nd`` sizes (or the full shape),
    each in ``[min, min + stride - 1]``; it replaces ``output_padding`` by ``size - min``.
    """
    input_shape, weight_shape = _shape("input", input_shape), _shape("weight", weight_shape)
    nd = nd if nd is not None else len(weight_shape) - 2
    batched = _check_ranks(input_shape, weight_shape, nd, f"conv_transpose{nd}d")
    if isinstance(padding, str):
        raise ConvConfigError("padding", padding, "transposed convolutions take an int or a tuple, not a string")
    stride = per_dim("stride", stride, nd, minimum=1)
    dilation = per_dim("dilation", dilation, nd, minimum=1)
    pad = per_dim("padding", padding, nd, minimum=0)
    groups = _check_groups(groups)
    kernel = weight_shape[2:]
    in_channels, out_per_group = weight_shape[:2]
    if in_channels < 1 or in_channels % groups:
        raise ConvConfigError("weight.shape", weight_shape,
                              f"weight.shape[0] (in_channels) {in_channels} must be positive and divisible "
                              f"by groups={groups}")
    if out_per_group < 1:
        raise ConvConfigError("weight.shape", weight_shape, "weight.shape[1] (out_channels/groups) must be positive")
    if input_shape[-nd - 1] != in_channels:
        raise ConvConfigError("input.shape", input_shape,
                              f"expected {in_channels} input channels (weight.shape[0]), got {input_shape[-nd - 1]}")
    out_channels = out_per_group * groups
    has_bias = _check_bias(bias_shape, out_channels)
    size = input_shape[-nd:]
    if output_size is not None:
        output_padding = _output_padding_from_size(output_size, size, kernel, stride, pad, dilation, batched)
    opad = per_dim("output_padding", output_padding, nd, minimum=0)
    for a, s, d in zip(opad, stride, dilation):
        if a >= s and a >= d:
            raise ConvConfigError("output_padding", output_padding,
                                  f"must be smaller than either stride {stride} or dilation {dilation} "
                                  f"in every dimension")
    out = tuple(geometry.conv_transpose_output_length(*a) for a in zip(size, kernel, stride, pad, opad, dilation))
    if any(o < 1 for o in out):
        raise ConvConfigError("input.shape", input_shape,
                              f"output size {out} = (L-1)*stride - 2*padding + dilation*(k-1) + 1 "
                              f"+ output_padding must be at least 1")
    return ConvConfig(True, batched, input_shape[0] if batched else 1, in_channels, out_channels, groups,
                      size, kernel, stride, tuple((p, p) for p in pad), dilation, opad, "zeros", out, has_bias)


def _output_padding_from_size(output_size, size, kernel, stride, pad, dilation, batched) -> tuple[int, ...]:
    nd = len(size)
    requested = per_dim("output_size", list(output_size), len(output_size), minimum=None) if len(output_size) else ()
    non_spatial = 2 if batched else 1
    if len(requested) == nd + non_spatial:
        requested = requested[non_spatial:]
    if len(requested) != nd:
        raise ConvConfigError("output_size", tuple(output_size),
                              f"must have {nd} or {nd + non_spatial} elements for "
                              f"{'batched' if batched else 'unbatched'} input")
    lo = [geometry.conv_transpose_output_length(L, k, s, p, 0, d) for L, k, s, p, d in
          zip(size, kernel, stride, pad, dilation)]
    hi = [m + s - 1 for m, s in zip(lo, stride)]
    if any(not (a <= r <= b) for r, a, b in zip(requested, lo, hi)):
        raise ConvConfigError("output_size", tuple(output_size),
                              f"each size must lie in [min, min + stride - 1]: from {lo} to {hi}")
    return tuple(r - m for r, m in zip(requested, lo))
