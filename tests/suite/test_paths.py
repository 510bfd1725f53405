"""Execution paths: ISA levels from CPU flags, path variants of targets, the per-example backend, the
ISA matrix plan and the fold of its results."""

import itertools
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conv_oracle.definition.case import Case
from conv_oracle.definition.errors import ConvConfigError
from conv_oracle.harness import matrix
from conv_oracle.machine.fingerprint import cpu_info, fingerprint, hardware_class, onednn_version
from conv_oracle.machine.kernel_path import conv_backend, cpu_isa_levels, describe, effective_isa, memory_format
from conv_oracle.targets import load_target
from conv_oracle.targets.variants import variant

AVX2 = ["avx2", "fma"]
SPR = AVX2 + ["avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16"]
ZEN4 = AVX2 + ["avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16"]


def test_isa_levels_follow_the_cpu_flags_in_order():
    assert cpu_isa_levels(AVX2) == ["AVX2"]
    assert cpu_isa_levels(ZEN4)[-1] == "AVX512_CORE_BF16"
    assert cpu_isa_levels(SPR)[-1] == "AVX512_CORE_AMX"
    assert cpu_isa_levels(["avx512f", "avx512bw", "avx512vl"]) == []  # no AVX2: nothing above it counts
    assert cpu_isa_levels(["asimd", "sve"]) == []


def test_effective_isa_is_lowered_by_the_cap_never_raised():
    assert effective_isa(SPR, {}) == "AVX512_CORE_AMX"
    assert effective_isa(SPR, {"ONEDNN_MAX_CPU_ISA": "AVX2"}) == "AVX2"
    assert effective_isa(AVX2, {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE_AMX"}) == "AVX2"
    assert effective_isa(ZEN4, {"ONEDNN_MAX_CPU_ISA": "ALL"}) == "AVX512_CORE_BF16"


def test_matrix_plan_covers_every_level_at_one_and_n_threads():
    plan = matrix.plan("all", "1,4", SPR)
    assert [p["level"] for p in plan] == cpu_isa_levels(SPR)
    assert plan[0]["env"] == {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}
    assert plan[-1]["targets"] == ["torch@isa=avx512_core_amx,threads=1", "torch@isa=avx512_core_amx,threads=4"]
    with pytest.raises(ConvConfigError, match="lacks AVX512_CORE_AMX"):
        matrix.plan("avx2,avx512_core_amx", None, ZEN4)
    with pytest.raises(ConvConfigError, match="not one of all"):
        matrix.plan("sse4", None, ZEN4)
    with pytest.raises(ConvConfigError, match="positive integers"):
        matrix.plan("all", "0", ZEN4)


def _rec(target, verdict, case=1, test="t.py::test_x[{t}-float32]"):
    return {"test": test.format(t=target), "target": target, "property": "p", "case": {"c": case},
            "dtype": "float32", "mode": "exact", "x_layout": "contiguous", "w_layout": "contiguous", "seed": 0,
            "verdict": verdict}


def test_fold_names_where_the_same_example_fails_passes_and_was_not_reached():
    recs = [_rec("a", "fail"), _rec("b", "pass"), _rec("c", "fail"), _rec("a", "pass", case=2), _rec("b", "pass", case=2)]
    (entry,) = matrix.fold(recs)
    assert entry["wrong_at"] == ["a", "c"] and entry["right_at"] == ["b"] and entry["not_reached"] == []
    assert entry["test"] == "t.py::test_x[float32]"
    assert matrix.fold_phrase(entry) == "wrong at a, c; right at b"
    (other,) = matrix.fold([_rec("a", "fail", case=3), _rec("b", "pass", case=4)])
    assert other["not_reached"] == ["b"]
    reseeded = dict(_rec("b", "pass"), seed=1)  # same configuration, other operands: not the same example
    (third,) = matrix.fold([_rec("a", "fail"), reseeded])
    assert third["right_at"] == [] and third["not_reached"] == ["b"]


def test_variants_refuse_levels_the_cpu_lacks_and_need_their_own_process():
    levels = cpu_isa_levels(cpu_info()["flags"])
    if not levels:
        pytest.skip("no x86 oneDNN ISA level on this CPU")
    with pytest.raises(ConvConfigError, match="ISA level 'sse' must be one of avx2, "):
        load_target("torch@isa=sse")
    # a level this CPU lacks: on a CPU that has them all, emulate an AVX2-only one (the check reads the flags)
    missing = "AVX512_CORE_AMX" if "AVX512_CORE_AMX" not in levels else None
    flags = cpu_info()["flags"] if missing else ["avx2", "fma"]
    with pytest.raises(ConvConfigError, match="this CPU has ISA levels AVX2.*; a cap can only lower the level, not raise it to AVX512_CORE_AMX"):
        variant(load_target("torch"), "torch@isa=avx512_core_amx", "isa=avx512_core_amx", flags)
    t = load_target(f"torch@isa={levels[0].lower()},threads=1")
    assert t.threads == 1 and t.env["ONEDNN_MAX_CPU_ISA"] == levels[0]
    with pytest.raises(ConvConfigError, match="needs a process started with"):
        t.require_environment({})
    t.require_environment(dict(t.env))


def test_backend_per_example_and_its_description():
    import torch
    case = Case("conv_transpose", 2, 2, 2, 2, 1, (3, 3), (2, 2), stride=4)
    x, w = torch.ones(case.input_shape, dtype=torch.float64), torch.ones(case.weight_shape, dtype=torch.float64)
    assert conv_backend(case, x, w, None) == "SlowTranspose2d"  # float64 never goes to oneDNN
    with torch.backends.mkldnn.flags(enabled=False):
        assert conv_backend(case, x.float(), w.float(), None) == "SlowTranspose2d"
    if torch.backends.mkldnn.is_available():  # the binding leaves this value unnamed: we name it
        assert conv_backend(case, x.float(), w.float(), None) == "MkldnnTranspose"
    text = describe({"backend": "Mkldnn", "device": "cpu", "isa": "AVX2", "isa_cap": "AVX2", "aten": "AVX2", "threads": 1})
    assert text == "backend Mkldnn, ISA AVX2 (cap AVX2), ATen AVX2, 1 threads"


def test_backend_of_an_asymmetric_same_padding_whose_kernel_fits_only_after_the_extra_pad():
    """torch pads the input by the difference first; the query must see that input (it answered None,
    so a crash on this path, the AMX bfloat16 conv3d segfault, fell outside its Mkldnn-scoped entry)."""
    import torch
    case = Case("conv", 3, 1, 3, 1, 1, (1, 1, 5), (2, 2, 1), padding="same", dilation=(2, 1, 1), bias=False)
    x, w = torch.ones(case.input_shape, dtype=torch.float64), torch.ones(case.weight_shape, dtype=torch.float64)
    assert conv_backend(case, x, w, None) == "SlowDilated3d"
    bf16 = "Mkldnn" if torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported() else "SlowDilated3d"
    assert conv_backend(case, x.bfloat16(), w.bfloat16(), None) == bf16


def test_fingerprint_never_raises_and_names_the_hardware_class(tmp_path):
    fp = fingerprint()
    json.dumps(fp)
    assert fp["torch"]["version"] and "cpu_capability" in fp["torch"]
    assert hardware_class(fp).startswith(fp["cpu"]["arch"])
    assert onednn_version("  - Intel(R) MKL-DNN v3.12.0 (Git Hash 80af)") == "3.12.0"
    fake = tmp_path / "cpuinfo"
    fake.write_text("vendor_id\t: GenuineIntel\nmodel name\t: Xeon\nflags\t\t: sse avx2 fma amx_tile avx512f\n")
    info = cpu_info(str(fake))
    assert info["vendor"] == "GenuineIntel" and info["flags"] == ["avx2", "fma", "avx512f", "amx_tile"]


@pytest.mark.e2e
def test_run_isa_records_the_capped_path(tmp_path):
    """One capped level in its own process: every record says which ISA and threads ran it."""
    if not cpu_isa_levels(cpu_info()["flags"]):
        pytest.skip("no x86 oneDNN ISA level on this CPU")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "conv_oracle.cli", "run", "--isa", "avx2", "--threads", "1",
                           "--profile", "dev", "-k", "test_output_shape", "--out", str(out)],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    from conv_oracle.harness import records
    recs = records.load(str(out / "latest" / "records.jsonl"))
    assert recs and {r["target"] for r in recs} == {"torch@isa=avx2,threads=1"}
    assert all(r["path"]["isa"] == "AVX2" and r["path"]["threads"] == 1 and r["path"]["aten"] == "AVX2" for r in recs)
    (env,) = records.environments(str(out / "latest" / "records.jsonl"))
    assert env["env"]["ONEDNN_MAX_CPU_ISA"] == "AVX2"


def test_a_calls_path_names_each_operands_strides_and_offset():
    """The layout label names a class; the path names the member: shape, strides, storage offset."""
    from conv_oracle.targets import execution, load_target
    case = Case("conv", 2, 2, 2, 2, 1, (3, 4), (2, 2), bias=True)
    x, w, b = np.ones(case.input_shape), np.ones(case.weight_shape), np.ones(case.bias_shape)
    call = execution.run(load_target("torch"), case, x, w, b, "float32", "sliced", "transposed")
    strides = call.path["strides"]
    assert strides["input"] == {"shape": [2, 2, 3, 4], "stride": [48, 24, 8, 2], "offset": 0}  # every other column
    assert strides["weight"]["stride"] == [8, 4, 1, 2] and strides["bias"]["stride"] == [1]
    assert "strides input (48, 24, 8, 2)+0 weight (8, 4, 1, 2)+0 bias (1,)+0" in describe(call.path)


def test_memory_format_judges_strides_as_torch_does():
    """Every stride pattern of small 3-D to 5-D shapes: contiguous and channels_last exactly where torch's
    is_contiguous says so; channels_last only with the strides .to(memory_format=...) gives, channels_last_odd
    where a size-1 dimension has another stride (what known deviations scope with ``w_memory``)."""
    torch = pytest.importorskip("torch")
    seen = set()
    for nd, sizes, strides in ((3, (1, 2, 3), (0, 1, 2, 6)), (4, (1, 2, 3), (0, 1, 2, 6, 12)), (5, (1, 2), (0, 1, 2, 4))):
        fmt = {4: torch.channels_last, 5: torch.channels_last_3d}.get(nd)
        for shape in itertools.product(sizes, repeat=nd):
            canonical = [tuple(torch.empty(shape).to(memory_format=fmt).stride())] if fmt is not None else []
            for stride in [*itertools.islice(itertools.product(strides, repeat=nd), 0, None, 7), *canonical]:
                t = torch.empty(sum((n - 1) * s for n, s in zip(shape, stride)) + 1).as_strided(shape, stride)
                got = memory_format(shape, stride)
                seen.add(got)
                if t.is_contiguous():
                    assert got == "contiguous", (shape, stride)
                elif fmt is not None and t.is_contiguous(memory_format=fmt):
                    assert got == ("channels_last" if canonical == [stride] else "channels_last_odd"), (shape, stride)
                else:
                    assert got == "other", (shape, stride)
    assert seen == {"contiguous", "channels_last", "channels_last_odd", "other"}
