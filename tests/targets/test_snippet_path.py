"""A failure's snippet runs the call on the path it failed on: the ISA cap (set before torch loads) and
the thread count come from the failure's execution path, so a fault that shows at 1 thread (a worker
of a ``-n 2`` run) or under a cap reproduces on a machine whose defaults differ."""

import os
import subprocess
import sys

import numpy as np

from conv_oracle.checks.comparison import CheckContext
from conv_oracle.checks.snippets import snippet
from conv_oracle.definition.case import Case

CASE = Case("conv", 1, 1, 1, 2, 1, (4,), (2,), bias=False)
X, W = np.ones((1, 1, 4)), np.ones((2, 1, 2))
SHOW = "\nprint('RAN', torch.get_num_threads(), torch.backends.cpu.get_cpu_capability(), os.environ.get('ONEDNN_MAX_CPU_ISA'))"


def _ran(code: str) -> list[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY", "OMP_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", "import os\n" + code + SHOW], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.split("RAN ")[-1].split()


def test_the_snippet_sets_the_cap_and_the_threads_of_the_failing_call():
    path = {"backend": "Mkldnn", "device": "cpu", "isa": "AVX2", "isa_cap": "AVX2", "aten": "AVX2", "threads": 1}
    code = snippet(CASE, "torch", X, W, None, path=path)
    assert code.index("ONEDNN_MAX_CPU_ISA") < code.index("import torch") < code.index("torch.set_num_threads(1)")
    threads, aten, cap = _ran(code)
    assert (threads, cap) == ("1", "AVX2") and aten in ("AVX2", "DEFAULT")  # DEFAULT: a CPU without AVX2
    failure = CheckContext(CASE, "torch", "float32", "exact", X, W, None, path=path).failure("differs")
    assert failure.details["snippet"] == code and "torch.set_num_threads(1)" in str(failure)


def test_without_a_path_or_a_cap_nothing_is_set():
    plain = snippet(CASE, "torch", X, W, None)
    assert plain.startswith("import torch\n\n") and "set_num_threads" not in plain and "environ" not in plain
    uncapped = snippet(CASE, "torch", X, W, None, path={"device": "cpu", "isa_cap": "ALL", "threads": 3})
    assert "environ" not in uncapped and _ran(uncapped)[0] == "3"
    cuda = snippet(CASE, "torch-cuda", X, W, None, "float32", device="cuda", path={"device": "cuda", "backend": "Cudnn"})
    assert cuda.startswith("import torch\n\n")
