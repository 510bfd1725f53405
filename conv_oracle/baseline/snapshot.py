"""Run the corpus on a target and record, per case, what the target did.

Per valid case:

* ``outcome``: accepted, or rejected with the exception's type and first line;
* ``output_shape``;
* ``exact``: operands of small integers (exact in float32 for every partial sum, see
  :func:`~conv_oracle.strategies.exact_magnitude`), with sha256 digests of the float64 bytes of the
  output and of the input / weight / bias gradients (and of the operands themselves). Any summation
  order gives these results bit for bit, so a changed digest on unchanged operands is a real change;
* ``bound_share``: random float operands; the largest share of the derived rounding bound used,
  forward in float32 / float64 / float16 / bfloat16 and the three gradients in float32;
* ``coverage``: per float dtype, the observed skipped input pixels (conv) or bias-only output cells
  (transposed), as :func:`~conv_oracle.harness.records.mask_record`, with NaN / Inf on the untouched part
  (the property's ``nonfinite`` half);
* ``pinned``: for entries with explicit operands (the suite's findings), per dtype, the output digest
  and whether the cells no input reaches hold exactly the bias;
* ``threads``: the same exact-mode digests, float bound shares and coverage at N threads
  (:func:`threads_n`); exact results that depend on the thread count are a mismatch;
* ``verdict`` / ``mismatches``: each property of :mod:`conv_oracle.checks.properties` that disagreed with
  the oracle, with the first lines of its message. A failing property never aborts the snapshot.

Every call of the target runs in its isolated worker (:mod:`conv_oracle.checks.isolation`), at the
thread count of the pass: a target that crashes or hangs on a case gets that case's record (the
exact call's crash as ``exact`` in ``mismatches``, the outcome ``rejected`` with the crash as its
error) and the snapshot goes on.

Per invalid call: rejected (error type and message; a crash or hang as its error, with a mismatch) or
accepted (a mismatch), in float32, and per other dtype in ``by_dtype``.
The main pass runs torch single-threaded; the N-thread pass makes oneDNN pick its parallel kernels.
The snapshot carries :func:`conv_oracle.machine.fingerprint.fingerprint` and its ``hardware_class``.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
import platform
import time

import numpy as np

from .. import __version__
from ..checks import properties
from ..checks.failure_kinds import FailureKind
from ..checks.isolation import Example, isolated
from ..checks.operands import exactness, make_operands
from ..definition.dtypes import FLOAT_DTYPES
from ..harness.records import mask_record
from ..machine import fingerprint as fingerprint_mod
from ..targets import Target
from ..targets import execution
from . import corpus as corpus_mod
from .mismatch_names import THREAD_SUFFIX, build as mismatch_name
from .schema import MISMATCH, PASS, SCHEMA, VERSION

EXACT_DTYPE = "float32"
GRADIENT_DTYPES = ("float32",)
MESSAGE_LINES = 3
LINE_CHARS = 240
DIGEST_CHARS = 16


def digest(*arrays) -> str:
    """sha256 over the shape and float64 bytes of each array (None counts as absent), shortened.

    Values are compared as the properties compare them: -0.0 counts as 0.0 (its sign depends on the
    summation order) and every NaN as the same NaN."""
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            h.update(b"none;")
            continue
        a = np.array(a, dtype=np.float64, order="C")
        a[a == 0] = 0.0
        a[np.isnan(a)] = np.nan
        h.update(repr(a.shape).encode() + b";")
        h.update(a.tobytes())
    return h.hexdigest()[:DIGEST_CHARS]


def first_lines(exc: BaseException, n: int = MESSAGE_LINES) -> str:
    """What a property failure says, without the call / target header (the record has the call, and
    the target's name must not make two snapshots differ) and without the reproduction snippet."""
    lines = str(exc).split("\nReproduce with target ")[0].splitlines()
    if len(lines) > 2 and lines[1].lstrip().startswith("target="):  # CheckContext.header()
        lines = lines[2:]
    return "\n".join([line.strip()[:LINE_CHARS] for line in lines if line.strip()][:n])


def error_text(exc: BaseException) -> str:
    """``Type: first line`` as :func:`conv_oracle.checks.properties.error_parity` reports it."""
    msg = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{type(exc).__name__}: {msg}"


def threads_n() -> int:
    """The thread count of the second pass: 2 to 4, by the cores present (exact results must not care)."""
    return max(2, min(4, os.cpu_count() or 2))


@contextlib.contextmanager
def threads(n: int):
    import torch
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def single_threaded():
    return threads(1)


def environment(target: Target) -> dict:
    """torch version and build, backend flags, CPU capability, cuDNN where present, and the rest."""
    import torch
    env = {"torch_version": torch.__version__, "torch_git": torch.version.git_version,
           "torch_cuda": torch.version.cuda, "build": "cuda" if torch.version.cuda else "cpu",
           "cuda_available": torch.cuda.is_available(),
           "mkldnn_available": torch.backends.mkldnn.is_available(), "mkldnn_enabled": torch.backends.mkldnn.enabled,
           "cpu_capability": torch.backends.cpu.get_cpu_capability(),
           "cudnn_version": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
           "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
           "cuda_matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
           "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
           "threads": 1, "numpy": np.__version__, "python": platform.python_version(),
           "platform": platform.platform(), "machine": platform.machine(), "conv_oracle": __version__}
    env.update(_libraries(torch.__config__.show()))
    if torch.cuda.is_available() and target.device == "cuda":
        env["gpu"] = torch.cuda.get_device_name()
        env["gpu_capability"] = ".".join(map(str, torch.cuda.get_device_capability()))
    return env


def _libraries(config: str) -> dict:
    """oneDNN (as ``v3.12.0``; parsed by :func:`~conv_oracle.machine.fingerprint.onednn_version`) and MKL
    versions from ``torch.__config__.show()`` (None where absent)."""
    onednn = fingerprint_mod.onednn_version(config)
    found = {"onednn": f"v{onednn}" if onednn else None, "mkl": None}
    for line in config.splitlines():
        line = line.strip(" -")
        if "Math Kernel Library" in line:
            found["mkl"] = line.split("Version", 1)[-1].split("for Intel")[0].strip()
    return found


def _check(rec: dict, name: str, fn, *args, **kwargs):
    """Run one property; on a mismatch (or an unexpected error) record it and return None."""
    try:
        return fn(*args, **kwargs)
    except AssertionError as exc:
        rec["mismatches"][name] = first_lines(exc)
        return getattr(exc, "observations", None) and {"failed": True, **exc.observations}
    except Exception as exc:  # a target that raises on a case it accepted elsewhere: recorded, not fatal
        rec["mismatches"][name] = f"raised {error_text(exc)}"
        return None


def _call_example(target, case, x, w, b, dtype, x_layout, w_layout, **_) -> Example:
    return Example(case, x, w, b, dtype, x_layout, w_layout)


@isolated(describe=_call_example)
def exact_call(target: Target, case, x, w, b, dtype: str, x_layout: str, w_layout: str, seed: int, m: int) -> dict:
    """The exact-mode call and its backward pass, in the target's worker: ``{"rejected": error}``, or
    the output shape, the digests of operands, output and gradients, and ``backward``: the error the
    backward pass raised (None when it ran)."""
    import torch
    try:
        call = execution.run(target, case, x, w, b, dtype, x_layout, w_layout, requires_grad=True)
    except Exception as exc:  # any exception is a rejection; REJECTIONS are the expected kinds
        return {"rejected": error_text(exc)}
    shape = tuple(call.out.shape)
    gy = np.random.default_rng(seed + 1).integers(-m, m + 1, size=shape).astype(np.float64)  # as gradients()
    exact = {"dtype": dtype, "operands": digest(x, w, b, gy), "output": digest(execution.to_numpy(call.out))}
    result = {"shape": list(shape), "exact": exact, "backward": None}
    try:
        execution.backward(target, call.out,
                           torch.tensor(gy, dtype=torch.float64).to(device=target.device, dtype=call.out.dtype))
        for wrt, t in (("input", call.x), ("weight", call.w), ("bias", call.b)):
            if t is not None:
                exact[f"grad_{wrt}"] = digest(execution.to_numpy(t.grad)) if t.grad is not None else None
    except Exception as exc:
        result["backward"] = error_text(exc)
    return result


def _exact_run(target: Target, entry: corpus_mod.Entry, rec: dict, at_n: bool = False):
    """Accept or reject; on accept, the shape and digests of output and gradients. Returns
    ``(operands, dtype, exact)``; operands None when rejected or when the call crashed."""
    case = entry.case
    m = exactness(case, EXACT_DTYPE, target, gradients=True).magnitude
    dtype = EXACT_DTYPE if m else "float64"
    m = m or exactness(case, "float64", gradients=True).magnitude
    layout = "expanded" if "expanded" in (entry.x_layout, entry.w_layout) else "contiguous"
    ops = make_operands(case, "exact", entry.seed, m, layout)
    try:
        got = exact_call(target, case, ops.x, ops.w, ops.b, dtype, entry.x_layout, entry.w_layout, ops.seed, m)
    except AssertionError as exc:  # isolation: the target crashed, hung or returned uninitialised memory
        text = first_lines(exc)
        if not at_n:  # the error: what happened (``crash: [exact_call] the target crashed: ... SIGSEGV ...``)
            kind = (getattr(exc, "details", None) or {}).get("kind") or "crash"
            what = next((line for line in text.splitlines() if line.startswith("[")), text.splitlines()[-1])
            rec.update(outcome="rejected", error=f"{kind}: {what}"[:200])
        rec["mismatches"][mismatch_name("exact", threads=at_n)] = text
        return None, dtype, None
    if "rejected" in got:
        if not at_n:
            rec.update(outcome="rejected", error=got["rejected"])
        rec["mismatches"][mismatch_name("acceptance", threads=at_n)] = (f"rejected a valid configuration: "
                                                                        f"{got['rejected']}")
        return None, dtype, None
    if not at_n:
        rec.update(outcome="accepted", output_shape=got["shape"])
    if got["backward"] is not None:
        rec["mismatches"][mismatch_name("backward", threads=at_n)] = f"raised {got['backward']}"
    return ops, dtype, got["exact"]


def _float_shares(target: Target, entry: corpus_mod.Entry, rec: dict, at_n: bool, gradient_dtypes) -> dict:
    """Per float dtype: the share of the rounding bound used (None where the property failed)."""
    case, xl, wl = entry.case, entry.x_layout, entry.w_layout
    wrts = ["input", "weight"] + (["bias"] if case.bias else [])
    layout = "expanded" if "expanded" in (xl, wl) else "contiguous"
    fops = make_operands(case, "float", entry.seed, 1, layout)
    shares = {}
    for dt in FLOAT_DTYPES:
        if dt not in target.dtypes:
            continue
        got = {}
        r = _check(rec, mismatch_name("forward", dt, threads=at_n), properties.forward, target, case, fops, dt, xl, wl)
        got["output"] = r["bound_share"] if r else None
        if r and (r.get("path") or {}).get("backend"):  # which kernel ran it (informational)
            rec.setdefault("backends" + (THREAD_SUFFIX if at_n else ""), {})[dt] = r["path"]["backend"]
        if dt in gradient_dtypes:
            for wrt in wrts:
                r = _check(rec, mismatch_name("grad", dt, wrt, threads=at_n), properties.gradients, target, case, fops,
                           dt, wrt, xl, wl)
                got[f"grad_{wrt}"] = r["bound_share"] if r else None
        shares[dt] = {k: (None if v is None else round(float(v), 6)) for k, v in got.items()}
    return shares


def _coverage(target: Target, entry: corpus_mod.Entry, rec: dict, at_n: bool) -> dict:
    """Per float dtype: the observed skipped / bias-only mask, and that NaN / Inf there (conv) or
    elsewhere (transposed) leaves them untouched."""
    case = entry.case
    prop = properties.bias_only_cells if case.transposed else properties.skipped_pixels
    out = {}
    for dt in FLOAT_DTYPES:
        if dt not in target.dtypes:
            continue
        r = _check(rec, mismatch_name("coverage", dt, threads=at_n), prop, target, case, dt, entry.seed, entry.x_layout,
                   entry.w_layout)
        out[dt] = {"property": prop.__name__,
                   "observed": mask_record(r["observed"]) if r and r.get("observed") is not None else None}
    return out


def _pinned(target: Target, entry: corpus_mod.Entry, rec: dict, at_n: bool) -> dict:
    """A finding's explicit operands, per dtype: the output digest, and whether every cell no input
    reaches is exactly the bias (zero without one), bit for bit."""
    case = entry.case
    x, w = (np.array(a, dtype=np.float64) for a in entry.operands)
    b = np.zeros(case.bias_shape) if case.bias else None
    out = {}
    for dt in FLOAT_DTYPES:
        if dt not in target.dtypes:
            continue
        try:
            got = pinned_call(target, case, x, w, b, dt, entry.x_layout, entry.w_layout)
        except AssertionError as exc:  # isolation: the target crashed, hung or returned uninitialised memory
            rec["mismatches"][mismatch_name("pinned", dt, threads=at_n)] = first_lines(exc)
            out[dt] = None
            continue
        except Exception as exc:
            rec["mismatches"][mismatch_name("pinned", dt, threads=at_n)] = f"raised {error_text(exc)}"
            out[dt] = None
            continue
        if got["bad"]:
            rec["mismatches"][mismatch_name("pinned", dt, threads=at_n)] = (
                f"{got['bad']} of {got['cells']} cells that no input reaches are {got['first_bad']}, "
                f"not exactly the bias 0")
        out[dt] = {"output": got["output"], "untouched_exact": not got["bad"]}
    return out


@isolated(describe=_call_example)
def pinned_call(target: Target, case, x, w, b, dtype: str, x_layout: str, w_layout: str) -> dict:
    """A finding's call, in the target's worker: the output digest and the cells no input reaches
    (``cells``), how many of them are not exactly the bias 0 (``bad``) and the first such value."""
    got = execution.to_numpy(execution.run(target, case, x, w, b, dtype, x_layout, w_layout).out)
    cells = got[(Ellipsis,) + tuple(np.nonzero(case.untouched_mask()))]
    bad = cells[cells.view(np.int64) != 0]
    return {"output": digest(got), "cells": int(cells.size), "bad": int(bad.size),
            "first_bad": repr(bad.flat[0]) if bad.size else None}


def run_valid(target: Target, entry: corpus_mod.Entry, rec: dict) -> None:
    """Every property at 1 thread, then the same at N threads (``threads``): exact digests must agree."""
    case, xl, wl = entry.case, entry.x_layout, entry.w_layout
    ops, dtype, exact = _exact_run(target, entry, rec)
    if ops is None:
        return
    rec["exact"] = exact
    wrts = ["input", "weight"] + (["bias"] if case.bias else [])
    _check(rec, mismatch_name("output_shape"), properties.output_shape, target, case)
    _check(rec, mismatch_name("forward", exact=True), properties.forward, target, case, ops, dtype, xl, wl)
    for wrt in wrts:
        _check(rec, mismatch_name("grad", wrt=wrt, exact=True), properties.gradients, target, case, ops, dtype, wrt,
               xl, wl)
    rec["bound_share"] = _float_shares(target, entry, rec, False, GRADIENT_DTYPES)
    rec["coverage"] = _coverage(target, entry, rec, False)
    if entry.operands:
        rec["pinned"] = _pinned(target, entry, rec, False)
    n = threads_n()
    with threads(n):
        _, _, exact_n = _exact_run(target, entry, rec, True)
        if exact_n is not None and exact_n != exact:
            differs = sorted(k for k in exact if exact.get(k) != exact_n.get(k))
            rec["mismatches"][mismatch_name("exact", threads=True)] = (f"exact-mode {differs} digests differ between 1 "
                                                                  f"and {n} threads")
        shares_n = _float_shares(target, entry, rec, True, ())
        coverage_n = _coverage(target, entry, rec, True)
        if entry.operands:
            pinned_n = _pinned(target, entry, rec, True)
            if pinned_n != rec["pinned"]:
                rec["mismatches"].setdefault(mismatch_name("pinned", threads=True),
                                             f"the finding's output differs between 1 and {n} threads")
    if coverage_n != rec["coverage"]:
        rec["mismatches"].setdefault(mismatch_name("coverage", threads=True),
                                     f"observed coverage differs between 1 and {n} threads")
    rec["threads"] = {"n": n, "bound_share": shares_n}


#: failure kinds of a call that returned nothing (the worker died, hung or ran out of memory)
_NO_RESULT = (FailureKind.CRASH.value, FailureKind.HANG.value, FailureKind.MEMORY.value)


def _reject(target: Target, entry: corpus_mod.Entry, dtype: str) -> tuple[str, str | None, str | None]:
    """``(outcome, error, mismatch)`` of one invalid call in ``dtype``."""
    try:
        got = properties.error_parity(target, entry.invalid_call(), dtype)
    except AssertionError as exc:
        details = getattr(exc, "details", None) or {}
        if details.get("target_error"):  # rejected for another rule's reason or with an undeclared type
            return "rejected", details["target_error"], None
        if details.get("kind") in _NO_RESULT:  # no result came back: not an acceptance (as for valid cases)
            return "rejected", f"{details['kind']}: {first_lines(exc).splitlines()[0]}"[:200], first_lines(exc)
        return "accepted", None, first_lines(exc)
    except Exception as exc:  # rejected with an exception type error_parity does not expect: still a rejection
        return "rejected", error_text(exc), None
    return "rejected", got["target_error"], None


def run_invalid(target: Target, entry: corpus_mod.Entry, rec: dict) -> None:
    """float32 in ``outcome`` / ``error``; every other dtype in ``by_dtype``."""
    outcome, error, mismatch = _reject(target, entry, EXACT_DTYPE)
    rec.update(outcome=outcome, error=error)
    if mismatch:
        rec["mismatches"][mismatch_name("acceptance")] = mismatch
    by_dtype = {}
    for dt in FLOAT_DTYPES:
        if dt == EXACT_DTYPE or dt not in target.dtypes:
            continue
        o, e, mm = _reject(target, entry, dt)
        by_dtype[dt] = {"outcome": o, "error": e}
        if mm:
            rec["mismatches"][mismatch_name("acceptance", dt)] = mm
    rec["by_dtype"] = by_dtype


def run_entry(target: Target, entry: corpus_mod.Entry) -> dict:
    """One case's record (never raises for what the target does)."""
    rec = {"id": entry.id, "kind": entry.kind, "source": entry.source, "label": entry.label,
           "case": entry.case.to_dict(), "x_layout": entry.x_layout, "w_layout": entry.w_layout, "mismatches": {}}
    if entry.rule:
        rec.update(rule=entry.rule, shapes={"input": list(entry.input_shape), "weight": list(entry.weight_shape),
                                            "bias": None if entry.bias_shape is None else list(entry.bias_shape)})
    reason = execution.supports(target, entry.case)
    if reason:
        rec.update(outcome="unsupported", reason=reason)
    elif entry.rule:
        run_invalid(target, entry, rec)
    else:
        run_valid(target, entry, rec)
    rec["verdict"] = MISMATCH if rec["mismatches"] else PASS
    return rec


def snapshot(target: Target, entries: list | None = None, progress=None) -> dict:
    """Run ``entries`` (default: the whole corpus) on ``target``; the baseline as a dict."""
    import warnings
    entries = corpus_mod.build() if entries is None else entries
    start = time.perf_counter()
    cases = []
    with single_threaded(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. torch's note on padding='same' with even kernels
        for i, entry in enumerate(entries):
            cases.append(run_entry(target, entry))
            if progress:
                progress(i + 1, len(entries))
    seconds = time.perf_counter() - start
    count = lambda key, value: sum(1 for c in cases if c[key] == value)  # noqa: E731
    fp = fingerprint_mod.fingerprint()
    return {
        "schema": SCHEMA, "version": VERSION,
        "fingerprint": fp, "hardware_class": fingerprint_mod.hardware_class(fp),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "target": {"name": target.name, "description": target.description, "device": target.device,
                   "tf32": target.tf32, "modules": target.modules},
        "environment": environment(target),
        "corpus": {"version": corpus_mod.CORPUS_VERSION, "size": len(entries), "digest": corpus_mod.digest(entries)},
        "settings": {"exact_dtype": EXACT_DTYPE, "float_dtypes": [d for d in FLOAT_DTYPES if d in target.dtypes],
                     "gradient_dtypes": list(GRADIENT_DTYPES), "digest": f"sha256[:{DIGEST_CHARS}] of float64 bytes",
                     "threads": [1, threads_n()]},
        "summary": {"cases": len(cases), "accepted": count("outcome", "accepted"),
                    "rejected": count("outcome", "rejected"), "unsupported": count("outcome", "unsupported"),
                    "mismatch": count("verdict", MISMATCH), "seconds": round(seconds, 2)},
        "cases": cases,
    }


def baseline_name(snap: dict) -> str:
    """The file name the project gives a baseline: ``torch-<version>-<variant>.json``, the variant
    ``cpu`` for target ``torch`` and the target's name without ``torch-`` otherwise
    (``torch-cuda-no-tf32`` -> ``cuda-no-tf32``)."""
    version = snap["environment"]["torch_version"].split("+")[0]
    name = snap["target"]["name"]
    variant = "cpu" if name == "torch" else name.removeprefix("torch-")
    variant = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in variant)
    return f"torch-{version}-{variant}.json"


def hardware_slug(hardware_class: str | None) -> str:
    """A folder name for a hardware class: ``x86_64 avx2+fma cap=ALL aten=AVX2 cpu`` ->
    ``x86_64_avx2-fma_cap-ALL_aten-AVX2_cpu``."""
    text = hardware_class or "unknown"
    return "".join(ch if ch.isalnum() or ch in "_." else "_" if ch == " " else "-" for ch in text)
