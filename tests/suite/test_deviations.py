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


def test_builtin_list_loads():
    entries = {e.id: e for e in D.Deviations.from_files([]).entries}
    transposed = ("onednn-transposed-output-length-0", "onednn-transposed-dilation-0",
                  "onednn-transposed-nan-in-bias-only-cells")
    assert set(transposed) <= set(entries)
    assert all(entries[i].lists.get("backend") == ["MkldnnTranspose"] for i in transposed)
    for e in entries.values():  # each scoped to a torch kernel and release range, or to one target
        assert (e.lists.get("backend") and e.torch is not None) or e.lists.get("target"), e.id


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
