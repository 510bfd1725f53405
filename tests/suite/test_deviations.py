"""Known deviations as scoped data: the file format, the scope of an entry, and their effect on a run."""

import os
import subprocess
import sys

import pytest

from conv_oracle.definition.case import Case
from conv_oracle.harness import deviations as D

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
META = os.path.join(ROOT, "tests", "meta")
SKIPS = os.path.join(ROOT, "conv_oracle", "suite", "test_skips.py")

ENTRY = '''
[[deviation]]
id = "e"
reason = "r"
kind = {kind}
{extra}
'''
#: the pinned finding: NaN reaches a bias-only output_padding cell
FINDING = Case("conv_transpose", 2, 2, 1, 1, 1, (1, 1), (2, 3), stride=(4, 3), output_padding=(0, 1), bias=False)


def load(tmp_path, extra, kind='"nonfinite"'):
    path = tmp_path / "d.toml"
    path.write_text(ENTRY.format(extra=extra, kind=kind))
    return D.load(str(path))


def example(**kw):
    ex = {"property": "bias_only_nonfinite", "target": "torch", "torch_kernels": True, "torch_version": "2.13.0+cpu",
          "op": "conv_transpose", "dtype": "float32", "rule": None,
          "path": {"backend": "MkldnnTranspose", "isa": "AVX512_CORE_BF16"}, "case": FINDING}
    ex.update(kw)
    return ex


@pytest.mark.parametrize("extra, message", [
    ('colour = "red"', "unknown key(s) ['colour']"),
    ('isa_min = "SSE4"', "isa_min='SSE4' must be one of AVX2"),
    ('torch = "two"', "is not a version specifier"),
    ('when = "__import__(\'os\')"', "may call only min, max"),
    ('when = "colour > 1"', "names 'colour'"),
    ('when = "stride.real"', "uses Attribute"),
    ('cells = "some"', "cells='some' must be one of bias_only, touched"),
    ('dtype = []', "'dtype' must be a string or a non-empty list"),
    ('got = "negative"', "got='negative' must be one of nan, inf, nonfinite, finite, zero"),
    ('expected = "small"', "expected='small' must be one of nan, inf, nonfinite, finite, zero"),
])
def test_malformed_entries_get_one_line_errors(tmp_path, extra, message):
    with pytest.raises(D.DeviationFileError) as info:
        load(tmp_path, extra)
    assert message in str(info.value) and "d.toml" in str(info.value) and "\n" not in str(info.value)


def test_reason_and_unique_ids_are_required(tmp_path):
    path = tmp_path / "d.toml"
    path.write_text('[[deviation]]\nid = "a"\n')
    with pytest.raises(D.DeviationFileError, match="'reason' is required"):
        D.load(str(path))
    path.write_text('[[deviation]]\nid = "a"\nreason = "x"\n')
    with pytest.raises(D.DeviationFileError, match="'kind' is required: the failure kinds the entry excuses"):
        D.load(str(path))
    path.write_text('[[deviation]]\nid = "a"\nreason = "x"\nkind = "segfault"\n')
    with pytest.raises(D.DeviationFileError, match="kind='segfault' must be one of wrong_value, nonfinite"):
        D.load(str(path))
    path.write_text('[[deviation]]\nid = "a"\nreason = "x"\nkind = "crash"\n[[deviation]]\nid = "a"\nreason = "y"\n'
                    'kind = "crash"\n')
    with pytest.raises(D.DeviationFileError, match="duplicate deviation id"):
        D.load(str(path))


def test_scope_by_backend_dtype_isa_version_and_configuration(tmp_path):
    (e,) = load(tmp_path, 'backend = "MkldnnTranspose"\ndtype = ["float32", "bfloat16"]\nisa_min = "AVX512_CORE"\n'
                          'torch = ">=2.13,<2.15"\nregimes = {output_padding = ["<stride"]}\n'
                          'when = "max(kernel_size) >= 3 and stride[0] > kernel_size[0]"')
    assert e.in_scope(example())
    assert not e.in_scope(example(path={"backend": "SlowTranspose2d", "isa": "AVX512_CORE_BF16"}))
    assert not e.in_scope(example(dtype="float64"))
    assert not e.in_scope(example(path={"backend": "MkldnnTranspose", "isa": "AVX2"}))
    assert not e.in_scope(example(torch_version="2.15.0"))
    from dataclasses import replace
    assert not e.in_scope(example(case=replace(FINDING, output_padding=0)))  # regime 'none'
    assert not e.in_scope(example(case=replace(FINDING, kernel_size=(2, 2))))  # when: max(kernel) < 3


def test_entries_without_target_cover_only_targets_running_torch_kernels(tmp_path):
    (e,) = load(tmp_path, 'backend = "MkldnnTranspose"')
    assert e.in_scope(example(target="mypackage.wraps_torch"))
    assert not e.in_scope(example(target="onnxruntime", torch_kernels=False))
    (t,) = load(tmp_path, 'target = "onnx*"')
    assert t.in_scope(example(target="onnxruntime", torch_kernels=False)) and not t.in_scope(example())


def test_cells_condition_reads_the_failing_cells(tmp_path):
    (e,) = load(tmp_path, 'cells = "bias_only"')
    bias_only = {"cells": [{"index": [0, 0, 1, 3], "expected": 0.0, "got": "nan"}]}  # no tap reaches it
    touched = {"cells": [{"index": [0, 0, 0, 0], "expected": 0.0, "got": "nan"}]}
    assert FINDING.untouched_mask()[1, 3] and not FINDING.untouched_mask()[0, 0]
    assert e.covers_failure(example(), bias_only) and not e.covers_failure(example(), touched)
    assert not e.covers_failure(example(), {"cells": []})  # nothing to check: not covered


def _cell(expected, got, index=(0, 0, 1, 3)):
    return {"index": list(index), "expected": expected, "got": got}


def test_an_entry_excuses_only_failures_of_its_kinds(tmp_path):
    (e,) = load(tmp_path, "", kind='["nonfinite", "crash"]')
    assert e.covers_failure(example(), {"cells": [_cell(0.0, "nan")]})  # NaN where 0 is due
    assert e.covers_failure(example(), {"kind": "crash", "cells": []})
    assert not e.covers_failure(example(), {"cells": [_cell(2.0, 0.0)]})  # a finite wrong value
    assert not e.covers_failure(example(), {"cells": [_cell("nan", 1.0)]})  # finite where NaN is due
    assert not e.covers_failure(example(), {"cells": [_cell(0.0, "nan"), _cell(1.0, 3.0)]})  # mixed: worst wins
    assert not e.covers_failure(example(), {"kind": "uninitialised", "cells": [_cell(0.0, "nan")]})
    assert not e.covers_failure(example(), {"kind": "hang", "cells": []})


def test_an_invalid_call_is_outside_an_entry_only_a_valid_call_can_reproduce(tmp_path):
    """An error-parity example (a rule broken) can never show a rejected valid call or a wrong value: it is not
    in the scope of an entry of those kinds, so it is never counted NOT REPRODUCED there (seen with the compile
    step's selection: a float64 rejected_valid entry counted its float64 error-parity examples)."""
    invalid = example(property="error_parity", rule="stride <= 0")
    for kind in ('"rejected_valid"', '["nonfinite", "wrong_value"]', '["finite", "wrong_shape"]'):
        (e,) = load(tmp_path, "", kind=kind)
        assert e.in_scope(example()) and not e.in_scope(invalid), kind
    for kind in ('"accepted_invalid"', '"wrong_error"', '"crash"', '["rejected_valid", "hang"]', '"uninitialised"'):
        (e,) = load(tmp_path, "", kind=kind)
        assert e.in_scope(invalid), kind
    path = tmp_path / "two.toml"
    path.write_text('[[deviation]]\nid = "valid"\nreason = "r"\nkind = "rejected_valid"\n'
                    '[[deviation]]\nid = "any"\nreason = "r"\nkind = ["accepted_invalid", "crash"]\n')
    devs = D.Deviations.from_files([str(path)], builtin=False)
    assert devs.match(invalid, {"kind": "accepted_invalid"}).id == "any"
    assert devs.in_scope_counts == {"valid": 0, "any": 1}


def test_got_condition_reads_the_values_given(tmp_path):
    (e,) = load(tmp_path, 'got = "nan"')
    assert e.covers_failure(example(), {"cells": [_cell(0.0, "nan")]})
    assert not e.covers_failure(example(), {"cells": [_cell(0.0, "inf")]})
    assert not e.covers_failure(example(), {"cells": []})  # nothing to check: not covered
    (z,) = load(tmp_path, 'got = "zero"', kind='"wrong_value"')
    assert z.covers_failure(example(), {"cells": [_cell(3.0, 0.0)]}) and not z.covers_failure(
        example(), {"cells": [_cell(3.0, 6.0)]})


def test_layout_matches_either_operand(tmp_path):
    (e,) = load(tmp_path, 'layout = "channels_last"')
    assert e.in_scope(example(x_layout="channels_last", w_layout="contiguous"))
    assert e.in_scope(example(x_layout="contiguous", w_layout="channels_last"))
    assert not e.in_scope(example(x_layout="sliced", w_layout="transposed"))


def test_output_length_in_conditions_is_the_unchecked_formula(tmp_path):
    (e,) = load(tmp_path, 'when = "min(output_length) == 0"', kind='"accepted_invalid"')
    zero = Case("conv_transpose", 1, 2, 1, 1, 1, (1,), (2,), padding=1)  # (1-1)*1 - 2 + 1*(2-1) + 1 = 0
    negative = Case("conv_transpose", 1, 2, 1, 1, 1, (1,), (2,), padding=2)  # -2
    assert D._case_vocabulary(zero)["output_length"] == (0,)
    assert D._case_vocabulary(negative)["output_length"] == (-2,)
    assert e.in_scope(example(case=zero)) and not e.in_scope(example(case=negative))
    assert D._case_vocabulary(Case("conv", 2, 1, 1, 1, 1, (7, 5), (3, 2), stride=(2, 1)))["output_length"] == (3, 4)
    assert D._case_vocabulary(Case("conv", 2, 1, 1, 1, 1, (7, 5), (3, 2), stride=(1, 5), padding="valid"))[
        "output_length"] == (5, 1)
    assert D._case_vocabulary(Case("conv", 1, 1, 1, 1, 1, (7,), (3,), padding="same"))["output_length"] == (7,)



def test_padding_only_in_conditions_is_per_dimension_and_false_for_invalid_calls(tmp_path):
    """padding_only[i]: every output cell along dimension i reads only zero padding (geometry's
    conv_padding_only_axes / conv_transpose_padding_only_axes); None for an invalid call."""
    (e,) = load(tmp_path, 'when = "padding_only[-1]"', kind='"crash"')
    width_padding = Case("conv", 2, None, 1, 1, 1, (2, 1), (2, 1), stride=(1, 2), padding=(0, 1), dilation=(1, 2))
    assert D._case_vocabulary(width_padding)["padding_only"] == (False, True)
    assert e.in_scope(example(case=width_padding))
    reads_a_pixel = Case("conv", 2, None, 1, 1, 1, (2, 2), (2, 1), stride=(1, 2), padding=(0, 1), dilation=(1, 2))
    assert D._case_vocabulary(reads_a_pixel)["padding_only"] == (False, False)
    assert not e.in_scope(example(case=reads_a_pixel))
    circular = Case("conv", 1, 1, 1, 1, 1, (3,), (1,), stride=4, padding=1, dilation=2, padding_mode="circular")
    assert D._case_vocabulary(circular)["padding_only"] == (False,)  # the padded positions copy the input
    nothing_lands = Case("conv_transpose", 1, 1, 1, 1, 1, (1,), (2,), padding=1, dilation=3)  # targets -1, 2 of 2
    assert D._case_vocabulary(nothing_lands)["padding_only"] == (True,)
    invalid = Case("conv", 1, 1, 1, 1, 1, (5,), (3,), stride=0)
    assert D._case_vocabulary(invalid)["padding_only"] is None
    assert not e.in_scope(example(op="conv", case=invalid))
    assert "padding_only" not in D._case_vocabulary(width_padding, padding_only=False)

def test_builtin_list_loads():
    entries = {e.id: e for e in D.Deviations.from_files([]).entries}
    transposed = ("onednn-transposed-output-length-0", "onednn-transposed-dilation-0",
                  "onednn-transposed-nan-in-bias-only-cells")
    assert set(transposed) <= set(entries)
    assert all(entries[i].lists.get("backend")[0] == "MkldnnTranspose" for i in transposed)
    for e in entries.values():  # each scoped to a torch kernel (or a compile mode) and release range, or to one target
        assert ((e.lists.get("backend") or e.lists.get("compile")) and e.torch is not None) or e.lists.get("target"), e.id


def run_suite(*args, target="torch"):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([META, ROOT, os.environ.get("PYTHONPATH", "")]))
    env.pop("CONV_ORACLE_TARGET", None)
    cmd = [sys.executable, "-m", "pytest", SKIPS, "-p", "no:cacheprovider", "-q", "-p", "no:randomly",
           "--target", target, *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.e2e
def test_a_module_wrapping_torch_inherits_the_backend_scoped_entry():
    """The pinned NaN finding fails in plain torch's float32 oneDNN path; a plugged-in module that passes
    the call to torch runs the same kernel, so the same entry covers it: red without the entry, green with."""
    sel = ("-k", "test_bias_only_cells_ignore_nonfinite and float32")
    with_entry = run_suite(*sel, target="faulty.passthrough")
    assert with_entry.returncode == 0, with_entry.stdout[-3000:]
    assert "onednn-transposed-nan-in-bias-only-cells: " in with_entry.stdout
    assert "deviated as expected" in with_entry.stdout


@pytest.mark.e2e
def test_unreproduced_entry_is_reported(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('[[deviation]]\nid = "too-wide"\nreason = "planted: covers a property that passes"\n'
                    'property = "bias_only_output_cells"\nop = "conv_transpose"\nkind = "wrong_value"\n')
    r = run_suite("-k", "test_bias_only_output_cells and float64", "--known-deviations", str(path))
    assert r.returncode == 0, r.stdout[-3000:]
    assert "known deviation too-wide: NOT REPRODUCED in" in r.stdout
    assert "WARNING: 1 known deviation(s) NOT REPRODUCED: too-wide" in r.stdout
    strict = run_suite("-k", "test_bias_only_output_cells and float64", "--known-deviations", str(path),
                       "--strict-deviations")
    assert strict.returncode == 1, strict.stdout[-3000:]  # every test passed; the stale entry fails the run
    assert "ERROR: 1 known deviation(s) NOT REPRODUCED: too-wide (--strict-deviations: the run fails)" in strict.stdout


@pytest.mark.e2e
def test_malformed_user_file_is_a_usage_error(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[[deviation]]\nid = "x"\nreason = "y"\nbackend = 3\n')
    r = run_suite("-k", "test_bias_only_output_cells and float64", "--known-deviations", str(path))
    assert r.returncode == 4 and "'backend' must be a string" in r.stdout + r.stderr


# -- written against surviving mutants of conv_oracle/harness/deviations.py (docs/mutation-testing.md) --

def test_isa_bounds_are_inclusive_and_an_unknown_isa_is_out_of_scope(tmp_path):
    (e,) = load(tmp_path, 'isa_min = "AVX2"\nisa_max = "AVX512_CORE"')
    for isa, inside in (("AVX2", True), ("AVX512_CORE", True), ("AVX512_CORE_BF16", False), ("SSE41", False),
                        (None, False)):
        assert e.in_scope(example(path={"backend": "MkldnnTranspose", "isa": isa})) is inside, isa
    (top,) = load(tmp_path, 'isa_max = "AVX512_CORE_BF16"')
    assert top.in_scope(example(path={"backend": "MkldnnTranspose", "isa": "AVX2"}))
    assert not top.in_scope(example(path={"backend": "MkldnnTranspose", "isa": "AVX512_CORE_AMX"}))


def test_touched_cells_condition_is_the_opposite_of_bias_only(tmp_path):
    (t,) = load(tmp_path, 'cells = "touched"')
    bias_only = {"cells": [_cell(0.0, "nan", (0, 0, 1, 3))]}
    touched = {"cells": [_cell(0.0, "nan", (0, 0, 0, 0))]}
    both = {"cells": [_cell(0.0, "nan", (0, 0, 0, 0)), _cell(0.0, "nan", (0, 0, 1, 3))]}
    assert t.covers_failure(example(), touched)
    assert not t.covers_failure(example(), bias_only) and not t.covers_failure(example(), both)
    (b,) = load(tmp_path, 'cells = "bias_only"')
    assert not b.covers_failure(example(), both)


def test_cells_condition_needs_cells_and_a_transposed_case(tmp_path):
    (e,) = load(tmp_path, 'cells = "bias_only"')
    assert not e.covers_failure(example(), {"kind": "nonfinite", "cells": []})  # of its kind, but no cells
    assert not e.covers_failure(example(case=None), {"cells": [_cell(0.0, "nan")]})
    conv = Case("conv", 2, 1, 1, 1, 1, (7, 7), (2, 2), stride=3)  # skipped pixels, but no bias-only cells
    assert not e.covers_failure(example(case=conv), {"cells": [_cell(0.0, "nan", (0, 0, 1, 1))]})


def test_describe_names_the_scope_and_the_link(tmp_path):
    (e,) = load(tmp_path, 'link = "https://example.org/1"\nop = "conv"\ntorch = ">=2.13"\nisa_min = "AVX2"\n'
                          'regimes = {output_padding = ["<stride"]}\nwhen = "groups == 1"\ncells = "touched"\n'
                          'got = "nan"')
    assert e.describe() == ("e (op conv; kind nonfinite; torch >=2.13; ISA AVX2..; output_padding <stride; "
                            "when groups == 1; cells touched; got nan): r [https://example.org/1]")
    (bare,) = load(tmp_path, "")
    assert bare.describe() == "e (kind nonfinite): r"


def test_match_counts_scope_and_matches_per_entry(tmp_path):
    path = tmp_path / "two.toml"
    path.write_text('[[deviation]]\nid = "a"\nreason = "r"\nkind = "crash"\nop = "conv"\n'
                    '[[deviation]]\nid = "b"\nreason = "r"\nkind = "nonfinite"\n')
    devs = D.Deviations.from_files([str(path)], builtin=False)
    nan = {"cells": [_cell(0.0, "nan")]}
    assert devs.match(example(), nan).id == "b"  # a is out of scope (op conv_transpose)
    assert devs.match(example(), {"kind": "hang", "cells": []}) is None
    assert devs.in_scope_counts == {"a": 0, "b": 2} and devs.matched_counts == {"a": 0, "b": 1}
    a = devs.entries[0]
    assert devs.match(example(), {"kind": "crash", "cells": []}, in_scope=[a]).id == "a"  # the given scope
    assert devs.match(example(), nan, in_scope=[]) is None
    assert devs.in_scope_counts == {"a": 0, "b": 2} and devs.matched_counts == {"a": 1, "b": 1}  # scope given: not recounted


def test_an_unknown_kind_is_named_first_of_several(tmp_path):
    with pytest.raises(D.DeviationFileError, match="kind='segfault' must be one of"):
        load(tmp_path, "", kind='["crash", "segfault", "boom"]')


def test_errors_number_the_entry_from_1(tmp_path):
    path = tmp_path / "d.toml"
    path.write_text('[[deviation]]\nid = "a"\nreason = "r"\nkind = "crash"\n[[deviation]]\nid = "b"\nreason = "r"\n')
    with pytest.raises(D.DeviationFileError, match=r"d.toml: deviation #2 \(b\): 'kind' is required"):
        D.load(str(path))


def test_got_conditions_nonfinite_and_zero(tmp_path):
    (n,) = load(tmp_path, 'got = "nonfinite"')
    assert n.covers_failure(example(), {"cells": [_cell(0.0, "nan"), _cell(1.0, "-inf")]})
    (f,) = load(tmp_path, 'got = "nonfinite"', kind='"wrong_value"')
    assert not f.covers_failure(example(), {"cells": [_cell(0.0, 2.0)]})
    (z,) = load(tmp_path, 'got = "zero"', kind='"wrong_value"')
    assert not z.covers_failure(example(), {"cells": [_cell(3.0, -3.0)]})  # negative is not zero
    assert z.covers_failure(example(), {"cells": [_cell(3.0, -0.0)]})


def test_got_condition_on_an_unreadable_value_does_not_cover(tmp_path):
    (e,) = load(tmp_path, 'got = "nan"', kind='"wrong_value"')
    assert not e.covers_failure(example(), {"cells": [_cell(3.0, None)]})  # float(None): TypeError
    assert not e.covers_failure(example(), {"cells": [_cell(3.0, "garbage")]})  # ValueError


def test_output_length_of_transposed_strides_and_padded_convolutions():
    transposed = Case("conv_transpose", 1, 1, 1, 1, 1, (3,), (2,), stride=2)  # (3-1)*2 + 1*(2-1) + 1 = 6
    assert D._case_vocabulary(transposed)["output_length"] == (6,)
    padded = Case("conv", 1, 1, 1, 1, 1, (5,), (3,), padding=2)  # (5 + 4 - 2 - 1) // 1 + 1 = 7
    assert D._case_vocabulary(padded)["output_length"] == (7,)


def test_stride_0_has_no_output_length_and_other_conditions_still_apply(tmp_path):
    stride_0 = Case("conv", 1, 1, 1, 1, 1, (5,), (3,), stride=0)
    assert D._case_vocabulary(stride_0)["output_length"] == (None,)
    (e,) = load(tmp_path, 'when = "groups == 1"', kind='"accepted_invalid"')
    assert e.in_scope(example(op="conv", case=stride_0))


def test_an_example_without_torch_kernels_flag_runs_torch_kernels(tmp_path):
    (e,) = load(tmp_path, 'op = "conv_transpose"')
    ex = example()
    del ex["torch_kernels"]
    assert e.in_scope(ex)


def test_an_unconditioned_entry_needs_no_case_but_a_conditioned_one_does(tmp_path):
    (e,) = load(tmp_path, 'op = "conv_transpose"')
    assert e.in_scope(example(case=None))
    (r,) = load(tmp_path, 'regimes = {output_padding = ["<stride"]}')
    assert r.in_scope(example()) and not r.in_scope(example(case=None))
    (w,) = load(tmp_path, 'when = "groups == 1"')
    assert w.in_scope(example()) and not w.in_scope(example(case=None))


def test_a_configuration_without_regimes_is_out_of_a_regime_scope(tmp_path):
    (r,) = load(tmp_path, 'regimes = {output_padding = ["<stride"]}')
    bad_stride = Case("conv", 1, 1, 1, 1, 1, (5,), (3,), stride=(1, 1))  # two strides for one dimension
    assert not r.in_scope(example(case=bad_stride))  # no exception either


def test_cells_condition_on_an_invalid_configuration_does_not_cover(tmp_path):
    (e,) = load(tmp_path, 'cells = "bias_only"')
    dilation_0 = Case("conv_transpose", 2, 1, 1, 1, 1, (1, 1), (4, 4), stride=5, dilation=(1, 0))
    assert not e.covers_failure(example(case=dilation_0), {"cells": [_cell(0.0, "nan", (0, 0, 3, 0))]})


def test_cells_condition_in_one_and_three_dimensions(tmp_path):
    (b,) = load(tmp_path, 'cells = "bias_only"')
    (t,) = load(tmp_path, 'cells = "touched"')
    one = Case("conv_transpose", 1, 1, 1, 1, 1, (2,), (2,), stride=3, output_padding=1, bias=False)
    assert one.untouched_mask().tolist() == [False, False, True, False, False, True]
    bias_only, touched = {"cells": [_cell(0.0, "nan", (0, 0, 2))]}, {"cells": [_cell(0.0, "nan", (0, 0, 1))]}
    assert b.covers_failure(example(case=one), bias_only) and not b.covers_failure(example(case=one), touched)
    assert t.covers_failure(example(case=one), touched) and not t.covers_failure(example(case=one), bias_only)
    three = Case("conv_transpose", 3, 1, 1, 1, 1, (1, 1, 2), (1, 1, 2), stride=(1, 1, 3), output_padding=(0, 0, 1),
                 bias=False)
    assert three.untouched_mask()[0, 0, 2] and not three.untouched_mask()[0, 0, 1]
    assert b.covers_failure(example(case=three), {"cells": [_cell(0.0, "nan", (0, 0, 0, 0, 2))]})
    assert not b.covers_failure(example(case=three), {"cells": [_cell(0.0, "nan", (0, 0, 0, 0, 1))]})


def test_regimes_must_be_lists_and_files_must_be_toml(tmp_path):
    with pytest.raises(D.DeviationFileError, match="'regimes' must be a table of tag = \\[values\\]"):
        load(tmp_path, 'regimes = {output_padding = "<stride"}')
    path = tmp_path / "bad.toml"
    path.write_text("[[deviation]\nid = ")
    with pytest.raises(D.DeviationFileError, match="bad.toml: not valid TOML"):
        D.load(str(path))
    with pytest.raises(D.DeviationFileError, match="cannot read the known-deviations file"):
        D.load(str(tmp_path / "missing.toml"))


def test_a_condition_that_cannot_be_evaluated_is_out_of_scope(tmp_path):
    (e,) = load(tmp_path, 'when = "stride[1] == 3"')  # FINDING is 2-d: in scope; a 1-d case has no stride[1]
    assert e.in_scope(example())
    assert not e.in_scope(example(case=Case("conv_transpose", 1, 1, 1, 1, 1, (3,), (2,))))


def test_a_when_that_does_not_parse_is_a_file_error(tmp_path):
    with pytest.raises(D.DeviationFileError, match=r"when='stride >' is not an expression \("):
        load(tmp_path, 'when = "stride >"')


def test_output_length_of_a_transposed_call_uses_every_parameter():
    # (3-1)*2 - 2*1 + 2*(3-1) + 1 + 1 = 8
    case = Case("conv_transpose", 1, 1, 1, 1, 1, (3,), (3,), stride=2, padding=1, dilation=2, output_padding=1)
    assert D._case_vocabulary(case)["output_length"] == (8,)


def test_a_negative_stride_has_no_output_length():
    assert D._case_vocabulary(Case("conv", 1, 1, 1, 1, 1, (5,), (3,), stride=-1))["output_length"] == (None,)


def test_torch_range_includes_prereleases_inside_it(tmp_path):
    (e,) = load(tmp_path, 'torch = ">=2.13,<2.15"')
    assert e.in_scope(example(torch_version="2.14.0.dev20250101+cpu"))
    assert not e.in_scope(example(torch_version="2.15.0"))
    assert not e.in_scope(example(torch_version=None))  # an unknown version is "0"


def test_an_id_of_the_builtin_list_cannot_be_reused(tmp_path):
    builtin_id = D.load(D.BUILTIN_FILE)[0].id
    path = tmp_path / "mine.toml"
    path.write_text(f'[[deviation]]\nid = "{builtin_id}"\nreason = "r"\nkind = "crash"\n')
    with pytest.raises(D.DeviationFileError, match="defined twice"):
        D.Deviations.from_files([str(path)])
    assert [e.id for e in D.Deviations.from_files([str(path)], builtin=False).entries] == [builtin_id]
