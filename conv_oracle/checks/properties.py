"""The differential properties, as plain functions: each runs one case on a target, compares it
with the oracle and raises AssertionError with a readable message on a mismatch. The pytest suite,
``conv-oracle snapshot`` and other projects' tests all call these.

Each runs in the target's supervised worker process, twice under different heap poisons
(``isolation.isolated``): a crash, a hang or uninitialised memory fails the example like a mismatch.

Each returns a dict of observations (bound share used, observed masks, ...) for the records; the
coverage properties also attach theirs to the AssertionError they raise (``error.observations``).
"""

from __future__ import annotations

import numpy as np

from ..definition.case import Case
from ..definition.dtypes import FACTS, facts
from ..definition.errors import ConvConfigError
from ..definition.invalid_calls import InvalidCall, named_rules
from ..definition.params import per_dim
from ..oracle.adjoints import conv_grads, conv_transpose_grads
from ..oracle.applied import oracle_forward
from ..targets import MissingFunction, Target, execution
from .comparison import (CheckContext, assert_exact, assert_within, comparison_bound, event, precision_hint,
                         suspicious_precision, vacuous_reason)
from .failure_kinds import FailureKind
from .isolation import Example, isolated
from .operands import Operands, exactness, forward_terms, gradient_terms, output_gradient
from .verdicts import Verdict


class Unsupported(LookupError):
    """The target's capability rules this check out (a dtype or autograd it does not declare):
    callers skip with the reason, never fail. Raised only by :func:`_require`, before the target is
    called; distinct from :class:`~conv_oracle.targets.MissingFunction` (the target lacks the function),
    and no property catches LookupError as a whole: a target's own KeyError / IndexError is judged."""


def _require(target: Target, dtype: str, autograd: bool = False) -> None:
    why = target.unsupported(dtype, autograd)
    if why:
        raise Unsupported(why)


def _example(case: Case, dtype: str, ops: Operands | None = None, x_layout="contiguous", w_layout="contiguous",
             wrt: str | None = None, **_) -> Example:
    """What a property checks, for isolation's failures (``@isolated(describe=...)``): its arguments by
    name; operands of zeros where the property makes its own."""
    if ops is not None:
        x, w, b = ops.x, ops.w, ops.b
    else:
        x, w = np.zeros(case.input_shape), np.zeros(case.weight_shape)
        b = np.zeros(case.bias_shape) if case.bias else None
    return Example(case, x, w, b, dtype or "float32", x_layout or "contiguous", w_layout or "contiguous", wrt, ops)


def _invalid_example(call: InvalidCall, dtype: str, **_) -> Example:
    """:func:`_example` for :func:`error_parity`: the invalid call's configuration, zero operands of its shapes."""
    b = None if call.bias_shape is None else np.zeros(call.bias_shape)
    return Example(call.case, np.zeros(call.input_shape), np.zeros(call.weight_shape), b, dtype or "float32")


def _ctx(case, target, dtype, mode, x, w, b, call=None, **kw) -> CheckContext:
    return CheckContext(case, target.name, dtype, mode, x, w, b,
                        call.x_layout if call else "contiguous", call.w_layout if call else "contiguous",
                        target.device, path=call.path if call else None, **kw)


def _run(target: Target, case: Case, x, w, b, dtype, x_layout="contiguous", w_layout="contiguous",
         requires_grad=False) -> execution.Call:
    """``execution.run``, with an exception on this valid configuration turned into a readable failure."""
    __tracebackhide__ = True
    try:
        call = execution.run(target, case, x, w, b, dtype, x_layout, w_layout, requires_grad)
    except MissingFunction:  # not a verdict; a KeyError / IndexError of the target's own is one (below)
        raise
    except Exception as exc:
        ctx = CheckContext(case, target.name, dtype, "valid-config", x, w, b, x_layout, w_layout, target.device,
                           path=getattr(exc, "conv_path", None))
        raise ctx.failure(f"raised {type(exc).__name__} on a valid configuration: {_first_line(exc)}",
                          kind=FailureKind.REJECTED_VALID) from exc
    _guard_inputs(target, case, dtype, call)
    return call


def _backward(target: Target, case: Case, dtype: str, call: execution.Call, grad) -> None:
    """``execution.backward``, with an exception on this valid configuration turned into a readable failure
    (a compiled target compiles its backward pass here)."""
    __tracebackhide__ = True
    try:
        execution.backward(target, call.out, grad, call.path)
    except Exception as exc:
        raise _ctx(case, target, dtype, "valid-config", *call.operands(), call).failure(
            f"raised {type(exc).__name__} in the backward pass on a valid configuration: {_first_line(exc)}",
            kind=FailureKind.REJECTED_VALID) from exc


def _first_line(exc: Exception) -> str:
    """The exception's first line, with the next one when it only announces it (``backend='inductor' raised:``)."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].rstrip().endswith(":"):
        return f"{lines[0].strip()} {lines[1].strip()}"
    return lines[0] if lines else ""


def _guard_inputs(target: Target, case: Case, dtype: str, call: execution.Call) -> None:
    """A target must not write its operands: the oracle computes from their values before the call."""
    __tracebackhide__ = True
    changed = call.modified()
    if changed:
        raise _ctx(case, target, dtype, "guard", *call.operands(), call).failure(
            f"modified its {' and '.join(changed)} in place (the operands' values after the call differ from "
            f"those it was given)", kind=FailureKind.MODIFIED_INPUT)


def _bias_abs(case: Case, b) -> np.ndarray | float:
    return 0.0 if b is None else np.abs(b).reshape((-1,) + (1,) * case.nd)


@isolated(describe=_example)
def forward(target: Target, case: Case, ops: Operands, dtype: str, x_layout="contiguous",
            w_layout="contiguous") -> dict:
    """Property 1: the target's output equals the oracle's: bit for bit in exact mode, within the
    rounding bound in float mode. The oracle sees the operands exactly as the target got them (read
    before the call; a target that writes them fails)."""
    __tracebackhide__ = True
    _require(target, dtype)
    call = _run(target, case, ops.x, ops.w, ops.b, dtype, x_layout, w_layout)
    x, w, b = call.operands()
    ctx = _ctx(case, target, dtype, ops.mode, x, w, b, call)
    got_dtype = str(call.out.dtype).replace("torch.", "")
    if got_dtype != dtype:
        raise ctx.failure(f"output dtype {got_dtype}, expected {dtype}", kind=FailureKind.WRONG_SHAPE)
    got = execution.to_numpy(call.out)
    expected = oracle_forward(case, x, w, b)
    result = {"x_layout": call.x_layout, "w_layout": call.w_layout, "output_shape": list(got.shape),
              "path": call.path}
    if ops.mode in ("exact", "probe"):
        if ops.mode == "exact" and not expected.any():
            # still decisive: exactly zero and finite everywhere (a NaN or a garbage value fails);
            # tagged, since a target returning zeros would pass this one
            result["all_zero"] = True
            event("expected output all zero (checked exactly)")
        if ops.mode == "probe":
            result["probe"] = ops.probe
        assert_exact(expected, got, ctx, _probe_explainer(case, x, w, b, expected, dtype) if ops.mode == "probe"
                     else None)
        result["bound_share"] = 0.0
    else:
        P = oracle_forward(case, np.abs(x), np.abs(w), None)
        n, precision = forward_terms(case) + (1 if case.bias else 0), target.precision(dtype)
        bound = comparison_bound(P, _bias_abs(case, b), n, precision)
        vacuous = vacuous_reason(P, _bias_abs(case, b), n, precision, bound)
        if vacuous:
            return _refused(result, vacuous)
        result["bound_share"] = assert_within(expected, got, bound, ctx, P + _bias_abs(case, b))
        signal = suspicious_precision(expected, got, P, _bias_abs(case, b), n, precision, dtype)
        if signal:
            result["suspicious_precision"] = signal
            event("suspicious precision (statistical signal, not a failure)")
    return result


def _refused(result: dict, reason: str) -> dict:
    """Record an example the check cannot judge: not checkable, never a pass."""
    event("not checkable (refused)")
    result.update(verdict=Verdict.NOT_CHECKABLE, refused=reason, bound_share=None)
    return result


def _probe_explainer(case: Case, x, w, b, expected, dtype: str):
    """For a failing precision probe: which narrower operand format reproduces the target's result
    bit for bit (the oracle on operands rounded to that format), as text for the failure."""
    from .operands import round_to

    def explain(got: np.ndarray) -> str:
        p = facts(dtype).mantissa_bits
        narrower = sorted((f.name for f in FACTS.values() if f.mantissa_bits < p),
                          key=lambda name: (-facts(name).mantissa_bits, name))
        # formats of equal width (tf32, float16) round in-range values alike: name every one that matches
        matches = [fmt for fmt in narrower
                   if np.array_equal(oracle_forward(case, round_to(x, fmt), round_to(w, fmt), b), got)]
        if matches:
            return ("precision probe: the result equals the exact one with operands rounded to "
                    + " (or, equally, ".join(matches) + ")" * (len(matches) - 1))
        differ = expected != got
        err = float(np.abs(got - expected)[differ].max())
        cell = np.unravel_index(int(np.argmax(np.where(differ, np.abs(got - expected), -1))), got.shape)
        mag = float(oracle_forward(case, np.abs(x), np.abs(w), None)[cell] + (0 if b is None else abs(b[cell[-case.nd - 1]])))
        return "precision probe: error " + precision_hint(err, mag, dtype)
    return explain


@isolated(describe=_example)
def output_shape(target: Target, case: Case, dtype: str = "float32") -> dict:
    """Property 2: the output shape equals the size formula (geometry, not the oracle's arrays)."""
    __tracebackhide__ = True
    _require(target, dtype)
    from ..definition import geometry
    cfg = case.config()
    x, w = np.zeros(case.input_shape), np.zeros(case.weight_shape)
    b = np.zeros(case.bias_shape) if case.bias else None
    call = _run(target, case, x, w, b, dtype)
    if case.transposed:
        size = geometry.conv_transpose_output_size(cfg.input_size, cfg.kernel_size, cfg.stride,
                                                   cfg.padding_before, cfg.output_padding, cfg.dilation)
    else:
        size = geometry.conv_output_size(cfg.input_size, cfg.kernel_size, cfg.stride, case.padding, cfg.dilation)
    lead = (cfg.batch, cfg.out_channels) if case.batch is not None else (cfg.out_channels,)
    expected = lead + tuple(size)
    got = tuple(call.out.shape)
    if got != expected:
        raise _ctx(case, target, dtype, "shape", x, w, b, call).failure(
            f"shape {got}, but the size formula gives {expected}", kind=FailureKind.WRONG_SHAPE)
    return {"output_shape": list(got), "path": call.path}


def _observing(error: AssertionError, **observations) -> AssertionError:
    """Attach what was observed to a failure (``error.observations``), for callers that record it."""
    error.observations = observations
    return error


def _spatial_all(values: np.ndarray, nd: int) -> np.ndarray:
    """Reduce an ``(..., *spatial)`` boolean array to the spatial mask true in every (n, c)."""
    return values.reshape((-1,) + values.shape[-nd:]).all(axis=0)


PARTS = ("coverage", "nonfinite")


@isolated(describe=_example)
def skipped_pixels(target: Target, case: Case, dtype: str, seed: int = 0, x_layout="contiguous",
                   w_layout="contiguous", parts=PARTS) -> dict:
    """Property 3 (conv). ``coverage``: the input gradient is exactly zero on the predicted skipped
    pixels and non-zero elsewhere (all-ones weights and output gradient). ``nonfinite``: NaN / Inf on
    the skipped pixels leaves every output bit unchanged."""
    __tracebackhide__ = True
    _require(target, dtype, autograd="coverage" in parts)
    import torch
    predicted = case.untouched_mask()
    m = max(1, exactness(case, dtype, target, gradients=True).magnitude)
    rng = np.random.default_rng(seed)
    x = rng.integers(-m, m + 1, size=case.input_shape).astype(np.float64)
    w = np.ones(case.weight_shape)
    b = rng.integers(-m, m + 1, size=case.bias_shape).astype(np.float64) if case.bias else None
    call = _run(target, case, x, w, b, dtype, x_layout, w_layout, requires_grad="coverage" in parts)
    result = {"predicted": predicted, "path": call.path}
    if "coverage" in parts:
        _backward(target, case, dtype, call, torch.ones_like(call.out))
        grad = execution.to_numpy(call.x.grad)
        observed = result["observed"] = _spatial_all(grad == 0, case.nd)
        ctx = _ctx(case, target, dtype, "exact", x, w, b, call, what="grad_input",
                   grad_output=np.ones(tuple(call.out.shape)))
        if not np.array_equal(observed, predicted):
            diff = tuple(int(i) for i in np.argwhere(observed != predicted)[0])
            raise _observing(ctx.failure(
                f"input pixels with zero gradient {np.argwhere(observed).tolist()[:12]} differ from the "
                f"predicted skipped pixels {np.argwhere(predicted).tolist()[:12]}; first difference at "
                f"spatial {diff}: predicted {'skipped' if predicted[diff] else 'read'}, observed "
                f"{'zero' if observed[diff] else 'non-zero'} gradient"), **result)
    if "nonfinite" in parts and not predicted.any():
        return _nothing_to_poison(result, parts, "no skipped input pixel in this configuration: nothing to poison")
    if "nonfinite" in parts:
        clean = execution.to_numpy(call.out)
        for poison in (np.nan, np.inf, -np.inf):
            xp = x.copy()
            xp[(Ellipsis,) + tuple(np.nonzero(predicted))] = poison
            pcall = _run(target, case, xp, w, b, dtype, x_layout, w_layout)
            got = execution.to_numpy(pcall.out)
            if not np.array_equal(got.view(np.int64), clean.view(np.int64)):
                cell = tuple(int(i) for i in np.argwhere(got.view(np.int64) != clean.view(np.int64))[0])
                raise _observing(_ctx(case, target, dtype, "exact", xp, w, b, pcall).failure(
                    f"setting the {int(predicted.sum())} skipped input pixels to {poison} changed the output; first "
                    f"at {cell}: {clean[cell]!r} became {got[cell]!r}", cell, clean[cell], got[cell]), **result)
        result["poisoned"] = True
    return result


def _nothing_to_poison(result: dict, parts, reason: str) -> dict:
    """The poisoning part has no cell to act on: the example is not checkable, unless the coverage part ran."""
    return result if "coverage" in parts else _refused(result, reason)


@isolated(describe=_example)
def bias_only_cells(target: Target, case: Case, dtype: str, seed: int = 0, x_layout="contiguous",
                    w_layout="contiguous", parts=PARTS) -> dict:
    """Property 4 (transposed conv). ``coverage``: with all-ones operands, the cells equal to the bias
    (zero without bias), bit for bit, are exactly the predicted bias-only cells. ``nonfinite``: with
    NaN / Inf spread over inputs and weights, the bias-only cells still equal the bias bit for bit."""
    __tracebackhide__ = True
    _require(target, dtype)
    predicted = case.untouched_mask()
    rng = np.random.default_rng(seed)
    b = rng.integers(-3, 4, size=case.bias_shape).astype(np.float64) if case.bias else None
    base = np.zeros(case.bias_shape or (1,)) if b is None else b
    base = base.reshape((-1,) + (1,) * case.nd)
    result = {"predicted": predicted}
    if "coverage" in parts:
        x, w = np.ones(case.input_shape), np.ones(case.weight_shape)
        call = _run(target, case, x, w, b, dtype, x_layout, w_layout)
        result["path"] = call.path
        got = execution.to_numpy(call.out)
        observed = result["observed"] = _spatial_all(got == base, case.nd)
        if not np.array_equal(observed, predicted):
            diff = tuple(int(i) for i in np.argwhere(observed != predicted)[0])
            raise _observing(_ctx(case, target, dtype, "exact", x, w, b, call).failure(
                f"bias-only cells observed {np.argwhere(observed).tolist()[:12]} differ from the "
                f"prediction {np.argwhere(predicted).tolist()[:12]}; first difference at spatial {diff}: "
                f"predicted {'bias-only' if predicted[diff] else 'touched'}"), **result)
    if "nonfinite" in parts and not predicted.any():
        return _nothing_to_poison(result, parts, "no bias-only output cell in this configuration: nothing to check")
    if "nonfinite" in parts:
        xn = rng.integers(-3, 4, size=case.input_shape).astype(np.float64)
        xn[rng.random(xn.shape) < 0.4] = np.nan
        xn[rng.random(xn.shape) < 0.2] = np.inf
        wn = rng.integers(-3, 4, size=case.weight_shape).astype(np.float64)
        wn[rng.random(wn.shape) < 0.3] = -np.inf
        ncall = _run(target, case, xn, wn, b, dtype, x_layout, w_layout)
        result.setdefault("path", ncall.path)
        got = execution.to_numpy(ncall.out)
        expected = np.broadcast_to(base, got.shape)
        sel = (Ellipsis,) + tuple(np.nonzero(predicted))
        bad = np.zeros(got.shape, bool)
        bad[sel] = got[sel].view(np.int64) != expected[sel].view(np.int64)
        if bad.any():
            cell = tuple(int(i) for i in np.argwhere(bad)[0])
            raise _observing(_ctx(case, target, dtype, "exact", xn, wn, b, ncall).failure(
                f"bias-only cell {cell} is {got[cell]!r}, expected exactly the bias {expected[cell]!r} (inputs and "
                f"weights hold NaN/Inf elsewhere)", cell, expected[cell], got[cell]), **result)
        result["poisoned"] = True
    return result


@isolated(describe=_example)
def gradients(target: Target, case: Case, ops: Operands, dtype: str, wrt: str, x_layout="contiguous",
              w_layout="contiguous") -> dict:
    """Property 5: autograd's gradient for ``wrt`` ('input', 'weight' or 'bias') equals the oracle's
    adjoint, bit for bit in exact mode (NaN matching NaN: an output gradient ``ops.gy`` may hold +-Inf /
    NaN, IEEE on the definition), within the rounding bound in float mode."""
    __tracebackhide__ = True
    _require(target, dtype, autograd=True)
    call = _run(target, case, ops.x, ops.w, ops.b, dtype, x_layout, w_layout, requires_grad=True)
    gy = output_gradient(ops, tuple(call.out.shape))
    if ops.mode != "exact" and not np.isfinite(gy).all():
        return _refused({"path": call.path}, "a non-finite output gradient has no rounding bound (float mode)")
    # in the input's layout (strided, sliced...), so that the backward kernels also see such an operand
    gy_t, _ = execution.place(gy, str(call.out.dtype).replace("torch.", ""),
                              execution.output_gradient_layout(x_layout, gy.ndim), target.device)
    if call.path is not None and "strides" in call.path:
        call.path["strides"]["grad_output"] = {"shape": list(gy_t.shape), "stride": list(gy_t.stride()),
                                               "offset": int(gy_t.storage_offset())}
    gy = execution.to_numpy(gy_t)
    _backward(target, case, dtype, call, gy_t)
    x, w, b = call.operands()
    if call.modified():  # the backward pass wrote an operand
        _guard_inputs(target, case, dtype, call)
    cfg = case.config()
    batched = (lambda a: a) if case.batch is not None else (lambda a: a[np.newaxis])
    adj = conv_transpose_grads if case.transposed else conv_grads
    index = {"input": 0, "weight": 1, "bias": 2}[wrt]
    expected = adj(batched(x), w, batched(gy), cfg)[index]
    if wrt == "input" and case.batch is None:
        expected = expected[0]
    tensor = {"input": call.x, "weight": call.w, "bias": call.b}[wrt]
    got = execution.to_numpy(tensor.grad)
    ctx = _ctx(case, target, dtype, ops.mode, x, w, b, call, what=f"grad_{wrt}", grad_output=gy)
    if ops.mode == "exact":
        assert_exact(expected, got, ctx)
        return {"bound_share": 0.0, "path": call.path}
    P = adj(batched(np.abs(x)), np.abs(w), batched(np.abs(gy)), cfg)[index]
    if wrt == "input" and case.batch is None:
        P = P[0]
    n = gradient_terms(case, wrt)
    bound = comparison_bound(P, 0.0, n, target.precision(dtype))
    vacuous = vacuous_reason(P, 0.0, n, target.precision(dtype), bound)
    if vacuous:
        return _refused({"path": call.path}, vacuous)
    result = {"bound_share": assert_within(expected, got, bound, ctx, P), "path": call.path}
    signal = suspicious_precision(expected, got, P, 0.0, n, target.precision(dtype), dtype)
    if signal:
        result["suspicious_precision"] = signal
        event("suspicious precision (statistical signal, not a failure)")
    return result


def relaxed_reference(case: Case, x, w, b) -> np.ndarray | None:
    """The definition's result for a call that breaks only rules the definitions do not need, else None.

    Conv (gather) with negative padding ``p``: the window reads the input cropped by ``-p`` per side.
    Transposed conv (scatter) with any padding ``p`` and output_padding ``a``: the full scatter ``F`` of
    length ``(L - 1) s + E`` (no padding), then ``out[i] = F[i + p]`` (zero outside ``F``) for
    ``0 <= i < (L - 1) s - 2p + E + a``, plus the bias. This covers negative padding, negative output_padding
    and output_padding >= stride / dilation; every other rule (or an output length below 1) gives None.
    """
    from dataclasses import replace
    if isinstance(case.padding, str) or case.padding_mode != "zeros" or case.output_size is not None:
        return None
    nd = case.nd
    try:
        pads = per_dim("padding", case.padding, nd)
        if case.transposed:
            opad = per_dim("output_padding", case.output_padding, nd)
            full = oracle_forward(replace(case, padding=0, output_padding=0, bias=False), x, w, None)
            out = full
            for axis, (p, a, L_full) in enumerate(zip(pads, opad, full.shape[-nd:])):
                n = L_full - 2 * p + a
                if n < 1:
                    return None
                before, after = max(0, -p), max(0, n + p - L_full)
                widths = [(0, 0)] * out.ndim
                widths[out.ndim - nd + axis] = (before, after)
                out = np.take(np.pad(out, widths), np.arange(n) + p + before, axis=out.ndim - nd + axis)
            return out if b is None else out + np.reshape(b, (-1,) + (1,) * nd)
        crop = tuple(slice(-p, x.shape[x.ndim - nd + i] + p) if p < 0 else slice(None) for i, p in enumerate(pads))
        if any(p < 0 and x.shape[x.ndim - nd + i] + 2 * p < 1 for i, p in enumerate(pads)):
            return None
        xc = x[(Ellipsis,) + crop]
        reduced = replace(case, input_size=xc.shape[-nd:], padding=tuple(max(p, 0) for p in pads))
        reduced.config()
        return oracle_forward(reduced, xc, w, b)
    except (ConvConfigError, ValueError):
        return None


def rejection_reason(rule: str, message: str) -> tuple[str, str | None]:
    """``(reason, others)`` for a rejection of a call breaking ``rule`` with torch's wording in ``message``:
    ``(rule, None)`` when the rules it names include ``rule``; ``("unrecognised", None)`` when it names
    none (another release's or backend's wording: not a failure); otherwise ``(None, "the other rules")``."""
    named = named_rules(message)
    if not named:
        return "unrecognised", None
    if rule in named:
        return rule, None
    return None, " or ".join(f"'{r}'" for r in sorted(named))


@isolated(describe=_invalid_example)
def error_parity(target: Target, call: InvalidCall, dtype: str = "float32", seed: int = 0) -> dict:
    """Property 6: an invalid call is rejected by the target (with one of its declared ``rejects``
    exception types) and by the oracle. A target whose ``messages`` are torch's must reject it for its
    rule: a message that names only other rules (:func:`rejection_reason`) fails as ``wrong_error``;
    ``reason`` in the result is the rule, or ``unrecognised`` (wording no rule's pattern knows).
    On a rule the target declares ``relaxed``, accepting is allowed:
    the result is then checked bit for bit against :func:`relaxed_reference` on small-integer operands
    (exact in every float dtype), or recorded as not checked where the definitions give none."""
    __tracebackhide__ = True
    _require(target, dtype)
    case = call.case
    relaxed = call.rule in target.capability.relaxed
    if relaxed:  # values matter when the target may answer: small integers, every partial sum exact
        rng = np.random.default_rng(seed)
        x, w = (rng.integers(-2, 3, size=s).astype(np.float64) for s in (call.input_shape, call.weight_shape))
        b = None if call.bias_shape is None else rng.integers(-2, 3, size=call.bias_shape).astype(np.float64)
    else:
        x, w = np.zeros(call.input_shape), np.zeros(call.weight_shape)
        b = None if call.bias_shape is None else np.zeros(call.bias_shape)
    try:
        oracle_forward(case, x, w, b)
    except ConvConfigError as exc:
        oracle_error = str(exc)
    else:
        raise AssertionError(f"the oracle accepted an invalid call ({call.rule}): {call!r}")
    ctx = _ctx(case, target, dtype, "invalid", x, w, b)
    rejects = target.capability.rejects
    try:
        got = execution.run(target, case, x, w, b, dtype)
    except MissingFunction:  # the target lacks the function: not a verdict (never one of its rejections)
        raise
    except rejects as exc:  # a declared rejection may be a LookupError of the target's own (torch's IndexError)
        target_error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        result = {"target_error": target_error, "oracle_error": oracle_error, "path": getattr(exc, "conv_path", None)}
        if target.capability.messages == "torch":
            result["reason"], others = rejection_reason(call.rule, str(exc))
            if others:
                ctx.path = result["path"]
                failure = ctx.failure(f"rejected {call.rule} for another reason: its message names {others}: "
                                      f"{target_error}; the oracle says: {oracle_error}", kind=FailureKind.WRONG_ERROR)
                failure.details["target_error"] = target_error  # a rejection all the same (baseline snapshots)
                raise failure from exc
        return result
    except Exception as exc:
        failure = ctx.failure(f"raised {type(exc).__name__} on an invalid configuration ({call.rule}), which is not "
                              f"among the rejections {target.name} declares ({', '.join(t.__name__ for t in rejects)}): "
                              f"{str(exc).splitlines()[0][:200] if str(exc) else ''}", kind=FailureKind.WRONG_ERROR)
        failure.details["target_error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        raise failure from exc
    shape, ctx.path = tuple(got.out.shape), got.path
    if not relaxed:
        raise ctx.failure(f"accepted an invalid configuration ({call.rule}) and returned shape {shape}; "
                          f"the oracle says: {oracle_error}", kind=FailureKind.ACCEPTED_INVALID)
    expected = relaxed_reference(case, x, w, b)
    if expected is None:
        return {"relaxed": "accepted, not checked (no definition)", "oracle_error": oracle_error,
                "output_shape": list(shape), "path": got.path}
    ctx = _ctx(case, target, dtype, "exact", x, w, b, got, what=f"output (relaxed rule: {call.rule})")
    assert_exact(expected, execution.to_numpy(got.out), ctx)
    return {"relaxed": "accepted, checked against the definition", "oracle_error": oracle_error,
            "output_shape": list(shape), "path": got.path}
