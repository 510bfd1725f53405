"""Running a :class:`Case` on a target: torch tensors in the requested dtype, layout and device."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..definition.case import Case
from .base import MissingFunction, Target

#: memory layouts the suite places operands in (see :func:`place`)
LAYOUTS = ("contiguous", "channels_last", "sliced", "transposed", "expanded", "strided")
#: the strides a ``strided`` placement may give a dimension of length 1 (any is legal: it is never stepped)
SIZE1_STRIDES = (0, 1, 3, 1000)


def strided_layout(array: np.ndarray) -> tuple[tuple[int, ...], tuple[int, ...], int, int]:
    """The ``strided`` layout of ``array``: ``(dimension order in memory (outermost first), strides,
    storage offset, storage size)``. Any permutation of the dimensions, a gap of one element after every
    element along some of them, any stride (0 included) on length-1 dimensions, a storage offset of 0-3;
    chosen from the array's shape and values, so two placements of one operand agree."""
    import zlib
    rng = np.random.default_rng(zlib.crc32(np.ascontiguousarray(array, dtype=np.float64).tobytes()
                                           + repr(array.shape).encode()))
    order = tuple(int(a) for a in rng.permutation(array.ndim))
    strides, step = [0] * array.ndim, 1
    for axis in reversed(order):  # innermost first
        n = array.shape[axis]
        if n == 1:
            strides[axis] = int(rng.choice(SIZE1_STRIDES))
            continue
        gap = int(rng.integers(1, 3))
        strides[axis] = step * gap
        step *= n * gap
    offset = int(rng.integers(0, 4))
    extent = 1 + sum((n - 1) * st for n, st in zip(array.shape, strides))
    return order, tuple(strides), offset, offset + max(extent, step)


def torch_dtype(name: str):
    import torch
    return getattr(torch, name)


def bias_layout(w_layout: str) -> str:
    """The layout the bias is placed in: the weight's where it applies to any vector (a gapped slice, or
    ``strided``: gaps and an offset), contiguous otherwise."""
    return w_layout if w_layout in ("sliced", "strided") else "contiguous"


def output_gradient_layout(x_layout: str, ndim: int) -> str:
    """The layout the output gradient is placed in: the input's, where it applies to any values of the
    output's rank (never ``expanded``, whose rows must be equal; ``channels_last`` only at rank 4-5)."""
    if x_layout == "expanded" or (x_layout == "channels_last" and ndim not in (4, 5)):
        return "contiguous"
    return x_layout


def place(array: np.ndarray, dtype: str, layout: str, device: str, requires_grad: bool = False):
    """``array`` as a torch tensor with ``layout``; returns ``(tensor, layout_applied)``.

    Non-contiguous layouts are views of a larger or permuted tensor (``strided``: any dimension order,
    gaps holding NaN, any stride on length-1 dimensions, a storage offset; :func:`strided_layout`); with
    ``requires_grad`` the view itself is the leaf whose ``.grad`` autograd fills. A layout that does not apply
    to the tensor's rank (channels_last below 4-D, expanded with one row) falls back to contiguous.
    """
    import torch
    dt = torch_dtype(dtype)

    def leaf(a):
        return torch.tensor(np.ascontiguousarray(a), dtype=torch.float64).to(device=device, dtype=dt)

    t, applied = None, layout
    if layout == "channels_last" and array.ndim in (4, 5):
        fmt = torch.channels_last if array.ndim == 4 else torch.channels_last_3d
        t = leaf(array).to(memory_format=fmt)
    elif layout == "sliced" and array.ndim >= 1:
        wide = np.zeros(array.shape[:-1] + (2 * array.shape[-1],))
        wide[..., ::2] = array
        base = leaf(wide)
        t = base[..., ::2]
    elif layout == "transposed" and array.ndim >= 2:
        base = leaf(np.swapaxes(array, -1, -2))
        t = base.transpose(-1, -2)
    elif layout == "expanded" and array.shape[0] > 1 and np.array_equal(array, np.broadcast_to(array[:1], array.shape)):
        base = leaf(array[:1])
        t = base.expand(array.shape)
    elif layout == "strided" and array.ndim >= 1 and array.size > 0:
        _, strides, offset, size = strided_layout(array)
        storage = torch.full((size,), float("nan"), dtype=dt, device=device)  # the gaps hold NaN
        t = storage.as_strided(array.shape, strides, offset)
        t.copy_(leaf(array))
    if t is None:
        t, applied = leaf(array), "contiguous"
    if requires_grad:  # every placement above is a leaf (views of tensors without grad are leaves)
        t.requires_grad_(True)
    return t, applied


@dataclass
class Call:
    """What one target call saw and returned."""

    x: object
    w: object
    b: object
    out: object
    x_layout: str
    w_layout: str
    path: dict | None = None
    #: the operands' values as placed, read before the call (float64 numpy; ``b_in`` None without bias):
    #: what the oracle computes from, so a target that writes its inputs cannot change the expectation
    x_in: np.ndarray | None = None
    w_in: np.ndarray | None = None
    b_in: np.ndarray | None = None

    def operands(self) -> tuple:
        """``(x, w, b)`` as the target received them (before the call)."""
        return self.x_in, self.w_in, self.b_in

    def modified(self) -> list[str]:
        """The operands whose values differ, bit for bit, from what they were before the call."""
        names = []
        for name, before, t in (("input", self.x_in, self.x), ("weight", self.w_in, self.w), ("bias", self.b_in, self.b)):
            if t is not None and before is not None and not _same_bits(before, _values(t)):
                names.append(name)
        return names


def _values(t) -> np.ndarray:
    """A tensor's values as float64 numpy, not recorded in :data:`reads` (operands, not results)."""
    return t.detach().to("cpu", dtype=torch_dtype("float64")).numpy().copy()


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(np.ascontiguousarray(a).view(np.uint8),
                                                 np.ascontiguousarray(b).view(np.uint8))


def build_module(case: Case, device: str, dtype: str):
    import torch
    kind = f"ConvTranspose{case.nd}d" if case.transposed else f"Conv{case.nd}d"
    cls = getattr(torch.nn, kind)
    common = dict(stride=case.stride, padding=case.padding, dilation=case.dilation, groups=case.groups,
                  bias=case.bias, device=device, dtype=torch_dtype(dtype))
    if case.transposed:
        return cls(case.in_channels, case.out_channels, case.kernel_size, output_padding=case.output_padding,
                   **common)
    return cls(case.in_channels, case.out_channels, case.kernel_size, padding_mode=case.padding_mode, **common)


def module_options(case: Case) -> dict:
    """The module-level options ``case`` sets (``padding_mode``, ``output_size``), as keyword arguments."""
    opts = {}
    if case.padding_mode != "zeros":
        opts["padding_mode"] = case.padding_mode
    if case.output_size is not None:
        opts["output_size"] = tuple(case.output_size)
    return opts


def _own_options(target: Target, case: Case) -> bool:
    """True when the target's own function takes every module-level option ``case`` needs."""
    return set(module_options(case)) <= target.capability.options


def invoke(target: Target, case: Case, x, w, b):
    """Call the target's function for ``case``: module-level options go to the target's own function
    when its capability declares them, otherwise to torch's nn module."""
    import torch
    with target.context():
        if case.needs_module and not _own_options(target, case):
            module = build_module(case, target.device, str(x.dtype).replace("torch.", ""))
            params = {"weight": w} | ({"bias": b} if b is not None else {})
            kwargs = {"output_size": list(case.output_size)} if case.output_size is not None else {}
            return torch.func.functional_call(module, params, (x,), kwargs)
        fn = target.function(case.fn_name)
        if fn is None:  # callers check supports() first; this is not a target error
            raise MissingFunction(f"target {target.name} does not define {case.fn_name}")
        return fn(x, w, b, **case.functional_kwargs(), **module_options(case))


def run(target: Target, case: Case, x: np.ndarray, w: np.ndarray, b: np.ndarray | None, dtype: str,
        x_layout: str = "contiguous", w_layout: str = "contiguous", requires_grad: bool = False) -> Call:
    """Place operands on the target's device and call it."""
    xt, xl = place(x, dtype, x_layout, target.device, requires_grad)
    wt, wl = place(w, dtype, w_layout, target.device, requires_grad)
    bt = None if b is None else place(b, dtype, bias_layout(w_layout), target.device, requires_grad)[0]
    before = _values(xt), _values(wt), None if bt is None else _values(bt)
    with target.context():
        p = call_path(target, case, xt, wt, bt)
    if on_path is not None:
        on_path(p)
    try:
        out = invoke(target, case, xt, wt, bt)
    except Exception as exc:
        exc.conv_path = p  # for the failure message and the records: which path raised
        raise
    return Call(xt, wt, bt, out, xl, wl, p, *before)


def call_path(target: Target, case: Case, x, w, b) -> dict:
    """The execution path of this call (:func:`conv_oracle.machine.kernel_path.path`; the ATen backend
    only for targets that run torch's kernels) and each operand's shape, strides and storage offset."""
    from ..machine import kernel_path
    backend = kernel_path.conv_backend(case, x, w, b) if target.torch_kernels else None
    out = kernel_path.path(backend, target.device)
    # the memory layout as the target got it: the label names a class, the strides say which member
    out["strides"] = {name: {"shape": list(t.shape), "stride": list(t.stride()), "offset": int(t.storage_offset())}
                      for name, t in (("input", x), ("weight", w), ("bias", b)) if t is not None}
    return out


def backward(target: Target, out, grad) -> None:
    """``out.backward(grad)`` inside the target's context: a context that only wrapped the forward
    call (oneDNN off, TF32 off) would leave the gradient kernels on the default path."""
    with target.context():
        out.backward(grad)


#: when set (in an isolated worker), called with each call's execution path before the target runs
on_path = None

#: when a list, every array read back from a target is appended to it (isolation.twice compares two runs)
reads: list | None = None


def to_numpy(t) -> np.ndarray:
    """A tensor's values as float64 numpy (exact for every float dtype)."""
    array = t.detach().to("cpu", dtype=torch_dtype("float64")).numpy()
    if reads is not None:
        reads.append(array)
    return array


def unavailable(target: Target) -> str | None:
    """Why ``target`` cannot run on this machine at all, or None: a CUDA target without CUDA (the
    built-in CUDA targets load without functions there)."""
    if target.device == "cuda" and not target.functions:
        return "CUDA is not available on this machine"
    return None


def supports(target: Target, case: Case) -> str | None:
    """None if ``target`` can run ``case``; otherwise the reason it cannot."""
    if case.needs_module and not target.modules and not _own_options(target, case):
        missing = sorted(set(module_options(case)) - target.capability.options)
        return f"{target.name} does not take {missing} itself (capability options) and runs no torch nn modules"
    if (not case.needs_module or _own_options(target, case)) and target.function(case.fn_name) is None:
        return f"{target.name} does not define {case.fn_name}"
    return unavailable(target)
