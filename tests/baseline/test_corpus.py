"""The baseline corpus: valid where it should be, invalid where it should be, covering every regime."""

from collections import defaultdict

import numpy as np
import pytest

from conv_oracle.baseline import corpus
from conv_oracle.definition.errors import ConvConfigError
from conv_oracle.definition.historical import HISTORICAL, HISTORICAL_MODULES
from conv_oracle.oracle.applied import oracle_forward
from conv_oracle.strategies import INVALID_RULE_OPS, LAYOUTS


def test_corpus_is_deterministic_and_ids_are_unique(corpus_entries):
    """Building twice gives the same entries in the same order; ids are unique."""
    again = corpus.build()
    assert [e.id for e in again] == [e.id for e in corpus_entries]
    assert corpus.digest(again) == corpus.digest(corpus_entries)
    assert len({e.id for e in corpus_entries}) == len(corpus_entries)


def test_corpus_size_is_a_few_hundred(corpus_entries):
    assert 150 <= len(corpus_entries) <= 400, len(corpus_entries)


def test_valid_entries_are_valid(corpus_entries):
    """Every valid entry passes the oracle's validation (torch's rules)."""
    for e in corpus_entries:
        if e.kind == "valid":
            e.case.config()  # raises ConvConfigError naming the rule


def test_invalid_entries_are_rejected_by_the_oracle(corpus_entries):
    """Every invalid call breaks a rule the oracle enforces."""
    for e in corpus_entries:
        if e.kind != "invalid":
            continue
        c = e.invalid_call()
        b = None if c.bias_shape is None else np.zeros(c.bias_shape)
        with pytest.raises(ConvConfigError):
            oracle_forward(e.case, np.zeros(c.input_shape), np.zeros(c.weight_shape), b)


def test_every_rule_and_op_has_invalid_calls(corpus_entries):
    got = defaultdict(int)
    for e in corpus_entries:
        if e.kind == "invalid":
            got[(e.rule, e.case.op)] += 1
    missing = [pair for pair in INVALID_RULE_OPS if got[pair] < 2]
    assert not missing, f"(rule, op) pairs with fewer than 2 invalid calls: {missing}"


def test_historical_cases_and_known_deviations_are_included(corpus_entries):
    labels = {e.label for e in corpus_entries}
    assert set(HISTORICAL) | set(HISTORICAL_MODULES) <= labels
    assert {label for _, label, _ in corpus.KNOWN_DEVIATIONS} <= labels


def test_every_finding_is_pinned_with_its_operands(corpus_entries):
    from conv_oracle.definition.historical import FINDINGS
    pinned = {e.label: e for e in corpus_entries if e.source == "finding"}
    assert set(pinned) == set(FINDINGS)
    for name, e in pinned.items():
        assert e.case == FINDINGS[name][0] and e.operands is not None
        assert np.asarray(e.operands[0]).shape == e.case.input_shape, name
        assert np.asarray(e.operands[1]).shape == e.case.weight_shape, name


def test_realistic_sizes_are_included(corpus_entries):
    """Layer-sized cases, where oneDNN's kernel choice (by size and thread count) differs from tiny ones."""
    big = [e for e in corpus_entries if e.source == "realistic"]
    assert len(big) >= 5 and {e.case.op for e in big} == {"conv", "conv_transpose"}
    assert all(e.case.in_channels >= 8 and max(e.case.input_size) >= 8 for e in big)


@pytest.mark.parametrize("op", ["conv", "conv_transpose"])
def test_every_regime_is_covered(corpus_entries, op):
    """Each value of each regime tag occurs for each op (stride vs kernel, dims, groups, padding, ...)."""
    seen = defaultdict(set)
    for e in corpus_entries:
        if e.kind == "valid" and e.case.op == op:
            for key, value in e.case.regimes().items():
                seen[key].add(value)
            seen["stride_vs_kernel_any"] |= set(e.case.regimes()["stride_vs_kernel"])
    expected = {"dims": {"1d", "2d", "3d"}, "stride_vs_kernel_any": {"<", "=", ">"}, "dilation": {"yes", "no"},
                "groups": {"no", "yes", "depthwise"}, "batch": {"unbatched", "batch1", "batchN"},
                "bias": {"yes", "no"}}
    if op == "conv":
        expected["padding"] = {"zero", "int", "valid", "same"}
        expected["padding_mode"] = {"zeros", "reflect", "replicate", "circular"}
    else:
        expected["padding"] = {"zero", "int"}
        expected["output_padding"] = {"none", "<stride", ">=stride(<dilation)", "output_size"}
    for key, values in expected.items():
        assert values <= seen[key], f"{op}: regime {key} lacks {values - seen[key]}"


def test_every_layout_is_used(corpus_entries):
    used = {e.x_layout for e in corpus_entries} | {e.w_layout for e in corpus_entries}
    assert used == set(corpus.CORPUS_LAYOUTS)
    assert set(LAYOUTS) - set(corpus.CORPUS_LAYOUTS) == {"strided"}  # the one the next corpus version adds


def test_id_depends_on_content_not_label():
    a = corpus.Entry("grid", "one name", corpus._grid_case("conv", 2, ">", False, 0, 0))
    b = corpus.Entry("extra", "another name", a.case)
    c = corpus.Entry("grid", "one name", a.case, x_layout="sliced")
    assert a.id == b.id and a.id != c.id
