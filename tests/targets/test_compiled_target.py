"""The compiled targets (``torch-compile@MODE``, :mod:`conv_oracle.targets.compiled`): their names, what their
path records, their snippets and the deviations' ``compile`` scope cost no compilation (default run); the tests
that compile (minutes in all) are marked ``compile`` (``pytest -m compile``, CI's compile step)."""

import numpy as np
import pytest
import torch

from conv_oracle.definition.case import Case
from conv_oracle.definition.errors import ConvConfigError
from conv_oracle.harness.deviations import Deviation
from conv_oracle.machine.kernel_path import describe
from conv_oracle.targets import load_target
from conv_oracle.targets.compiled import Compiled, compiled_backend, kernels
from conv_oracle.targets.variants import parse_spec

#: the end of an output module Inductor 2.13 wrote for a conv2d (its ``call`` function)
SOURCE = '''
cpp_fused_convolution_0 = async_compile.cpp_pybinding(['const float*'], r\'\'\'
extern "C" void kernel(const float* in_ptr0) { }
\'\'\')
class Runner:
    def call(self, args):
        arg0_1, = args
        buf0 = empty_strided_cpu((1, 2, 5, 5), (50, 1, 10, 2), torch.float32)
        cpp_fused_convolution_0(arg0_1, buf0)
        buf2 = extern_kernels.convolution(buf0, buf1, arg2_1, stride=(2, 2), padding=(0, 0), dilation=(1, 1), transposed=False, output_padding=(0, 0), groups=1)
        buf5 = torch.ops.mkldnn._convolution_pointwise.default(buf0, _frozen_param2, _frozen_param1, [0, 0], [2, 2], [1, 1], 1, 'none', [None], '')
        buf6, buf7, buf8 = torch.ops.aten.convolution_backward.default(buf5, buf0, buf1, [3], [2, 2], [0, 0], [1, 1], False, [0, 0], 1, [True, True, True])
        cpp_fused_convolution_1(buf2, buf3)
        return (buf3, )
'''


def test_kernels_read_from_the_generated_call():
    assert kernels(SOURCE) == ["cpp_fused_convolution", "extern_kernels.convolution",
                               "torch.ops.mkldnn._convolution_pointwise.default",
                               "torch.ops.aten.convolution_backward.default"]


@pytest.mark.parametrize("ops, backend", [
    (["cpp_fused_convolution", "extern_kernels.convolution"], "Mkldnn"),  # aten.convolution: torch's dispatch
    (["torch.ops.mkldnn._convolution_pointwise.default"], "mkldnn._convolution_pointwise"),
    (["torch.ops.mkldnn._convolution_transpose_pointwise.default"], "mkldnn._convolution_transpose_pointwise"),
    (["cpp_fused_mm"], "inductor"),  # no convolution op: lowered to generated code
    ([], "Mkldnn"),  # rejected while compiling: the backend the call would have reached
])
def test_backend_named_from_the_code(ops, backend):
    assert compiled_backend(ops, "Mkldnn") == backend


@pytest.mark.parametrize("name, modes, threads", [
    ("torch-compile@freezing", {"freezing"}, None),
    ("torch-compile@mode=dynamic,threads=1", {"dynamic"}, 1),
    ("torch-compile@max-autotune,freezing", {"max-autotune", "freezing"}, None),
])
def test_modes_parse(name, modes, threads):
    spec = parse_spec(name, name.partition("@")[2])
    assert spec["modes"] == modes and spec["threads"] == threads and spec["isa"] is None


@pytest.mark.parametrize("name, words", [
    ("torch@freezing", "compile mode 'freezing' applies to torch-compile only"),
    ("torch-compile@fast", "'fast' must be a compile mode (freezing, max-autotune, dynamic) or an ISA level"),
    ("torch-compile@mode=fast", "compile mode 'fast' must be one of freezing, max-autotune, dynamic"),
])
def test_bad_modes_are_refused_in_one_line(name, words):
    with pytest.raises(ConvConfigError, match=words.replace("(", r"\(").replace(")", r"\)")):
        load_target(name)


def test_targets_declare_what_their_mode_can_do():
    frozen, default = load_target("torch-compile@freezing"), load_target("torch-compile")
    assert not frozen.capability.autograd and default.capability.autograd  # freezing is inference only
    assert frozen.capability.options == default.capability.options == {"padding_mode", "output_size"}
    assert frozen.observer.modes == {"freezing"} and default.observer.modes == frozenset()
    assert frozen.observer is not default.observer and not frozen.modules
    with pytest.raises(ValueError, match="modes=\\['fast'\\]"):
        Compiled({"fast"})


def test_path_phrase_names_mode_and_ops():
    p = {"backend": "mkldnn._convolution_pointwise", "compile": "freezing", "device": "cpu", "isa": "AVX2",
         "isa_cap": "ALL", "aten": "AVX2", "threads": 1,
         "inductor": {"forward": ["cpp_fused_convolution", "torch.ops.mkldnn._convolution_pointwise.default"]}}
    assert describe(p).startswith("backend mkldnn._convolution_pointwise, torch.compile freezing: forward "
                                  "torch.ops.mkldnn._convolution_pointwise.default + 1 generated, ISA AVX2")


def _entry(**lists):
    return Deviation("x", "r", "here", lists={"kind": ["wrong_value"], **lists})


@pytest.mark.parametrize("modes, compile_path, expected", [
    (["freezing"], "freezing", True),
    (["freezing"], "freezing+dynamic", True),
    (["freezing"], "dynamic", False),
    (["freezing"], None, False),  # an eager example is out of a compile entry's scope
    (["*"], "default", True),
])
def test_deviation_scoped_by_compile_mode(modes, compile_path, expected):
    path = {"backend": "Mkldnn"} | ({"compile": compile_path} if compile_path else {})
    ex = {"property": "forward_exact", "target": "torch-compile@x", "torch_kernels": True, "path": path}
    assert _entry(compile=modes).in_scope(ex) is expected


@pytest.mark.parametrize("name, markers", [
    ("torch-compile", ["f = torch.compile(lambda x, w, b: torch.nn.functional.conv1d(x, w, b, stride=1",
                       "dynamic=False)", "out = f(x, w, b)"]),
    ("torch-compile@dynamic,max-autotune", ["dynamic=True, mode='max-autotune-no-cudagraphs')"]),
    ("torch-compile@freezing", ["self.weight = torch.nn.Parameter(w, requires_grad=False)",
                                "torch._inductor.config.patch(freezing=True)", "torch.compile(Conv(), dynamic=False)(x)"]),
])
def test_snippets_compile_like_the_target(name, markers):
    from conv_oracle.checks.snippets import snippet
    code = snippet(Case("conv", 1, 1, 1, 1, 1, (3,), (2,)), name, np.ones((1, 1, 3)), np.ones((1, 1, 2)), None)
    for marker in markers:
        assert marker in code, code
    compile(code, "snippet", "exec")


# -- the tests that compile ------------------------------------------------------------------------------


@pytest.mark.compile
def test_freezing_prepacks_the_weight_and_is_right():
    c = Compiled({"freezing"})
    f = c.functions()
    x, w, b = torch.randn(2, 3, 5, 5), torch.randn(4, 3, 2, 2), torch.randn(4)
    got = f["conv2d"](x, w, b, stride=2)
    path = {"backend": "Mkldnn"}
    c.observe(path)
    assert path["backend"] == "mkldnn._convolution_pointwise", path
    assert torch.allclose(got, torch.nn.functional.conv2d(x, w, b, stride=2), atol=1e-5)
    w2 = w + 1  # new weight values: a new graph, never the old constants
    assert torch.allclose(f["conv2d"](x, w2, b, stride=2), torch.nn.functional.conv2d(x, w2, b, stride=2), atol=1e-5)


@pytest.mark.compile
def test_cache_is_bounded_and_never_falls_back_to_eager():
    c = Compiled(cache_bound=2)
    f = c.functions()
    x = torch.randn(1, 2, 12)
    for stride in range(1, 6):  # five configurations through a bound of two: two resets
        w = torch.randn(3, 2, 2)
        got = f["conv1d"](x, w, None, stride=stride)
        path = {"backend": "Mkldnn"}
        c.observe(path)
        assert path["inductor"]["forward"], f"stride {stride} ran no generated code: {path}"
        assert torch.allclose(got, torch.nn.functional.conv1d(x, w, stride=stride), atol=1e-5)
    assert c.resets == 2 and len(c._cache) == 1


@pytest.mark.compile
def test_dynamic_reuses_one_graph_for_other_sizes():
    c = Compiled({"dynamic"})
    f = c.functions()
    w = torch.randn(3, 2, 2)
    for n in (8, 9, 10, 11):
        got = f["conv1d"](torch.ones(1, 2, n), w, None, stride=2)
        assert torch.allclose(got, torch.nn.functional.conv1d(torch.ones(1, 2, n), w, stride=2), atol=1e-5)
    assert len(c._cache) == 1 and c.compilations <= 2  # one graph for all sizes (a size-specialised first one)


@pytest.mark.compile
def test_backward_runs_compiled_code():
    c = Compiled()
    f = c.functions()
    x, w = torch.randn(1, 2, 6, requires_grad=True), torch.randn(3, 2, 2, requires_grad=True)
    out = f["conv1d"](x, w, None, stride=2)
    path = {"backend": "Mkldnn"}
    c.observe(path)
    mark = c.mark()
    out.backward(torch.ones_like(out))
    c.observe(path, mark)
    assert "torch.ops.aten.convolution_backward.default" in path["inductor"]["backward"], path
    xe, we = x.detach().requires_grad_(), w.detach().requires_grad_()
    torch.nn.functional.conv1d(xe, we, stride=2).backward(torch.ones(1, 3, 3))
    assert torch.allclose(w.grad, we.grad, atol=1e-5) and torch.allclose(x.grad, xe.grad, atol=1e-5)


def test_leak_check_allows_what_a_compiled_call_keeps_and_no_more():
    from conv_oracle.checks.bounds import RssWatch
    assert load_target("torch-compile@dynamic").retained_mb_per_call == 6.0
    assert load_target("torch").retained_mb_per_call == 0.0
    kept, leaking = RssWatch(2, 20, retained_mb=6), RssWatch(2, 20, retained_mb=6)
    plain = RssWatch(2, 20)
    for i in range(45):
        assert kept.add(100 + 4 * i) is None  # 4 MiB per call: compiled code kept, within 2 + 6
        message = leaking.add(100 + 9 * i)
        plain_message = plain.add(100 + 4 * i)
    assert message and "(6 MiB per call allowed for what the target keeps)" in message
    assert plain_message and "allowed" not in plain_message  # the same growth without the allowance: a leak
