"""Public strategies check their arguments when called, as hypothesis.extra.numpy does."""

import pytest
from hypothesis.errors import InvalidArgument

from conv_oracle import strategies as cs


@pytest.mark.parametrize("call, named", [
    (lambda: cs.cases(op="convolution"), "op='convolution'"),
    (lambda: cs.cases(nd=4), "nd=4"),
    (lambda: cs.cases(nd=True), "nd=True"),
    (lambda: cs.cases(padding_modes="yes"), "padding_modes='yes'"),
    (lambda: cs.cases(max_side=0), "max_side=0"),
    (lambda: cs.cases(min_terms=0), "min_terms=0"),
    (lambda: cs.cases(untouched=1), "untouched=1"),
    (lambda: cs.layouts(nd=5), "nd=5"),
    (lambda: cs.invalid_cases("no such rule"), "rule='no such rule'"),
    (lambda: cs.invalid_cases(op="conv3d"), "op='conv3d'"),
    (lambda: cs.invalid_cases("bad output_size", "conv"), "does not apply"),
])
def test_bad_arguments_raise_when_called(call, named):
    with pytest.raises(InvalidArgument) as info:
        call()  # not drawn: building the strategy is enough
    assert named in str(info.value) and "\n" not in str(info.value)


def test_min_terms_and_untouched_hold_for_every_draw():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=40, database=None, deadline=None)
    @given(st.data())
    def check(data):
        wide = data.draw(cs.cases(min_terms=600, max_side=4))
        assert wide.in_channels // wide.groups >= 600
        gap = data.draw(cs.cases(untouched=True))
        assert gap.untouched_mask().any()

    check()


def test_good_arguments_build():
    cs.cases(op="conv_transpose", nd=3, max_side=4)
    cs.layouts(2)
    cs.invalid_cases("negative padding", "conv")
