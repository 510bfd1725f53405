"""Error parity's reason: the table of torch's wording (pinned to torch 2.13.0's messages on fixed calls),
the classifier, and the property on targets with torch's messages and with their own."""

import types

import numpy as np
import pytest
import torch.nn.functional as F

from conv_oracle.baseline import corpus
from conv_oracle.checks import properties
from conv_oracle.checks.properties import rejection_reason
from conv_oracle.definition.case import Case
from conv_oracle.definition.dtypes import FLOAT_DTYPES
from conv_oracle.definition.invalid_calls import INVALID_RULE_OPS, INVALID_RULES, TORCH_WORDING, named_rules
from conv_oracle.targets import execution, load_target, target_from_module

CHANNELS = "Given groups=2, weight of size [2, 1, 3], expected input[1, 3, 5] to have 2 channels, but got 3 channels instead"
ONEDNN = "could not construct a memory descriptor using a format tag"
KNOWN_DEVIATION_LABELS = {label for _, label, _ in corpus.KNOWN_DEVIATIONS}


# ---- the classifier (pure) ------------------------------------------------------------------------

def test_the_table_names_known_rules_and_every_rule():
    named = set().union(*(rules for _, rules in TORCH_WORDING))
    assert named == set(INVALID_RULES)


def test_a_message_naming_the_rule_matches():
    assert rejection_reason("negative padding", "RuntimeError: negative padding is not supported") == (
        "negative padding", None)
    assert rejection_reason("negative output_padding", "negative output_padding is not supported") == (
        "negative output_padding", None)  # not taken for negative padding
    assert named_rules("negative output_padding is not supported") == {"negative output_padding"}


def test_a_message_naming_another_rule_is_another_reason():
    assert rejection_reason("negative padding", "non-positive stride is not supported") == (
        None, "'non-positive stride'")


def test_a_message_naming_no_rule_is_unrecognised():
    for message in ("RuntimeError: no", ONEDNN, ""):
        assert named_rules(message) == frozenset()
        assert rejection_reason("transposed output size < 1", message) == ("unrecognised", None)


def test_wording_shared_by_several_rules_names_them_all():
    shared = {"channels not divisible by groups", "weight channels mismatch"}
    assert named_rules(CHANNELS) == shared
    for rule in shared:
        assert rejection_reason(rule, CHANNELS) == (rule, None)
    assert rejection_reason("wrong bias shape", CHANNELS) == (
        None, "'channels not divisible by groups' or 'weight channels mismatch'")


# ---- the table against torch 2.13.0's own messages ---------------------------------------------

def _pinned_calls(rule, op):
    """The corpus's fixed calls breaking ``rule`` with ``op`` (the oneDNN deviations' calls left out)."""
    return [e.invalid_call() for e in corpus.invalid()
            if e.rule == rule and e.case.op == op and e.label not in KNOWN_DEVIATION_LABELS]


def _rejection(call, dtype):
    x, w = np.zeros(call.input_shape), np.zeros(call.weight_shape)
    b = None if call.bias_shape is None else np.zeros(call.bias_shape)
    try:
        execution.run(load_target("torch"), call.case, x, w, b, dtype)
    except Exception as exc:
        return str(exc)
    return None


@pytest.mark.parametrize("rule, op", INVALID_RULE_OPS)
def test_torch_words_every_rule_as_the_table_says(rule, op):
    """float64 (never oneDNN, on any CPU) names the rule on every fixed call; no dtype names another rule
    (oneDNN's unrelated messages in the other dtypes name none)."""
    calls = _pinned_calls(rule, op)
    assert calls
    for call in calls:
        for dtype in FLOAT_DTYPES:
            message = _rejection(call, dtype)
            named = named_rules(message or "")
            if dtype == "float64":
                assert rule in named, f"{call!r}: torch's message {message!r} names {sorted(named)}, not {rule!r}"
            assert not named or rule in named, f"{call!r} in {dtype}: {message!r} names {sorted(named)}"


# ---- the property --------------------------------------------------------------------------------

NEG_PAD = INVALID_RULES["negative padding"].call(Case("conv", 2, 2, 2, 3, 1, (6, 5), (2, 3), (2, 1), 1), value=-1)


def _module(conv2d, **attrs):
    m = types.ModuleType("plugged", "A plugged-in test target.")
    m.conv2d, m.conv_transpose2d = conv2d, F.conv_transpose2d
    for k, v in attrs.items():
        setattr(m, k, v)
    return m


def _raising(message):
    def conv2d(*args, **kwargs):
        raise RuntimeError(message)
    return conv2d


def test_torch_is_rejected_for_the_rule():
    got = properties.error_parity(load_target("torch"), NEG_PAD)
    assert got["reason"] == "negative padding"


def test_another_rules_wording_is_a_wrong_error():
    target = target_from_module(_module(_raising("non-positive stride is not supported")))
    with pytest.raises(AssertionError) as info:
        properties.error_parity(target, NEG_PAD)
    assert ("rejected negative padding for another reason: its message names 'non-positive stride': "
            "RuntimeError: non-positive stride is not supported; the oracle says: padding=") in str(info.value)
    assert info.value.details["kind"] == "wrong_error"


def test_unrecognised_wording_passes_and_says_so():
    got = properties.error_parity(target_from_module(_module(_raising("no"))), NEG_PAD)
    assert got["reason"] == "unrecognised" and got["target_error"] == "RuntimeError: no"


def test_a_target_with_its_own_messages_is_not_read():
    own = target_from_module(_module(_raising("non-positive stride is not supported"), CAPABILITY={"messages": None}))
    assert own.capability.summary() == "own messages"
    got = properties.error_parity(own, NEG_PAD)
    assert "reason" not in got and got["target_error"].startswith("RuntimeError: non-positive stride")
