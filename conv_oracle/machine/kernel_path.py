"""Execution paths: which of torch's convolution kernels computes a call, and under which ISA and threads.

* :func:`conv_backend`: the ATen backend (``Mkldnn``, ``MkldnnTranspose``, ``Slow2d``, ``SlowTranspose2d``,
  ``SlowDilated2d``, ``Empty``, ``Cudnn``, ...) torch dispatches a call to, through the private
  ``torch._C._select_conv_backend`` (guarded: ``None`` where it is absent or refuses the call).
* :data:`ISA_LEVELS` / :func:`cpu_isa_levels`: oneDNN's ISA levels in increasing order and those this
  CPU has; :func:`effective_isa`: the level oneDNN runs at under the cap in effect.
* :func:`path`: one dict per call (backend, ISA level, cap, ATen capability, threads) for records,
  failure messages and known-deviation scopes; :func:`describe` prints it as one phrase.
* :func:`memory_format`: an operand's memory format as torch's kernels judge it, from the shape and strides
  a path records (``strides``), for known-deviation scopes (``x_memory``, ``w_memory``).
"""

from __future__ import annotations

import functools
import os

from .fingerprint import cap_in

#: oneDNN's x86 ISA levels (ONEDNN_MAX_CPU_ISA values), lowest first, with the CPU flags each needs
#: and the ATen CPU capability (ATEN_CPU_CAPABILITY) that matches it
ISA_LEVELS = (
    ("AVX2", ("avx2", "fma"), "avx2"),
    ("AVX512_CORE", ("avx512f", "avx512bw", "avx512vl"), "avx512"),
    ("AVX512_CORE_VNNI", ("avx512_vnni",), "avx512"),
    ("AVX512_CORE_BF16", ("avx512_bf16",), "avx512"),
    ("AVX512_CORE_FP16", ("avx512_fp16",), "avx512"),
    ("AVX512_CORE_AMX", ("amx_tile", "amx_bf16"), "avx512"),
)
LEVEL_NAMES = tuple(name for name, _, _ in ISA_LEVELS)

#: ATen's ConvBackend values the Python binding leaves unnamed (repr '???'), by enum value
_UNNAMED_BACKENDS = {9: "MkldnnTranspose"}


def cpu_isa_levels(flags) -> list[str]:
    """The oneDNN levels a CPU with ``flags`` supports (each level needs every lower level's flags)."""
    have, levels = set(flags), []
    for name, needs, _ in ISA_LEVELS:
        if not set(needs) <= have:
            break
        levels.append(name)
    return levels


def level_index(name: str) -> int:
    """Position of ``name`` in :data:`LEVEL_NAMES`; ValueError naming the known levels otherwise."""
    key = name.upper()
    if key not in LEVEL_NAMES:
        raise ValueError(f"ISA level {name!r} is not one of {', '.join(LEVEL_NAMES)}")
    return LEVEL_NAMES.index(key)


def aten_capability(level: str) -> str:
    return dict((n, cap) for n, _, cap in ISA_LEVELS)[level.upper()]


def effective_isa(flags, env=None) -> str | None:
    """The highest level oneDNN uses: this CPU's best, lowered by ``ONEDNN_MAX_CPU_ISA`` if set.
    ``None`` on CPUs without AVX2 (and on non-x86 machines)."""
    env = os.environ if env is None else env
    levels = cpu_isa_levels(flags)
    if not levels:
        return None
    cap = cap_in(env).upper()
    if cap in LEVEL_NAMES and LEVEL_NAMES.index(cap) < LEVEL_NAMES.index(levels[-1]):
        return cap
    return levels[-1]


def _backend_name(value) -> str:
    name = getattr(value, "name", None) or str(value)
    if name in ("???", "") or name.startswith("_ConvBackend.???"):
        return _UNNAMED_BACKENDS.get(int(getattr(value, "value", -1)), f"backend#{getattr(value, 'value', '?')}")
    return name.rsplit(".", 1)[-1]


def _ints(value, nd: int) -> list[int] | None:
    if isinstance(value, int):
        return [value] * nd
    if isinstance(value, (tuple, list)) and all(isinstance(v, int) for v in value):
        return list(value) if len(value) == nd else None
    return None


def _raw_arguments(case) -> tuple | None:
    """The call's own per-dimension arguments, for configurations torch's rules reject (the
    backend query still answers for most: that is the path that accepted or rejected the call)."""
    nd = case.nd
    args = (_ints(case.stride, nd), _ints(case.padding, nd), _ints(case.dilation, nd),
            _ints(case.output_padding, nd) if case.transposed else [0] * nd)
    return None if any(a is None for a in args) else args + (case.groups,)


def conv_backend(case, x, w, b) -> str | None:
    """The ATen backend torch picks for ``case`` on tensors ``x``, ``w``, ``b`` (their dtype, layout and
    device), or None when the private API is missing or refuses the arguments. Unbatched inputs get a
    batch of one; module-only cases are asked about the call torch's module makes (padding applied
    by F.pad for non-'zeros' modes, ``output_size`` turned into output_padding)."""
    from ..definition.errors import ConvConfigError
    try:
        import torch
        select = torch._C._select_conv_backend
    except Exception:
        return None
    try:
        if x.dim() == case.nd + 1:
            x = x.unsqueeze(0)
        try:
            cfg = case.config()
        except ConvConfigError:
            args = _raw_arguments(case)
            if args is None:
                return None
            stride, padding, dilation, opad, groups = args
        else:
            stride, dilation, groups = list(cfg.stride), list(cfg.dilation), cfg.groups
            padding = list(cfg.padding_before)
            opad = list(cfg.output_padding) if case.transposed else [0] * case.nd
            if case.padding_mode != "zeros":
                padding = [0] * case.nd
                x = x.new_zeros(x.shape[:2] + tuple(n + sum(p) for n, p in zip(x.shape[2:], cfg.padding)))
            elif any(pb != pa for pb, pa in cfg.padding):  # asymmetric 'same': torch pads the input first
                padding = [min(pb, pa) for pb, pa in cfg.padding]  # (by the difference, then pads evenly)
                x = x.new_zeros(x.shape[:2] + tuple(n + abs(pa - pb) for n, (pb, pa) in zip(x.shape[2:], cfg.padding)))
        return _backend_name(select(x, w, b, stride, padding, dilation, case.transposed, opad, groups, None))
    except Exception:
        return None


#: the dimension order channels_last lays out, innermost first (torch's is_contiguous(memory_format=...))
_CHANNELS_LAST_ORDER = {4: (1, 3, 2, 0), 5: (1, 4, 3, 2, 0)}


def _dense(shape, stride, order) -> bool:
    """Dense in ``order`` (innermost first) by torch's rule: a dimension of size 1 may have any stride."""
    expected = 1
    for d in order:
        if shape[d] != 1:
            if stride[d] != expected:
                return False
            expected *= shape[d]
    return True


def memory_format(shape, stride) -> str:
    """``contiguous`` (torch's ``is_contiguous()``), ``channels_last`` (``is_contiguous(memory_format=
    torch.channels_last)`` (or ``_3d``) with the strides ``.to(memory_format=...)`` gives), ``channels_last_odd``
    (channels_last-contiguous for torch, but a dimension of size 1 has another stride: legal, never stepped,
    and misread by some oneDNN kernels) or ``other``."""
    shape, stride = tuple(shape), tuple(stride)
    if _dense(shape, stride, tuple(reversed(range(len(shape))))):
        return "contiguous"
    order = _CHANNELS_LAST_ORDER.get(len(shape))
    if order is None or not _dense(shape, stride, order):
        return "other"
    canonical, step = [0] * len(shape), 1
    for d in order:
        canonical[d], step = step, step * shape[d]
    return "channels_last" if tuple(canonical) == stride else "channels_last_odd"


def threads() -> int | None:
    try:
        import torch
        return torch.get_num_threads()
    except Exception:
        return None


@functools.lru_cache(maxsize=1)
def _cpu_flags():
    from .fingerprint import cpu_info
    return cpu_info()["flags"]


def path(backend: str | None, device: str = "cpu") -> dict:
    """The execution path of one call in this process: backend, oneDNN ISA level and cap, ATen capability,
    torch threads (CPU); backend and device (CUDA)."""
    out = {"backend": backend, "device": device}
    if device == "cpu":
        out["isa"] = effective_isa(_cpu_flags())
        out["isa_cap"] = cap_in(os.environ)
        try:
            import torch
            out["aten"] = torch.backends.cpu.get_cpu_capability()
        except Exception:
            out["aten"] = None
        out["threads"] = threads()
    return out


def compiled_phrase(p: dict) -> str:
    """``torch.compile default: forward extern_kernels.convolution + 2 generated; backward ...`` for a
    compiled call's path (:mod:`conv_oracle.targets.compiled` fills ``compile`` and ``inductor``)."""
    steps = []
    for step, calls in (p.get("inductor") or {}).items():
        if step == "eager":
            steps.append("dynamo fell back to eager")
            continue
        ops = [c for c in calls if not c.startswith("cpp_")]
        generated = len(calls) - len(ops)
        steps.append(f"{step} {' + '.join(ops) or 'no op'}" + (f" + {generated} generated" if generated else ""))
    return f"torch.compile {p.get('compile')}" + (f": {'; '.join(steps)}" if steps else " (no code generated)")


def describe(p: dict | None) -> str:
    """``backend Mkldnn, ISA AVX512_CORE_BF16 (cap ALL), ATen AVX512, 2 threads`` (and the operands'
    ``strides input (8, 1, 4)+0 weight ...`` when the path has them)."""
    if not p:
        return "path unknown"
    parts = [f"backend {p.get('backend') or 'unknown'}"]
    if p.get("compile"):
        parts.append(compiled_phrase(p))
    if p.get("device", "cpu") == "cpu":
        parts.append(f"ISA {p.get('isa')} (cap {p.get('isa_cap')})")
        parts.append(f"ATen {p.get('aten')}")
        parts.append(f"{p.get('threads')} threads")
    else:
        parts.append(f"device {p.get('device')}")
    strides = p.get("strides") or {}
    if strides:  # a call's operands as placed: strides + storage offset
        parts.append("strides " + " ".join(f"{n} {tuple(v['stride'])}+{v['offset']}" for n, v in strides.items()))
    return ", ".join(parts)
