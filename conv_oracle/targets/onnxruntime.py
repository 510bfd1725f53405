"""ONNX Runtime's CPU Conv / ConvTranspose kernels, behind torch.nn.functional's signatures.

Target ``onnxruntime`` (``pip install "conv_oracle[onnx]"``). Each call builds a one-node ONNX graph
(``Conv`` or ``ConvTranspose``, opset 22; with ``padding_mode`` a ``Pad`` node in front) from the call's
arguments, passed through unchecked so that ONNX Runtime itself accepts or rejects them, and runs it
on numpy copies of the torch tensors. Sessions are cached per graph signature. The translation:

* ``stride`` / ``dilation`` / ``padding`` / ``output_padding`` (int or tuple) -> ``strides`` /
  ``dilations`` / symmetric ``pads`` / ``output_padding``; ``groups`` -> ``group``;
* ``padding='valid'`` / ``'same'`` (conv) -> ``auto_pad='VALID'`` / ``'SAME_UPPER'`` (the extra cell
  after, as torch), except ``'same'`` with dilation, which ONNX Runtime does not support with auto_pad:
  torch's split as explicit ``pads``; any other string raises ValueError; strings for transposed conv
  raise TypeError (torch's functional signature takes ints there);
* ``padding_mode`` reflect / replicate / circular -> ``Pad`` with mode reflect / edge / wrap
  (``'same'`` resolved to torch's explicit split first);
* unbatched inputs (rank nd + 1) get a batch axis of 1 around the call.

Declared capability: float32, plus float16 where this build has CPU kernels for it (probed at import);
no float64 / bfloat16 kernels; no autograd; rejections are ONNX Runtime's exception types and the
adapter's ValueError / TypeError, in their own wording (``messages``: None, the reason is not compared);
it implements ``padding_mode`` itself. Relaxed rules (it accepts, and the result is checked against the
definition where one exists): see ``RELAXED``.

Its one finding (ConvTranspose rejects a valid ``stride <= output_padding < dilation``) is a known
deviation scoped to this target in the suite's ``known_deviations.toml``: ``pytest conv_oracle/suite
--target onnxruntime`` passes with it.
"""

from __future__ import annotations

import functools
import os

import numpy as np
import onnxruntime as ort
from onnxruntime.capi import onnxruntime_pybind11_state as _state

from ..machine.settings import NAMES, settings
from . import adapter, onnx_graph

DEVICE = "cpu"
TORCH_KERNELS = False  # no torch convolution kernel runs: torch's known deviations do not apply
_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}

#: torch rules ONNX Runtime does not enforce (it returns a result); found by running the suite
RELAXED = (
    "negative padding",  # ONNX pads may be negative: cropping (conv) / extension (transposed); checked
    "padding='same' with stride > 1",  # ONNX SAME_UPPER is defined for any stride; torch has no definition
)


def _tuple(value, nd: int) -> list:
    return list(adapter.per_dim(value, nd))  # ONNX attributes as lists


@functools.lru_cache(maxsize=512)
def _session(op: str, dtype: str, rank: int, has_bias: bool, attrs: tuple, pad: tuple | None, threads: int):
    return onnx_graph.session(op, dtype, rank, has_bias, attrs, pad, threads)


def _run(op: str, nd: int, input, weight, bias, attrs: dict, pad=None):
    import torch
    dtype = str(input.dtype).replace("torch.", "")
    if dtype not in onnx_graph.ONNX_DTYPES:
        raise TypeError(f"input.dtype={dtype}: the onnxruntime target computes in {sorted(onnx_graph.ONNX_DTYPES)}")
    unbatched = input.dim() == nd + 1
    x = np.ascontiguousarray(input.detach().cpu().numpy())
    if unbatched:
        x = x[np.newaxis]
    feeds = {"X": x, "W": np.ascontiguousarray(weight.detach().cpu().numpy())}
    if bias is not None:
        feeds["B"] = np.ascontiguousarray(bias.detach().cpu().numpy())
    key = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in attrs.items()))
    # as many threads as torch's (the plugin shares cores between workers)
    session = _session(op, dtype, x.ndim, bias is not None, key, pad, torch.get_num_threads())
    y = session.run(None, feeds)[0]
    return torch.from_numpy(y[0] if unbatched else y)


def _explicit(padding, weight, dilations, nd):
    """Padding before / after per axis; ``'same'`` as torch splits it: total d (k - 1), the extra cell after."""
    if padding == "same":
        k = weight.shape[2:]
        before = [d * (kk - 1) // 2 for kk, d in zip(k, dilations)]
        return before, [d * (kk - 1) - b for kk, d, b in zip(k, dilations, before)]
    if padding == "valid":
        return [0] * nd, [0] * nd
    if isinstance(padding, str):
        raise ValueError(f"padding={padding!r}: the onnxruntime target maps only 'valid' and 'same'")
    return _tuple(padding, nd), _tuple(padding, nd)


def _conv(nd, input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    attrs = {"strides": _tuple(stride, nd), "dilations": _tuple(dilation, nd), "group": int(groups)}
    pad = None
    if padding_mode != "zeros":
        if padding_mode not in _PAD_MODES:
            raise ValueError(f"padding_mode={padding_mode!r}: must be one of {['zeros', *_PAD_MODES]}")
        before, after = _explicit(padding, weight, attrs["dilations"], nd)
        # ONNX Pad lists every axis' begin, then every axis' end; the graph always has a batch axis
        pad = (_PAD_MODES[padding_mode], tuple([0, 0] + list(before) + [0, 0] + list(after)))
        attrs["pads"] = [0] * (2 * nd)
    elif padding == "same" and any(d != 1 for d in attrs["dilations"]):
        # ONNX Runtime: "Dilation not supported for AutoPadType::SAME_UPPER": torch's split, explicitly
        before, after = _explicit(padding, weight, attrs["dilations"], nd)
        attrs["pads"] = list(before) + list(after)
    elif isinstance(padding, str):
        words = {"valid": "VALID", "same": "SAME_UPPER"}
        if padding not in words:
            raise ValueError(f"padding={padding!r}: the onnxruntime target maps only 'valid' and 'same' (auto_pad)")
        attrs["auto_pad"] = words[padding]
    else:
        p = _tuple(padding, nd)
        attrs["pads"] = p + p
    return _run("Conv", nd, input, weight, bias, attrs, pad)


def _conv_transpose(nd, input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    if isinstance(padding, str):
        raise TypeError(f"padding={padding!r}: transposed convolution takes int or tuple padding")
    p = _tuple(padding, nd)
    attrs = {"strides": _tuple(stride, nd), "dilations": _tuple(dilation, nd), "group": int(groups),
             "pads": p + p, "output_padding": _tuple(output_padding, nd)}
    return _run("ConvTranspose", nd, input, weight, bias, attrs)


#: torch's six functional signatures over the two entry points above
conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d = adapter.functional(_conv, _conv_transpose)


def _has_kernels(dtype: str) -> bool:
    """Whether this onnxruntime build runs Conv and ConvTranspose in ``dtype`` on the CPU.

    Asked in a child interpreter (:func:`conv_oracle.targets.onnx_graph.probe`, no torch): a session made
    here would start ONNX Runtime's threads in this process, and conv_oracle.checks.isolation forks its
    workers from the process that imports a target; ONNX Runtime is not fork-safe once initialised
    (forked workers then hang or crash now and then)."""
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", "conv_oracle.targets.onnx_graph", dtype], capture_output=True,
                          timeout=120).returncode == 0


def _float_dtypes() -> tuple[str, ...]:
    """float32, and float16 where the build has kernels: probed once per process tree. The answer goes
    to this process's children through the ``ort_kernels`` setting (with the onnxruntime version it
    holds for), so the fork servers and pytest processes a run starts reuse it."""
    inherited = settings().ort_kernels
    if inherited is not None and inherited[0] == ort.__version__:
        return inherited[1]
    dtypes = ("float32",) + (("float16",) if _has_kernels("float16") else ())
    os.environ[NAMES["ort_kernels"]] = f"{ort.__version__}:{','.join(dtypes)}"
    return dtypes


#: ONNX Runtime's exception types (all derive from Exception only) and the adapter's own
REJECTIONS = (_state.Fail, _state.InvalidArgument, _state.RuntimeException, _state.NotImplemented,
              _state.InvalidGraph, ValueError, TypeError)

CAPABILITY = {
    "dtypes": _float_dtypes(),
    "devices": ("cpu",),
    "autograd": False,
    "rejects": REJECTIONS,
    "relaxed": RELAXED,
    "options": ("padding_mode",),
    "messages": None,  # ONNX Runtime's wording: the reason of a rejection is not compared
}

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "CAPABILITY",
           "DEVICE", "RELAXED", "REJECTIONS"]
