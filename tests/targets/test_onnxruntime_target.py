"""The ONNX Runtime target: its declared capability and a few calls against the oracle (skips cleanly
where onnxruntime / onnx are not installed: `pip install "conv_oracle[onnx]"`)."""

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from conv_oracle.checks import properties  # noqa: E402
from conv_oracle.definition.case import Case  # noqa: E402
from conv_oracle.definition.invalid_calls import INVALID_RULES  # noqa: E402
from conv_oracle.strategies import make_operands  # noqa: E402
from conv_oracle.targets import load_target  # noqa: E402


@pytest.fixture(scope="module")
def ort():
    return load_target("onnxruntime")


def _dtypes_in_child(**env) -> tuple[str, str]:
    """``(dtypes, setting)``: the target's float dtypes in a fresh interpreter run with ``env``, and the
    ``ort_kernels`` setting it leaves for its own children."""
    import os
    import subprocess
    import sys
    from conv_oracle.machine.settings import NAMES
    code = ("import os, conv_oracle.targets.onnxruntime as m; "
            f"print(','.join(m.CAPABILITY['dtypes'])); print(os.environ[{NAMES['ort_kernels']!r}])")
    full = {k: v for k, v in os.environ.items() if k != NAMES["ort_kernels"]}
    full.update({NAMES["ort_kernels"]: v for v in env.values()})
    out = subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return tuple(out.stdout.split())


def test_the_kernel_probe_runs_once_per_process_tree():
    """A process probes ONNX Runtime's float16 kernels (in a child without torch) and hands the answer to its
    own children with the version it holds for; a child that inherits an answer for this version uses it
    unprobed (here a planted answer, the opposite of the probe's), one for another version probes again."""
    import onnxruntime
    version = onnxruntime.__version__
    probed, told = _dtypes_in_child()
    assert probed in ("float32", "float32,float16") and told == f"{version}:{probed}"
    planted = "float32" if probed == "float32,float16" else "float32,float16"
    assert _dtypes_in_child(inherited=f"{version}:{planted}") == (planted, f"{version}:{planted}")
    assert _dtypes_in_child(inherited=f"0.0.0-other:{planted}") == (probed, f"{version}:{probed}")


def test_declared_capability(ort):
    cap = ort.capability
    assert not cap.autograd and "float32" in cap.dtypes and "float64" not in cap.dtypes and "bfloat16" not in cap.dtypes
    assert cap.options == {"padding_mode"} and RuntimeError not in cap.rejects
    assert cap.messages is None  # its own wording: the reason of a rejection is not compared
    assert ort.unsupported("float64") and ort.unsupported("float32", autograd=True)
    assert repr(ort).startswith("Target('onnxruntime', device='cpu', ") and "\n" not in repr(ort)


@pytest.mark.parametrize("case", [
    Case("conv", 2, 2, 4, 6, 2, (7, 6), (3, 2), (3, 2), (1, 0), (1, 2)),
    Case("conv", 1, None, 3, 3, 3, (8,), (2,), 4, "valid", 1),
    Case("conv", 2, 1, 2, 2, 1, (6, 5), (3, 2), 1, "same", 2, padding_mode="reflect"),
    Case("conv", 3, 1, 1, 2, 1, (4, 3, 5), (2, 2, 3), 1, 1, 1, padding_mode="circular"),
    Case("conv_transpose", 2, 2, 2, 4, 2, (3, 2), (2, 3), (4, 3), (1, 0), 1, (2, 1)),
    Case("conv_transpose", 1, None, 1, 1, 1, (2,), (2,), 4),
], ids=lambda c: c.describe()[:40])
def test_forward_exact(ort, case):
    ops = make_operands(case, "exact", 7)
    assert properties.forward(ort, case, ops, "float32")["bound_share"] == 0.0


def test_invalid_calls_are_rejected_with_its_own_exception_types(ort):
    base = Case("conv", 2, 1, 2, 4, 2, (5, 6), (2, 3), (3, 1), (0, 1))
    got = properties.error_parity(ort, INVALID_RULES["channels not divisible by groups"].call(
        base, g=2, per_group=1, remainder=1, out_per_group=1))
    assert not got["target_error"].startswith(("RuntimeError", "ValueError"))  # ONNX Runtime's own type
    assert "reason" not in got  # its own wording (messages: None) is not read


def test_relaxed_negative_padding_is_checked(ort):
    base = Case("conv_transpose", 2, 2, 2, 3, 1, (3, 4), (2, 3), (2, 1))
    got = properties.error_parity(ort, INVALID_RULES["negative padding"].call(base, value=-2))
    assert got["relaxed"] == "accepted, checked against the definition"


def test_snippet_calls_the_module():
    from conv_oracle.checks.comparison import CheckContext
    case = Case("conv", 1, 1, 1, 1, 1, (3,), (2,))
    ctx = CheckContext(case, "onnxruntime", "float32", "exact", np.ones((1, 1, 3)), np.ones((1, 1, 2)), np.ones(1))
    text = str(ctx.failure("planted"))
    assert "Reproduce with target onnxruntime:\nimport torch\nimport conv_oracle.targets.onnxruntime\n" in text
    assert "conv_oracle.targets.onnxruntime.conv1d(x, w, b, " in text
    exec(ctx.snippet(), {})  # and it runs


def test_unbatched_and_float16(ort):
    if "float16" not in ort.dtypes:
        pytest.skip("this onnxruntime build has no float16 Conv kernels on the CPU")
    import conv_oracle.targets.onnxruntime as m
    out = m.conv1d(torch.ones(2, 5, dtype=torch.float16), torch.ones(3, 2, 2, dtype=torch.float16))
    assert out.dtype == torch.float16 and out.shape == (3, 4) and bool((out == 4).all())


@pytest.mark.e2e
def test_the_whole_suite_passes_with_the_declared_capability():
    """Every differential test against ONNX Runtime, in a pytest of its own (seeded dev profile, to
    stay inside CI's time): no failure that is only about torch's exception types, dtypes or autograd
    (those are skips with reasons), and its one finding applied as a scoped known deviation."""
    import os
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {k: v for k, v in os.environ.items() if k != "CONV_ORACLE_TARGET"}
    proc = subprocess.run([sys.executable, "-m", "pytest", os.path.join(root, "conv_oracle", "suite"), "-q",
                           "-p", "no:cacheprovider", "--target", "onnxruntime",
                           "--hypothesis-profile", "dev", "--hypothesis-seed", "0", "-rs"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert " passed" in out and " failed" not in out
    assert "onnxruntime does not support float64 (declared dtypes" in out  # dtype gaps: skips with reasons
    assert "onnxruntime declares no autograd: gradients are not checked" in out
    assert "onnxruntime-convtranspose-output-padding-between-stride-and-dilation" in out
