"""Declared target capability: validation, skips, rejections, relaxed rules, own options, snippets."""

import subprocess
import sys
import types

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conv_oracle.checks import properties
from conv_oracle.checks.operands import make_operands
from conv_oracle.definition.case import Case
from conv_oracle.definition.errors import ConvConfigError
from conv_oracle.definition.invalid_calls import INVALID_RULES
from conv_oracle.targets import TORCH_REJECTIONS, Capability, Target, load_target, target_from_module
import conv_oracle


def _module(name="plugged", **attrs):
    m = types.ModuleType(name, "A plugged-in test target.")
    m.conv2d, m.conv_transpose2d = F.conv2d, F.conv_transpose2d
    for k, v in attrs.items():
        setattr(m, k, v)
    return m


def test_undeclared_is_torch():
    cap = Capability()
    assert cap.rejects == TORCH_REJECTIONS == (RuntimeError, ValueError, TypeError, IndexError, NotImplementedError)
    assert cap.autograd and cap.dtypes == ("float32", "float64", "float16", "bfloat16") and not cap.relaxed
    assert cap.messages == "torch"  # most targets wrap torch: error parity compares the reason
    assert target_from_module(_module()).capability == cap
    assert load_target("torch").capability == cap


@pytest.mark.parametrize("declared, field", [
    ({"dtypes": ("float128",)}, "dtypes"),
    ({"dtypes": "float32"}, "dtypes"),
    ({"autograd": "no"}, "autograd"),
    ({"rejects": (int,)}, "rejects"),
    ({"relaxed": ("negative padding", "no such rule")}, "relaxed"),
    ({"options": ("groups",)}, "options"),
    ({"devices": ("tpu",)}, "devices"),
    ({"messages": "onnx"}, "messages"),
])
def test_bad_declarations_fail_on_one_line(declared, field):
    with pytest.raises(ConvConfigError) as info:
        target_from_module(_module(CAPABILITY=declared))
    message = str(info.value)
    assert "\n" not in message and f"CAPABILITY[{field!r}]" in message and "target plugged" in message


def test_unknown_fields_and_misplaced_attributes_are_errors():
    with pytest.raises(ConvConfigError, match="unknown fields"):
        target_from_module(_module(CAPABILITY={"dtype": ("float32",)}))
    with pytest.raises(ConvConfigError, match=r"\['DTYPES'\] are not read"):
        target_from_module(_module(DTYPES=("float32",)))
    with pytest.raises(ConvConfigError, match="DEVICE"):
        target_from_module(_module(DEVICE="cuda", CAPABILITY={"devices": ("cpu",)}))


def test_missing_dtypes_and_autograd_are_reasons_to_skip():
    t = target_from_module(_module(CAPABILITY={"dtypes": ("float32",), "autograd": False}))
    assert t.unsupported("float32") is None
    assert "float64" in t.unsupported("float64")
    assert "autograd" in t.unsupported("float32", autograd=True)
    case = Case("conv", 1, 1, 1, 1, 1, (4,), (2,))
    ops = make_operands(case, "exact", 0)
    with pytest.raises(properties.Unsupported, match="autograd"):
        properties.gradients(t, case, ops, "float32", "input")
    with pytest.raises(properties.Unsupported, match="float64"):
        properties.forward(t, case, ops, "float64")


def test_repr_is_one_line():
    t = target_from_module(_module(CAPABILITY={"dtypes": ("float32",), "autograd": False}))
    assert repr(t) == "Target('plugged', device='cpu', dtypes=float32; no autograd)"
    assert repr(load_target("torch")) == "Target('torch', device='cpu', torch defaults)"


class BackendError(Exception):
    """A backend's own exception type (not one of torch's five)."""


def _rejecting(fn):
    def wrapped(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except RuntimeError as exc:
            raise BackendError(str(exc)) from None
    return wrapped


NEG_PAD = INVALID_RULES["negative padding"].call(Case("conv", 2, 2, 2, 3, 1, (6, 5), (2, 3), (2, 1), 1), value=-1)


def test_rejections_are_the_declared_types():
    m = _module(conv2d=_rejecting(F.conv2d))
    with pytest.raises(AssertionError, match="not among the rejections .* declares"):
        properties.error_parity(target_from_module(m), NEG_PAD)
    declared = target_from_module(_module(conv2d=_rejecting(F.conv2d), CAPABILITY={"rejects": (BackendError,)}))
    assert properties.error_parity(declared, NEG_PAD)["target_error"].startswith("BackendError")


def _cropping_conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, off_by_one=False):
    """Negative padding as cropping (what ONNX Runtime does): F.pad with negative widths crops."""
    p = (padding,) * 2 if isinstance(padding, int) else tuple(padding)
    cropped = F.pad(input, [-min(v, 0) * -1 for v in reversed(p) for _ in (0, 1)])
    out = F.conv2d(cropped, weight, bias, stride, tuple(max(v, 0) for v in p), dilation, groups)
    return out + 1 if off_by_one else out


def test_a_relaxed_rule_is_checked_against_the_definition():
    relaxed = {"relaxed": ("negative padding",)}
    good = target_from_module(_module(conv2d=_cropping_conv2d, CAPABILITY=relaxed))
    assert properties.error_parity(good, NEG_PAD)["relaxed"] == "accepted, checked against the definition"
    bad = target_from_module(_module(conv2d=lambda *a, **k: _cropping_conv2d(*a, **k, off_by_one=True),
                                     CAPABILITY=relaxed))
    with pytest.raises(AssertionError, match="cells differ"):
        properties.error_parity(bad, NEG_PAD)
    strict = target_from_module(_module(conv2d=_cropping_conv2d))  # not declared: accepting is a failure
    with pytest.raises(AssertionError, match="accepted an invalid configuration"):
        properties.error_parity(strict, NEG_PAD)


def test_relaxed_reference_of_transposed_padding_matches_torch_cropping():
    """Scatter with padding p and output_padding a = the full scatter cropped by p (torch, valid range)."""
    case = Case("conv_transpose", 2, 2, 2, 3, 1, (3, 4), (2, 3), (3, 2), (1, 2), 1, (2, 1))
    rng = np.random.default_rng(0)
    x, w, b = (rng.integers(-3, 4, size=s).astype(np.float64) for s in (case.input_shape, case.weight_shape, (3,)))
    expected = F.conv_transpose2d(*(torch.tensor(a) for a in (x, w, b)), stride=(3, 2), padding=(1, 2),
                                  output_padding=(2, 1)).numpy()
    assert np.array_equal(properties.relaxed_reference(case, x, w, b), expected)


def test_own_options_are_passed_to_the_target_and_named_in_the_snippet(monkeypatch):
    seen = []

    def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
        seen.append(padding_mode)
        return torch.nn.functional.conv2d(F.pad(input, [padding] * 4, mode="circular"), weight, bias, stride, 0,
                                          dilation, groups) + 1  # planted: off by one
    module = _module("plugged_options", conv2d=conv2d, CAPABILITY={"options": ("padding_mode",)})
    monkeypatch.setitem(sys.modules, "plugged_options", module)  # snippets look the target up by name
    t = target_from_module(module)
    case = Case("conv", 2, 1, 1, 1, 1, (4, 4), (2, 2), 1, 1, padding_mode="circular")
    ops = make_operands(case, "exact", 0)
    with pytest.raises(AssertionError) as info:
        properties.forward(t, case, ops, "float32")
    assert seen and set(seen) == {"circular"}  # (the suite may call twice: uninitialised-memory check)
    text = str(info.value)
    assert "Reproduce with target plugged_options:" in text
    assert "import plugged_options" in text and "plugged_options.conv2d(x, w, b, " in text and "padding_mode='circular'" in text


def test_case_keeps_its_normalised_config():
    case = Case("conv", 2, 1, 2, 2, 1, (5, 5), (3, 3), 2, 1)
    assert case.config() is case.config()
    assert case == Case("conv", 2, 1, 2, 2, 1, (5, 5), (3, 3), 2, 1) and "_config" not in case.to_dict()
    from dataclasses import replace
    assert replace(case, stride=1).config().stride == (1, 1)


def test_public_types_are_exported():
    assert conv_oracle.Case is Case and conv_oracle.Target is Target and conv_oracle.Capability is Capability


def test_invalid_rules_and_corpus_need_no_hypothesis():
    code = ("import sys; sys.modules['hypothesis'] = None\n"
            "from conv_oracle.baseline import corpus\n"
            "from conv_oracle.definition.invalid_calls import INVALID_RULES\n"
            "print(len(corpus.invalid()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout) > len(INVALID_RULES)


@pytest.mark.parametrize("rule", sorted(INVALID_RULES))
def test_corpus_picks_are_among_the_strategy_choices(rule):
    """The table drives both: every fixed corpus pick is a value the strategies can draw."""
    r = INVALID_RULES[rule]
    for op in r.ops:
        for i in range(len(r.corpus)):
            for pick in r.corpus_picks(i, op):
                assert set(pick) <= set(r.choices)
                assert all(v in r.values(arg, op) for arg, v in pick.items()), (op, pick)


def test_index_error_counts_as_a_torch_rejection():
    """IndexError is a LookupError (which otherwise means 'the target lacks this function')."""
    def conv2d(*args, **kwargs):
        raise IndexError("Dimension out of range")
    assert properties.error_parity(target_from_module(_module(conv2d=conv2d)), NEG_PAD)["target_error"].startswith(
        "IndexError")


def test_a_missing_function_is_not_a_verdict():
    """The one meaning of MissingFunction: the target lacks the function (here conv1d); the property
    raises it (not a failure, not a skip for capability)."""
    from conv_oracle.targets import MissingFunction
    case = Case("conv", 1, 1, 1, 1, 1, (4,), (2,))
    ops = make_operands(case, "exact", 0)
    with pytest.raises(MissingFunction, match="does not define conv1d"):
        properties.forward(target_from_module(_module()), case, ops, "float32")
    assert issubclass(MissingFunction, LookupError) and issubclass(properties.Unsupported, LookupError)
    assert not issubclass(MissingFunction, properties.Unsupported)  # a capability skip is another meaning
    assert not issubclass(properties.Unsupported, MissingFunction)


@pytest.mark.parametrize("error", [KeyError, IndexError])
def test_a_targets_own_lookup_error_on_a_valid_call_is_a_failure(error):
    """A KeyError / IndexError from the target's own code is judged like any other exception: the
    failure names it, the configuration and the snippet."""
    def conv2d(*args, **kwargs):
        raise error("tile (2, 2)")
    case = Case("conv", 2, 1, 1, 1, 1, (4, 4), (2, 2))
    ops = make_operands(case, "exact", 0)
    with pytest.raises(AssertionError) as info:
        properties.forward(target_from_module(_module(conv2d=conv2d)), case, ops, "float32")
    message = str(info.value)
    assert f"raised {error.__name__} on a valid configuration" in message
    assert "Reproduce with target plugged:" in message and "plugged.conv2d(" in message


def test_a_key_error_on_an_invalid_call_is_a_wrong_error():
    """KeyError is not among torch's rejections: raising it on an invalid call is the wrong error."""
    def conv2d(*args, **kwargs):
        raise KeyError("padding")
    with pytest.raises(AssertionError, match="raised KeyError on an invalid configuration"):
        properties.error_parity(target_from_module(_module(conv2d=conv2d)), NEG_PAD)


@pytest.mark.parametrize("name, marker", [("torch", "torch.nn.functional.conv1d("),
                                          ("torch-no-mkldnn", "with torch.backends.mkldnn.flags(enabled=False):"),
                                          ("torch-compile", "f = torch.compile(lambda x, w, b: torch.nn.functional.conv1d(x, w, b, "),
                                          ("torch-cuda-no-tf32", "torch.backends.cudnn.allow_tf32 = False")])
def test_snippets_reproduce_their_target(name, marker):
    from conv_oracle.checks.snippets import snippet
    case = Case("conv", 1, 1, 1, 1, 1, (3,), (2,))
    code = snippet(case, name, np.ones((1, 1, 3)), np.ones((1, 1, 2)), None)
    assert marker in code
    if name in ("torch", "torch-no-mkldnn"):
        exec(code, {})
