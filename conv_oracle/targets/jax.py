"""JAX / XLA's CPU convolution (``jax.lax.conv_general_dilated``), behind torch.nn.functional's signatures.

Target ``jax`` (``pip install "conv_oracle[jax]"``). Torch tensors go to JAX through numpy, in their own
dtype (float64 with ``jax_enable_x64``, set at import; float32, float16 and bfloat16 natively), and the
result comes back as a torch tensor of that dtype. JAX runs on the CPU only (``jax_platforms = "cpu"``,
set at import: no accelerator is probed). The call's arguments pass through unchecked, so that JAX / XLA
itself accepts or rejects them. The translation, per spatial axis (kernel ``k``, dilation ``d``):

* conv: ``conv_general_dilated(x, w, window_strides=stride, padding=[(p, p)], rhs_dilation=dilation,
  feature_group_count=groups)`` with NCH... / OIH... / NCH... dimension numbers, plus the bias;
  ``padding='valid'`` / ``'same'`` become XLA's own pairs (``lax.padtype_to_pads``: for ``'same'`` a total
  of ``d (k - 1)`` at stride 1, ``total // 2`` before and the extra cell after, as torch); any other string
  raises ValueError; ``padding_mode`` reflect / replicate / circular is ``jnp.pad`` with mode reflect /
  edge / wrap on those pairs, then a conv without padding;
* transposed conv (the scatter) as the gather over the input stretched by ``stride``:
  ``lhs_dilation=stride``, the kernel flipped spatially with in / out channels swapped per group
  (``(C_in, C_out/g, k...)`` -> ``(C_out, C_in/g, k...)``), padding ``d (k - 1) - p`` before and
  ``d (k - 1) - p + output_padding`` after (XLA crops where negative);
* unbatched inputs (rank nd + 1) get a batch axis of 1 around the call.

Each configuration is one ``jax.jit``-compiled function (cached by its static arguments). Gradients:
a ``torch.autograd.Function`` whose backward is ``jax.vjp`` of that same function, so the suite checks
XLA's gradients.

Declared capability: float64, float32, float16, bfloat16; autograd; rejections are JAX's exception types
and the adapter's ValueError / TypeError, in their own wording (``messages``: None); it implements
``padding_mode`` itself. Relaxed rules: see ``RELAXED``. Each configuration's executables are cached;
past ``_CACHE_BOUND`` configurations every cache is emptied (JAX keeps every executable it compiles).

Its two findings (input-dilated convolutions: NaN from the inserted zeros with Inf in the kernel in
float32 / float16 / bfloat16; a compiler abort on a family of 2-D shapes) are known deviations scoped to
this target in the suite's ``known_deviations.toml``.
"""

from __future__ import annotations

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402
from . import adapter  # noqa: E402

jax.config.update("jax_platforms", "cpu")
jax.config.update("jax_enable_x64", True)

DEVICE = "cpu"
TORCH_KERNELS = False  # no torch convolution kernel runs: torch's known deviations do not apply
_DTYPES = ("float64", "float32", "float16", "bfloat16")
_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}
_SPATIAL = "DHW"

#: torch rules XLA does not enforce (it returns a result); found by running the suite
RELAXED = (
    "negative padding",  # XLA pads may be negative: cropping (conv) / extension (transposed); checked
    "negative output_padding",  # less padding after the stretched input: the scatter cropped; checked
    "output_padding not smaller than stride or dilation",  # more padding after: the scatter extended; checked
    "conv output size < 1",  # XLA's shape rule clamps an output length at 0: an empty result, not checked
    "transposed output size < 1",  # likewise
    "padding='same' with stride > 1",  # XLA's SAME is defined for any stride; torch has no definition
)


def _numbers(nd: int) -> tuple[str, str, str]:
    s = _SPATIAL[-nd:]
    return "NC" + s, "OI" + s, "NC" + s


def _jax(t):
    """A torch tensor as a JAX array of the same dtype (bfloat16 through float32: exact)."""
    import torch
    if t.dtype == torch.bfloat16:
        return jnp.asarray(t.detach().cpu().float().numpy(), dtype=jnp.bfloat16)
    return jnp.asarray(t.detach().cpu().numpy())


def _torch(a, dtype):
    """A JAX array as a torch tensor of ``dtype``."""
    import torch
    if dtype == torch.bfloat16:
        return torch.from_numpy(np.asarray(a, dtype=np.float32)).to(torch.bfloat16)
    return torch.from_numpy(np.array(a))


def _with_bias(y, b, nd):
    """``y`` plus one bias value per output channel (the adapter's own addition: XLA's conv has no bias)."""
    if b is None:
        return y
    if b.shape != y.shape[1:2]:  # jnp would broadcast a wrong shape
        raise ValueError(f"bias of shape {b.shape}: expected ({y.shape[1]},), one value per output channel")
    return y + b.reshape((1, -1) + (1,) * nd)


def _forward(op: str, nd: int, has_bias: bool, args: tuple):
    """The pure JAX function ``(x, w[, b]) -> y`` of one configuration (``args`` are static)."""
    dn = _numbers(nd)
    if op == "conv":
        stride, padding, dilation, groups, mode = args

        def f(x, w, b=None):
            pads = padding
            if isinstance(padding, str):  # XLA's own pairs for its padding words
                k = [d * (kk - 1) + 1 for kk, d in zip(w.shape[2:], dilation)]
                pads = tuple(lax.padtype_to_pads(x.shape[2:], k, stride, padding))
            if mode is not None:
                x = jnp.pad(x, [(0, 0), (0, 0)] + [tuple(p) for p in pads], mode=mode)
                pads = [(0, 0)] * nd
            y = lax.conv_general_dilated(x, w, stride, pads, rhs_dilation=dilation,
                                         feature_group_count=groups, dimension_numbers=dn)
            return _with_bias(y, b, nd)
    else:
        stride, padding, output_padding, groups, dilation = args

        def f(x, w, b=None):
            k = w.shape[2:]
            pads = [(d * (kk - 1) - p, d * (kk - 1) - p + a)
                    for kk, d, p, a in zip(k, dilation, padding, output_padding)]
            if groups < 1:  # XLA's own check rejects it (feature_group_count)
                return _with_bias(lax.conv_general_dilated(x, w, (1,) * nd, pads, feature_group_count=groups,
                                                           dimension_numbers=dn), b, nd)
            c_in, c_out_g = w.shape[:2]
            # (C_in, C_out/g, k...) -> (g, C_in/g, C_out/g, k...) -> (g, C_out/g, C_in/g, k...) -> (C_out, C_in/g, k...)
            wt = w.reshape((groups, c_in // groups, c_out_g) + k).swapaxes(1, 2)
            wt = jnp.flip(wt.reshape((groups * c_out_g, c_in // groups) + k), axis=tuple(range(2, 2 + nd)))
            y = lax.conv_general_dilated(x, wt, (1,) * nd, pads, lhs_dilation=stride, rhs_dilation=dilation,
                                         feature_group_count=groups, dimension_numbers=dn)
            return _with_bias(y, b, nd)
    return f if has_bias else (lambda x, w: f(x, w))


#: compiled configurations kept; past it every cache is emptied, JAX's too (``jax.clear_caches``): JAX
#: keeps each executable it compiles (about 3 MiB each here), which the suite's leak check would see
_CACHE_BOUND = 4
_cache: dict = {}


def _compiled(op: str, nd: int, has_bias: bool, args: tuple, signature: tuple):
    """The jitted forward of one configuration (``signature``: the operands' shapes and dtype) and the
    jitted ``(operands, dy) -> gradients`` of it (its vjp)."""
    key = (op, nd, has_bias, args, signature)
    if key not in _cache:
        if len(_cache) >= _CACHE_BOUND:
            _cache.clear()
            jax.clear_caches()
        f = _forward(op, nd, has_bias, args)
        _cache[key] = jax.jit(f), jax.jit(lambda ops, dy: jax.vjp(f, *ops)[1](dy))
    return _cache[key]


def _make_function():
    import torch

    class XlaConv(torch.autograd.Function):
        """y = XLA's forward; dL/d(x, w, b) = XLA's vjp of the same function at the same operands."""

        @staticmethod
        def forward(ctx, key, x, w, b):
            ctx.key, ctx.dtype = key, x.dtype
            ops = tuple(_jax(t) for t in (x, w, b) if t is not None)
            ctx.ops = ops
            return _torch(_compiled(*key)[0](*ops), x.dtype)

        @staticmethod
        def backward(ctx, dy):
            grads = [_torch(g, ctx.dtype) for g in _compiled(*ctx.key)[1](ctx.ops, _jax(dy))]
            return (None, *grads, *([None] * (3 - len(grads))))

    return XlaConv


_FUNCTION = None


def _call(op: str, nd: int, input, weight, bias, args: tuple):
    global _FUNCTION
    import torch
    dtype = str(input.dtype).replace("torch.", "")
    if dtype not in _DTYPES:
        raise TypeError(f"input.dtype={dtype}: the jax target computes in {list(_DTYPES)}")
    if _FUNCTION is None:
        _FUNCTION = _make_function()
    unbatched = input.dim() == nd + 1
    x = input.unsqueeze(0) if unbatched else input
    key = (op, nd, bias is not None, args, (dtype,) + tuple(tuple(t.shape) for t in (x, weight, bias) if t is not None))
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (input, weight, bias)):
        y = _FUNCTION.apply(key, x, weight, bias)
    else:
        y = _torch(_compiled(*key)[0](*(_jax(t) for t in (x, weight, bias) if t is not None)), input.dtype)
    return y.squeeze(0) if unbatched else y


def _conv(nd, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise ValueError(f"padding={padding!r}: the jax target maps only torch's 'valid' and 'same'")
        pads = padding.upper()
    else:
        pads = tuple((p, p) for p in adapter.per_dim(padding, nd))
    mode = None
    if padding_mode != "zeros":
        if padding_mode not in _PAD_MODES:
            raise ValueError(f"padding_mode={padding_mode!r}: must be one of {['zeros', *_PAD_MODES]}")
        mode = _PAD_MODES[padding_mode]
    args = (adapter.per_dim(stride, nd), pads, adapter.per_dim(dilation, nd), int(groups), mode)
    return _call("conv", nd, input, weight, bias, args)


def _conv_transpose(nd, input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    if isinstance(padding, str):
        raise TypeError(f"padding={padding!r}: transposed convolution takes int or tuple padding")
    args = (adapter.per_dim(stride, nd), adapter.per_dim(padding, nd), adapter.per_dim(output_padding, nd),
            int(groups), adapter.per_dim(dilation, nd))
    return _call("conv_transpose", nd, input, weight, bias, args)


#: torch's six functional signatures over the two entry points above
conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d = adapter.functional(_conv, _conv_transpose)


#: JAX's exception types (shape and argument checks: TypeError / ValueError; XLA: JaxRuntimeError, a
#: RuntimeError) and the adapter's own
REJECTIONS = (TypeError, ValueError, jax.errors.JaxRuntimeError)

CAPABILITY = {
    "dtypes": _DTYPES,
    "devices": ("cpu",),
    "autograd": True,
    "rejects": REJECTIONS,
    "relaxed": RELAXED,
    "options": ("padding_mode",),
    "messages": None,  # JAX's wording: the reason of a rejection is not compared
}

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "CAPABILITY",
           "DEVICE", "RELAXED", "REJECTIONS"]
