"""torch.compile (Inductor, CPU) as targets: ``torch-compile`` and its modes, ``torch-compile@MODE``.

Modes (combinable with each other and with ``threads=N`` / ``isa=LEVEL``, see
:mod:`conv_oracle.targets.variants`): none (Inductor's defaults), ``freezing`` (``torch._inductor.config.freezing``:
the weight and bias are the parameters of a module compiled under ``torch.no_grad()``, folded in as constants,
which lets Inductor prepack the weight and call oneDNN directly, ``mkldnn._convolution_pointwise``),
``max-autotune`` (``mode="max-autotune-no-cudagraphs"``) and ``dynamic`` (``dynamic=True``: one graph for
many sizes). Gradients: the forward is compiled with the backward (AOTAutograd's joint graph; Inductor compiles
the backward on the first ``backward()``), except under ``freezing``, which is inference only (autograd: no).

**Recompilation is bounded.** One compiled function per *configuration class* (operator, arguments, dtype,
which operands need gradients, threads, and the operand shapes unless ``dynamic``; under ``freezing`` also the
weight's and bias' values, which are constants of the graph), at most :data:`CACHE_BOUND` per process; past it
(or past twice as many compilations) every one is dropped and dynamo's caches reset.

**Never eager under this name.** Each configuration class compiles a function with a code object of its own
(dynamo keeps caches, recompile counts and its decision to stop compiling a frame per code object), dynamo's
recompile limit raises instead of falling back (``fail_on_recompile_limit_hit``), and the compiled function
notes any call that runs outside dynamo's tracing: a result computed eagerly raises RuntimeError (the example
fails); an exception raised by eager code after dynamo gave up is marked ``eager`` in the path.

**The path.** Each call's execution path (:mod:`conv_oracle.machine.kernel_path`) gets ``compile`` (the mode)
and ``inductor``: the operations the generated code calls (``extern_kernels.convolution``,
``torch.ops.mkldnn._convolution_pointwise.default``, ``torch.ops.aten.convolution_backward.default``...) and its
generated kernels (``cpp_fused_*``), read from the modules Inductor wrote for that configuration (forward and,
after a backward, backward). ``backend`` names what computed the convolution: the ATen backend torch's
``aten.convolution`` dispatches to when the code calls it (so torch's known deviations of that kernel apply),
the oneDNN op when Inductor called one itself, ``inductor`` when no convolution op is called (lowered to
generated code).
"""

from __future__ import annotations

import hashlib
import re

from .base import FUNCTIONS

#: the modes a ``torch-compile@...`` spec may name (each a word; ``default`` is the empty set)
MODES = ("freezing", "max-autotune", "dynamic")
#: compiled configurations kept per process (each ~0.5 MiB of code that is never unloaded; the suite's leak
#: check allows 2 MiB per call); past it all are dropped and dynamo reset
CACHE_BOUND = 32

_CALL = re.compile(r"^\s+(?:[\w, ]+ = )?((?:extern_kernels|torch\.ops|aten)\.[\w\.]+|cpp_fused\w*|cpp_\w+)\(",
                   re.M)
_CONV_OPS = {"extern_kernels.convolution": None,  # aten.convolution: the ATen backend decides
             "torch.ops.aten.convolution.default": None,
             "torch.ops.mkldnn._convolution_pointwise.default": "mkldnn._convolution_pointwise",
             "torch.ops.mkldnn._convolution_pointwise_.default": "mkldnn._convolution_pointwise",
             "torch.ops.mkldnn._convolution_pointwise.binary": "mkldnn._convolution_pointwise",
             "torch.ops.mkldnn._convolution_transpose_pointwise.default": "mkldnn._convolution_transpose_pointwise"}


def mode_name(modes) -> str:
    """``default`` or the modes joined with ``+`` in :data:`MODES` order."""
    return "+".join(m for m in MODES if m in modes) or "default"


def kernels(source: str) -> list[str]:
    """The operations and generated kernels the ``call`` function of Inductor's output code calls, in order,
    each once (generated kernels by their name without the trailing index)."""
    body = source[source.find("def call("):] if "def call(" in source else source
    seen = []
    for name in _CALL.findall(body):
        name = re.sub(r"_\d+$", "", name) if name.startswith("cpp_") else name
        if name not in seen:
            seen.append(name)
    return seen


def compiled_backend(ops: list[str], aten_backend: str | None) -> str:
    """What computed the convolution, from the generated code's calls (see the module docstring); with no
    code (the call was rejected while compiling), the ATen backend the call would have reached."""
    if not ops:
        return aten_backend
    for op in ops:
        if op in _CONV_OPS:
            return _CONV_OPS[op] or aten_backend or "aten.convolution"
    return "inductor"


#: every output module Inductor loaded in this process since :func:`_watch` (a reused one again each time)
_LOADED: list = []


def _watch() -> None:
    """Note each output module Inductor loads (``PyCodeCache.load_by_key_path``, also when it hands back a
    module it loaded before for identical code), so that a call's kernels can be read from its own modules."""
    from torch._inductor.codecache import PyCodeCache
    load = PyCodeCache.__dict__["load_by_key_path"]
    if getattr(load, "_conv_oracle", False):
        return
    inner = load.__func__

    def load_by_key_path(cls, *args, **kwargs):
        mod = inner(cls, *args, **kwargs)
        _LOADED.append(mod)
        return mod

    wrapped = classmethod(load_by_key_path)
    wrapped._conv_oracle = True
    PyCodeCache.load_by_key_path = wrapped


def _output_modules() -> int:
    return len(_LOADED)


def _new_kernels(start: int) -> dict | None:
    """The calls of the output modules Inductor loaded since mark ``start``, as ``{"forward": [...],
    "backward": [...]}`` (a module whose ``call`` takes ``tangents``, the output gradients, is a backward graph;
    AOTAutograd may load both at the forward call, e.g. from its cache); None if none was loaded."""
    mods = _LOADED[start:]
    if not mods:
        return None
    out: dict = {}
    for mod in mods:
        try:
            with open(mod.__file__, encoding="utf-8") as fh:
                source = fh.read()
        except (OSError, AttributeError, TypeError):
            out.setdefault("forward", []).append("(output code unreadable)")
            continue
        body = source[source.find("def call("):]
        step = out.setdefault("backward" if "tangents_" in body else "forward", [])
        step += [k for k in kernels(source) if k not in step]
    return out


#: calls that ran eagerly: the compiled functions append to it only outside dynamo's tracing (dynamo folds
#: ``torch.compiler.is_compiling()`` to True, so compiled code never runs the append)
_EAGER: list = []
_serial = iter(range(1 << 62))


def _eager_mark() -> None:
    import torch
    if not torch.compiler.is_compiling():
        _EAGER.append(1)


def _fresh(fn):
    """``fn`` with a code object of its own: dynamo keeps its caches, its recompile count and its decision to
    skip a frame (run it eagerly from then on, e.g. after some compile errors) per code object, so no
    configuration may share one with another."""
    import types
    code = fn.__code__.replace(co_name=f"{fn.__code__.co_name}_{next(_serial)}")
    return types.FunctionType(code, fn.__globals__, code.co_name, fn.__defaults__, fn.__closure__)


def _frozen_module(fn, kwargs, w, b):
    """The module a freezing call compiles: the weight and bias as its (frozen) parameters."""
    import torch

    def forward(self, x):
        _eager_mark()
        return fn(x, self.weight, self.bias, **kwargs)

    class Conv(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(w.detach().clone(), requires_grad=False)
            self.bias = None if b is None else torch.nn.Parameter(b.detach().clone(), requires_grad=False)

    Conv.forward = _fresh(forward)
    return Conv()


def _module_call(name: str, x, w, b, kwargs: dict, options: dict):
    """``fn(x, w, b)`` that runs torch's ``nn`` module for the module-only options (``padding_mode``,
    ``output_size``) with ``w`` and ``b`` as its parameters (``torch.func.functional_call``)."""
    import torch
    nd = int(name[-2])
    transposed = name.startswith("conv_transpose")
    cls = getattr(torch.nn, f"ConvTranspose{nd}d" if transposed else f"Conv{nd}d")
    groups = kwargs.get("groups", 1)
    in_channels = x.shape[-nd - 1]
    out_channels = w.shape[1] * groups if transposed else w.shape[0]
    common = {k: v for k, v in kwargs.items() if k in ("stride", "padding", "dilation", "groups", "output_padding")}
    if "padding_mode" in options:
        common["padding_mode"] = options["padding_mode"]
    module = cls(in_channels, out_channels, tuple(w.shape[2:]), bias=b is not None, device="meta", **common)
    call_kw = {"output_size": list(options["output_size"])} if "output_size" in options else {}

    def fn(x, w, b, **_):
        params = {"weight": w} | ({"bias": b} if b is not None else {})
        return torch.func.functional_call(module, params, (x,), call_kw)

    return fn


class Compiled:
    """The compiled conv functions of one mode set: ``functions()`` maps :data:`FUNCTIONS` to callables
    with ``torch.nn.functional``'s signatures (plus ``padding_mode`` / ``output_size``)."""

    def __init__(self, modes=frozenset(), cache_bound: int = CACHE_BOUND, options: dict | None = None):
        unknown = sorted(set(modes) - set(MODES))
        if unknown:
            raise ValueError(f"modes={unknown}: each must be one of {', '.join(MODES)}")
        self.modes = frozenset(modes)
        #: further Inductor options for every compilation (``torch.compile(options=...)``)
        self.options = dict(options or {})
        self.cache_bound = cache_bound
        self._cache: dict = {}
        #: the path facts of the last call (``compile``, ``inductor``, ``backend``), for :meth:`observe`
        self.last: dict | None = None
        self.compilations = 0
        self.resets = 0
        self._since_reset = 0

    # -- configuration ------------------------------------------------------------------------------
    def _configure(self):
        import torch._dynamo.config as dynamo
        import torch._inductor.config as inductor
        # one graph per configuration class; never fall back to eager silently past the limit
        limit = max(8, 4 * self.cache_bound)
        dynamo.recompile_limit = limit
        dynamo.accumulated_recompile_limit = max(dynamo.accumulated_recompile_limit, 64 * limit)
        dynamo.fail_on_recompile_limit_hit = True
        inductor.compile_threads = 1  # no pool of compile processes inside a suite worker
        _watch()

    def _compile(self, fn):
        import torch
        self._configure()
        kw = {"dynamic": "dynamic" in self.modes}
        if "max-autotune" in self.modes and not self.options:
            kw["mode"] = "max-autotune-no-cudagraphs"
        elif self.options:  # torch.compile takes a mode or options, not both: the mode's options then
            mode = torch._inductor.list_mode_options("max-autotune-no-cudagraphs") if "max-autotune" in self.modes else {}
            kw["options"] = {**mode, **self.options}
        # freezing is not passed as an option: dynamo reads torch._inductor.config.freezing while tracing
        # (to keep the module's parameters as attributes, which Inductor can fold), and
        # torch.compile(options={"freezing": True}) leaves them graph inputs, unfrozen; :meth:`call`
        # patches the config around the call instead
        return torch.compile(fn, **kw)

    def _key(self, name, x, w, b, kwargs, options):
        import torch
        sizes = None if "dynamic" in self.modes else tuple(tuple(t.shape) for t in (x, w, b) if t is not None)
        strides = tuple(t.dim() for t in (x, w, b) if t is not None) if "dynamic" in self.modes else \
            tuple(tuple(t.stride()) for t in (x, w, b) if t is not None)
        grads = tuple(t is not None and t.requires_grad for t in (x, w, b)) if torch.is_grad_enabled() else ()
        values = None
        if "freezing" in self.modes:  # the graph holds the values: same values, same graph
            h = hashlib.sha256()
            for t in (w, b):
                if t is not None:  # float64 holds every dtype's values exactly
                    h.update(t.detach().to("cpu", torch.float64).numpy().tobytes())
            values = h.hexdigest()
        return (name, repr(sorted(kwargs.items())), repr(sorted(options.items())), str(x.dtype), b is not None,
                sizes, strides, grads, torch.get_num_threads(), values)

    def _entry(self, name, x, w, b, kwargs, options):
        import torch.nn.functional as F
        key = self._key(name, x, w, b, kwargs, options)
        entry = self._cache.get(key)
        if entry is None:
            if len(self._cache) >= self.cache_bound or self._since_reset >= 2 * self.cache_bound:
                self.reset()
            fn = _module_call(name, x, w, b, kwargs, options) if options else getattr(F, name)
            if "freezing" in self.modes:
                module = _frozen_module(fn, {} if options else kwargs, w, b)
                entry = {"fn": self._compile(module), "frozen": True, "path": {}}
            else:
                call_kwargs = {} if options else kwargs

                def call(x, w, b):
                    _eager_mark()
                    return fn(x, w, b, **call_kwargs)

                entry = {"fn": self._compile(_fresh(call)), "frozen": False, "path": {}}
            self._cache[key] = entry
        return entry

    def reset(self) -> None:
        """Drop every compiled configuration (and dynamo's caches, Inductor's loaded output modules)."""
        import torch
        from torch._inductor.codecache import PyCodeCache
        self._cache.clear()
        self._since_reset = 0
        torch._dynamo.reset()
        PyCodeCache.cache_clear()
        _LOADED.clear()
        self.resets += 1

    # -- calls --------------------------------------------------------------------------------------
    def call(self, name: str, x, w, b=None, **kwargs):
        import torch
        self.last = {"compile": mode_name(self.modes), "entry": {"path": {}}}  # until this call's entry exists
        options = {k: kwargs.pop(k) for k in ("padding_mode", "output_size") if k in kwargs}
        if options.get("padding_mode") == "zeros":
            options.pop("padding_mode")
        entry = self._entry(name, x, w, b, kwargs, options)
        start, eager = _output_modules(), len(_EAGER)
        try:
            if entry["frozen"]:
                import torch._inductor.config as inductor
                with torch.no_grad(), inductor.patch(freezing=True):
                    out = entry["fn"](x)
            else:
                out = entry["fn"](x, w, b)
        finally:
            ops = _new_kernels(start)
            if ops is not None:
                self.compilations += 1
                self._since_reset += 1
                entry["path"].update(ops)
            self.last = {"compile": mode_name(self.modes), "entry": entry, "eager": len(_EAGER) > eager}
        if len(_EAGER) > eager:  # dynamo skipped the frame: eager torch ran, not compiled code
            raise RuntimeError(f"torch.compile ran {name} eagerly (dynamo fell back to eager for this call): "
                               f"the compiled code was not checked")
        return out

    def functions(self) -> dict:
        def make(name):
            def fn(input, weight, bias=None, **kwargs):
                return self.call(name, input, weight, bias, **kwargs)
            fn.__name__ = name
            return fn
        return {name: make(name) for name in FUNCTIONS}

    def mark(self) -> int:
        """A mark to pass to :meth:`observe` after a backward pass (the output modules loaded so far)."""
        return _output_modules()

    def observe(self, path: dict, mark: int | None = None) -> None:
        """Fill ``path`` (a call's execution path, its ``backend`` as torch dispatches ``aten.convolution``
        on the operands) with the last call's compile facts; after a backward pass started at ``mark``, with
        the backward's calls too."""
        last = self.last
        if last is None:
            return
        entry = last["entry"]
        if mark is not None:
            ops = _new_kernels(mark)
            if ops is not None:
                self.compilations += 1
                self._since_reset += 1
                entry["path"].update(ops)
        path.setdefault("aten_backend", path.get("backend"))
        path["compile"] = last["compile"]
        path["inductor"] = {k: v for k, v in entry["path"].items() if v}
        if last.get("eager"):  # a rejection raised by eager code after dynamo gave up (e.g. nn's output_size check)
            path["inductor"]["eager"] = True
        path["backend"] = compiled_backend(entry["path"].get("forward") or [], path["aten_backend"])
