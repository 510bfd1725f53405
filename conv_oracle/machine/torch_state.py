"""The torch state of this process that decides which kernels run and what a call computes: a call
that changes it (a target switching oneDNN off, lowering the thread count, changing the default
dtype) changes every later call in the process, so a supervised worker reads it before and after
each call (:func:`conv_oracle.checks.isolation.twice`). Torch only inside functions."""

from __future__ import annotations

import sys

#: label -> how to read it (torch given); the labels are what a "changed" message names
_READERS = {
    "threads": lambda t: t.get_num_threads(),
    "mkldnn enabled": lambda t: bool(t.backends.mkldnn.enabled),
    "cpu capability": lambda t: t.backends.cpu.get_cpu_capability(),
    "cuda matmul allow_tf32": lambda t: bool(t.backends.cuda.matmul.allow_tf32),
    "cudnn allow_tf32": lambda t: bool(t.backends.cudnn.allow_tf32),
    "default dtype": lambda t: str(t.get_default_dtype()).replace("torch.", ""),
    "grad enabled": lambda t: bool(t.is_grad_enabled()),
}


def snapshot() -> dict:
    """The state, label -> value ({} before torch is imported; a value torch cannot give is None)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return {}
    out = {}
    for label, read in _READERS.items():
        try:
            out[label] = read(torch)
        except Exception:
            out[label] = None
    return out


def changes(before: dict, after: dict) -> list[str]:
    """What differs, one ``"label: old -> new"`` each (``"mkldnn enabled: True -> False"``); nothing
    when either side was read before torch was imported (a call that imports torch changes nothing)."""
    if not before or not after:
        return []
    return [f"{k}: {before.get(k)!r} -> {after.get(k)!r}" for k in sorted(set(before) | set(after))
            if before.get(k) != after.get(k)]


def restore(state: dict) -> None:
    """Put back what can be set (an in-process run goes on in the state it had; a worker is replaced)."""
    torch = sys.modules.get("torch")
    if torch is None or not state:
        return
    setters = {
        "threads": torch.set_num_threads,
        "mkldnn enabled": lambda v: setattr(torch.backends.mkldnn, "enabled", v),
        "cuda matmul allow_tf32": lambda v: setattr(torch.backends.cuda.matmul, "allow_tf32", v),
        "cudnn allow_tf32": lambda v: setattr(torch.backends.cudnn, "allow_tf32", v),
        "default dtype": lambda v: torch.set_default_dtype(getattr(torch, v)),
        "grad enabled": torch.set_grad_enabled,
    }
    now = snapshot()
    for label, value in state.items():
        if label in setters and value is not None and now.get(label) != value:
            try:
                setters[label](value)
            except Exception:
                pass
