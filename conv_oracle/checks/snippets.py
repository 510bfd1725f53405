"""Reproduction snippets for a failing check, headed by the target they reproduce: plain torch for
torch's built-in targets, a call into the target's module for any other."""

from __future__ import annotations

import numpy as np

from ..definition.case import Case

#: the line before every snippet in a failure message; :func:`heading` fills in the target
HEADING = "Reproduce with target "


def heading(target_name: str) -> str:
    return f"{HEADING}{target_name}:"


def _module_of(target_name: str) -> tuple[str | None, frozenset]:
    """The importable module behind a non-torch target (None for torch's) and the options it takes itself."""
    from ..targets import BUILTIN, MODULE_TARGETS, load_target
    if target_name.split("@")[0] in BUILTIN:  # torch's targets and their path variants (BASE@SPEC)
        return None, frozenset()
    try:
        options = load_target(target_name).capability.options
    except Exception:  # a snippet must not fail: the call is still the module's
        options = frozenset()
    return MODULE_TARGETS.get(target_name, target_name), options


_LAYOUT_CODE = {
    "contiguous": "{name} = {lit}",
    "channels_last": "{name} = {lit}.to(memory_format=torch.channels_last{suffix})",
    "sliced": ("_{name}_wide = torch.zeros(*{shape_wide}, dtype=torch.{dtype}); _{name}_wide[..., ::2] = {lit}\n"
               "{name} = _{name}_wide[..., ::2]  # non-contiguous view"),
    "transposed": "{name} = {lit}.transpose(-1, -2).contiguous().transpose(-1, -2)  # non-contiguous view",
    "expanded": "{name} = {lit}[:1].expand({shape})  # stride-0 view",
    "strided": ("{name} = torch.full(({size},), float('nan'), dtype=torch.{dtype}).as_strided({shape}, {strides}, {offset})\n"
                "{name}.copy_({lit})  # dimensions in memory order {order}, NaN in the gaps"),
}


#: the context each built-in target runs its calls in (forward and backward)
_CONTEXTS = {"torch-no-mkldnn": "with torch.backends.mkldnn.flags(enabled=False):",
             "torch-cuda-no-tf32": "torch.backends.cudnn.conv.fp32_precision = 'ieee'  # older torch: "
                                   "torch.backends.cudnn.allow_tf32 = False\nif True:"}


def _literal(array: np.ndarray, dtype: str) -> str:
    values = np.asarray(array)
    if np.all(np.isfinite(values)) and np.all(values == np.round(values)):
        body = repr(values.astype(np.int64).tolist())
    else:
        body = repr(values.tolist()).replace("nan", "float('nan')").replace("inf", "float('inf')")
    return f"torch.tensor({body}, dtype=torch.float64).to(torch.{dtype})"


def _number(value) -> str:
    """A Python literal for one value (numpy scalars and non-finite floats included)."""
    if value is None:
        return "None"
    value = float(value)
    return repr(value) if np.isfinite(value) else f"float('{value}')"


def _tensor(name: str, array, dtype: str, layout: str) -> str:
    from ..targets.execution import strided_layout
    shape = tuple(np.shape(array))
    order, strides, offset, size = strided_layout(np.asarray(array)) if layout == "strided" else ((), (), 0, 0)
    return _LAYOUT_CODE.get(layout, _LAYOUT_CODE["contiguous"]).format(
        name=name, lit=_literal(array, dtype), dtype=dtype, shape=shape,
        shape_wide=shape[:-1] + (2 * shape[-1],), suffix="_3d" if len(shape) == 5 else "",
        order=order, strides=strides, offset=offset, size=size)


def _module_lines(case: Case, dtype: str, device: str) -> list[str]:
    kind = f"ConvTranspose{case.nd}d" if case.transposed else f"Conv{case.nd}d"
    extra = (f"output_padding={case.output_padding!r}" if case.transposed
             else f"padding_mode={case.padding_mode!r}")
    return [f"m = torch.nn.{kind}({case.in_channels}, {case.out_channels}, {tuple(case.kernel_size)!r}, "
            f"stride={case.stride!r}, padding={case.padding!r}, dilation={case.dilation!r}, "
            f"groups={case.groups}, bias={case.bias}, {extra}, dtype=torch.{dtype}, device='{device}')"]


def _params(case: Case, w: str = "w", b: str = "b") -> str:
    return f"{{'weight': {w}}}" + (f" | {{'bias': {b}}}" if case.bias else "")


def _call_kw(case: Case) -> str:
    return f", {{'output_size': {list(case.output_size)!r}}}" if case.output_size is not None else ""


def _compiled_call(case: Case, target_name: str, dtype: str, device: str) -> list[str]:
    """The call as a ``torch-compile@MODES`` target makes it (:mod:`conv_oracle.targets.compiled`), in plain
    torch: ``torch.compile`` of the function (or, under freezing, of a module holding the weight and bias)."""
    from ..targets.variants import parse_spec
    spec = target_name.partition("@")[2]
    modes = parse_spec(target_name, spec)["modes"] if spec else frozenset()
    lines = []
    if case.needs_module:
        lines += _module_lines(case, dtype, device)
    opts = [f"dynamic={'dynamic' in modes}"]
    if "max-autotune" in modes:
        opts.append("mode='max-autotune-no-cudagraphs'")
    kwargs = ", ".join(f"{k}={v!r}" for k, v in case.functional_kwargs().items())
    if "freezing" not in modes:
        body = (f"torch.func.functional_call(m, {_params(case)}, (x,){_call_kw(case)})" if case.needs_module
                else f"torch.nn.functional.{case.fn_name}(x, w, b, {kwargs})")
        lines.append(f"f = torch.compile(lambda x, w, b: {body}, {', '.join(opts)})")
        lines.append("out = f(x, w, b)")
        return lines
    body = (f"torch.func.functional_call(m, {_params(case, 'self.weight', 'self.bias')}, (x,){_call_kw(case)})"
            if case.needs_module else f"torch.nn.functional.{case.fn_name}(x, self.weight, self.bias, {kwargs})")
    lines += ["class Conv(torch.nn.Module):  # freezing folds the module's parameters into the graph",
              "    def __init__(self):",
              "        super().__init__()",
              "        self.weight = torch.nn.Parameter(w, requires_grad=False)",
              "        self.bias = None if b is None else torch.nn.Parameter(b, requires_grad=False)",
              "    def forward(self, x):",
              f"        return {body}",
              "with torch.no_grad(), torch._inductor.config.patch(freezing=True):  # not options=: see compiled.py",
              f"    out = torch.compile(Conv(), {', '.join(opts)})(x)"]
    return lines


def _path_lines(path: dict | None) -> list[str]:
    """The start of a snippet: the ISA cap the call ran under (set before torch loads), ``import torch``, and
    the thread count it ran at (a kernel's blocking, and some faults, depend on both)."""
    path = path or {}
    cpu = path.get("device", "cpu") == "cpu"
    lines = []
    cap = path.get("isa_cap")
    if cpu and cap and cap != "ALL":
        from ..targets.variants import isa_env
        lines += ["import os", "", *(f"os.environ[{k!r}] = {v!r}  # the ISA cap it ran under (before torch loads)"
                                     for k, v in isa_env(cap).items())]
    lines.append("import torch")
    if cpu and path.get("threads"):
        lines.append(f"torch.set_num_threads({int(path['threads'])})  # the thread count it ran at")
    return lines + [""]


def snippet(case: Case, target_name: str, x, w, b, dtype: str = "float32", x_layout: str = "contiguous",
            w_layout: str = "contiguous", device: str = "cpu", cell: tuple | None = None,
            expected: float | None = None, grad_output=None, what: str = "output", path: dict | None = None) -> str:
    """Python source that rebuilds the operands and makes the one call under test on ``target_name``:
    torch's function (or nn module) for torch's targets; for a module target, its function, with the
    module-level options it declares as keyword arguments (others run through torch's nn modules).
    ``path`` (:func:`conv_oracle.machine.kernel_path.path`): the ISA cap and thread count the call ran
    under, which the snippet sets first."""
    module, options = _module_of(target_name)
    own = module is not None and (not case.needs_module or
                                  (case.padding_mode == "zeros" or "padding_mode" in options) and
                                  (case.output_size is None or "output_size" in options))
    lines = _path_lines(path)
    lines.append(_tensor("x", x, dtype, x_layout))
    lines.append(_tensor("w", w, dtype, w_layout))
    from ..targets.execution import bias_layout
    lines.append("b = None" if b is None else _tensor("b", b, dtype, bias_layout(w_layout)))
    if grad_output is not None:
        lines.append("for t in (x, w, b):\n    if t is not None:\n        t.requires_grad_(True)")
    if device != "cpu":
        lines.append(f"x, w = x.to('{device}'), w.to('{device}'); b = None if b is None else b.to('{device}')")
    if target_name.split("@")[0] == "torch-compile":
        lines += _compiled_call(case, target_name, dtype, device)
    elif case.needs_module and not own:
        lines += _module_lines(case, dtype, device)
        lines.append(f"out = torch.func.functional_call(m, {_params(case)}, (x,){_call_kw(case)})")
    else:
        fn = f"{module or 'torch.nn.functional'}.{case.fn_name}"
        if module:
            lines.insert(lines.index("import torch") + 1, f"import {module}")
        kw = case.functional_kwargs()
        if own and case.padding_mode != "zeros":
            kw["padding_mode"] = case.padding_mode
        if own and case.output_size is not None:
            kw["output_size"] = tuple(case.output_size)
        kwargs = ", ".join(f"{k}={v!r}" for k, v in kw.items())
        lines.append(f"out = {fn}(x, w, b, {kwargs})")
    if grad_output is not None:
        from ..targets.execution import output_gradient_layout
        lines.append(_tensor("gy", grad_output, dtype, output_gradient_layout(x_layout, np.ndim(grad_output))))
        lines.append("out.backward(gy)")
    context = _CONTEXTS.get(target_name.split("@")[0])
    if context:  # forward and backward both inside the target's context, as the suite ran them
        first = next(i for i, line in enumerate(lines) if line.startswith(("out =", "m = ")))
        body = "\n".join(lines[first:]).replace("\n", "\n    ")
        lines[first:] = [f"{context}\n    {body}"]
    shown = "out"
    if grad_output is not None:
        shown = {"grad_input": "x.grad", "grad_weight": "w.grad", "grad_bias": "b.grad"}.get(what, "out")
    if cell is not None:
        lines.append(f"print({shown}[{', '.join(map(str, cell))}].item(), 'oracle expects', {_number(expected)})")
    else:
        lines.append(f"print({shown})")
    return "\n".join(lines)
