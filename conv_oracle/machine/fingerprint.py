"""The execution environment, recorded: what decides which convolution kernel computes a result.

:func:`fingerprint` returns a JSON-ready dict: the CPU (vendor, model, the ISA flags that select
kernels), torch's ATen CPU capability, the oneDNN version and the ISA cap in effect, numpy's BLAS,
thread counts and, where CUDA is present, the device, compute capability, cuDNN version and TF32
settings. It never raises: a fact that cannot be read is recorded as ``None`` (or an ``error`` string).
:func:`hardware_class` condenses it to what makes float results differ between machines.
"""

from __future__ import annotations

import os
import platform
import re

#: CPU flags (as /proc/cpuinfo spells them) that decide which oneDNN / ATen kernels run
X86_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16",
             "amx_tile", "amx_bf16", "amx_int8", "avx_vnni")
ARM_FLAGS = ("asimd", "asimdhp", "asimddp", "sve", "sve2", "bf16", "i8mm", "sme")

#: environment variables read once when torch loads; each changes the kernels that run
ISA_ENV = ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY", "ONEDNN_DEFAULT_FPMATH_MODE",
           "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE")


def _safe(fn, default=None):
    try:
        return fn()
    except Exception as exc:  # a fingerprint must never stop a run
        return default if default is not None else f"error: {type(exc).__name__}: {exc}"[:200]


def cpu_info(path: str = "/proc/cpuinfo") -> dict:
    """Vendor, model name and the kernel-selecting ISA flags of this CPU (Linux; elsewhere platform's)."""
    info = {"arch": platform.machine(), "vendor": None, "model": platform.processor() or None, "flags": [],
            "logical_cpus": os.cpu_count()}
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return info
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    info["vendor"] = fields.get("vendor_id") or fields.get("CPU implementer")
    info["model"] = fields.get("model name") or fields.get("Model") or info["model"]
    present = set((fields.get("flags") or fields.get("Features") or "").split())
    info["flags"] = [f for f in X86_FLAGS + ARM_FLAGS if f in present]
    return info


def onednn_version(config_text: str) -> str | None:
    """oneDNN's version from ``torch.__config__.show()`` ("MKL-DNN v3.12.0" or "oneDNN v3.x")."""
    m = re.search(r"(?:MKL-DNN|oneDNN)\s+v?([0-9][0-9.]*)", config_text)
    return m.group(1) if m else None


def _torch() -> dict:
    import torch
    out = {"version": torch.__version__, "git": getattr(torch.version, "git_version", "")[:12],
           "build": f"cuda {torch.version.cuda}" if torch.version.cuda else "cpu"}
    out["cpu_capability"] = _safe(lambda: torch.backends.cpu.get_cpu_capability())
    out["threads"] = _safe(torch.get_num_threads)
    out["interop_threads"] = _safe(torch.get_num_interop_threads)
    out["mkldnn"] = {"available": _safe(torch.backends.mkldnn.is_available),
                     "enabled": _safe(lambda: bool(torch.backends.mkldnn.enabled)),
                     "version": _safe(lambda: onednn_version(torch.__config__.show()))}
    out["deterministic"] = _safe(torch.are_deterministic_algorithms_enabled)
    out["cuda"] = _safe(_cuda)
    return out


def tf32_settings() -> dict:
    """cuDNN conv / matmul TF32 settings through torch's ``fp32_precision`` API where it exists, the
    legacy ``allow_tf32`` flags otherwise. Never raises (recent torch raises when the two APIs are mixed)."""
    import torch
    conv = getattr(getattr(torch.backends, "cudnn", None), "conv", None)
    precision = _safe(lambda: conv.fp32_precision) if conv is not None and hasattr(conv, "fp32_precision") else None
    if isinstance(precision, str) and not precision.startswith("error"):
        return {"api": "fp32_precision", "cudnn_conv": precision,
                "matmul": _safe(lambda: torch.backends.cuda.matmul.fp32_precision)}
    return {"api": "allow_tf32", "cudnn_conv": _safe(lambda: "tf32" if torch.backends.cudnn.allow_tf32 else "ieee"),
            "matmul": _safe(lambda: "tf32" if torch.backends.cuda.matmul.allow_tf32 else "ieee")}


def cuda_tf32_enabled() -> bool:
    """Whether cuDNN convolutions run float32 as TF32 by the current settings (False if unreadable)."""
    try:
        return tf32_settings()["cudnn_conv"] == "tf32"
    except Exception:
        return False


def _cuda() -> dict | None:
    import torch
    if not torch.cuda.is_available():
        return None
    return {"device": torch.cuda.get_device_name(), "capability": list(torch.cuda.get_device_capability()),
            "cudnn": _safe(torch.backends.cudnn.version), "tf32": tf32_settings(),
            "benchmark": _safe(lambda: bool(torch.backends.cudnn.benchmark))}


def _numpy() -> dict:
    import numpy as np
    out = {"version": np.__version__, "blas": None}
    try:
        from numpy.__config__ import CONFIG  # numpy >= 1.26
        blas = CONFIG.get("Build Dependencies", {}).get("blas", {})
        out["blas"] = f"{blas.get('name')} {blas.get('version')}".strip()
    except Exception:
        pass
    try:
        import threadpoolctl
        pools = threadpoolctl.threadpool_info()
        out["blas_threads"] = [{"api": p.get("internal_api"), "threads": p.get("num_threads"),
                                "arch": p.get("architecture")} for p in pools if p.get("user_api") == "blas"]
    except Exception:
        pass
    return out


def fingerprint(with_torch: bool = True) -> dict:
    """The execution environment as a JSON-ready dict (never raises)."""
    fp = {"python": platform.python_version(), "platform": platform.platform(), "cpu": cpu_info(),
          "env": {k: os.environ[k] for k in ISA_ENV if k in os.environ}}
    fp["numpy"] = _safe(_numpy)
    if with_torch:
        fp["torch"] = _safe(_torch)
    return fp


def cap_in(env) -> str:
    """The oneDNN ISA cap an environment sets: ``ONEDNN_MAX_CPU_ISA``, else its older name
    ``DNNL_MAX_CPU_ISA``, else ``'ALL'``."""
    return env.get("ONEDNN_MAX_CPU_ISA") or env.get("DNNL_MAX_CPU_ISA") or "ALL"


def isa_cap(fp: dict) -> str:
    """The oneDNN ISA cap in effect ('ALL' when none is set)."""
    return cap_in(fp.get("env", {}))


def hardware_class(fp: dict) -> str:
    """What makes float results differ between machines, as one short string: architecture, the
    kernel-selecting ISA flags, the ISA cap, ATen's capability and the device, e.g.
    ``x86_64 avx2+avx512f+avx512_bf16 cap=ALL aten=AVX512 cpu``."""
    cpu = fp.get("cpu", {})
    torch_fp = fp.get("torch") if isinstance(fp.get("torch"), dict) else {}
    cuda = torch_fp.get("cuda") if isinstance(torch_fp.get("cuda"), dict) else None
    device = f"cuda sm{''.join(map(str, cuda['capability']))}" if cuda else "cpu"
    flags = "+".join(cpu.get("flags") or []) or "baseline"
    return f"{cpu.get('arch')} {flags} cap={isa_cap(fp)} aten={torch_fp.get('cpu_capability')} {device}"


def summary_line(fp: dict) -> str:
    """One line for headers: CPU, ISA, torch, oneDNN, threads, BLAS."""
    cpu = fp.get("cpu", {})
    t = fp.get("torch") if isinstance(fp.get("torch"), dict) else {}
    mk = t.get("mkldnn") or {}
    line = (f"{cpu.get('vendor')} {cpu.get('model')} [{' '.join(cpu.get('flags') or []) or 'no listed ISA flags'}]; "
            f"torch {t.get('version')} ({t.get('build')}), ATen {t.get('cpu_capability')}, oneDNN {mk.get('version')} "
            f"cap {isa_cap(fp)}, {t.get('threads')} threads; numpy BLAS {(fp.get('numpy') or {}).get('blas')}")
    if t.get("cuda"):
        c = t["cuda"]
        line += f"; CUDA {c.get('device')} sm{c.get('capability')} cuDNN {c.get('cudnn')} TF32 {c.get('tf32')}"
    return line
