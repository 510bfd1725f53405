"""Meta-tests for the compiled targets (``torch-compile@MODE``): a fault planted in the code Inductor generates
for one mode (``tests/meta/faulty/compiled_*.py``, through an Inductor graph pass) fails the suite, while
``torch-compile@MODE`` itself passes the same selection, and every record of a compiled target names its mode and
what the generated code called. One suite process runs them all (minutes: marked ``compile``, deselected unless
``-m compile`` asks for it; CI runs it in its compile step, ``.ci/run``)."""

import os
import subprocess
import sys

import pytest

from conv_oracle.harness.records import Verdict

pytestmark = [pytest.mark.meta, pytest.mark.compile]

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

#: planted target -> (the real target it mirrors, -k selection, the test that must fail, the mode in its path)
FAULTS = {
    # float-mode draws reach the prepacked op (2-D / 3-D batched float32); the exact ones often do not
    "faulty.compiled_freezing_fault": ("torch-compile@freezing", "test_forward_float and float32",
                                       "test_forward_float"),
    "faulty.compiled_dynamic_fault": ("torch-compile@dynamic", "test_forward_exact and float32", "test_forward_exact"),
    "faulty.compiled_autotune_fault": ("torch-compile@max-autotune", "test_forward_exact and float32",
                                       "test_forward_exact"),
    "faulty.compiled_backward_fault": ("torch-compile", "test_gradient and float32 and exact and weight",
                                       "test_gradient"),
}


@pytest.fixture(scope="module")
def compiled_run(tmp_path_factory):
    """One suite run over the planted and the real compiled targets, each with its own selection."""
    folder = tmp_path_factory.mktemp("compiled-run")
    pairs = [(planted, sel) for planted, (_, sel, _) in FAULTS.items()]
    pairs += [(real, sel) for real, sel, _ in FAULTS.values()]
    expression = " or ".join(f"({_key(t)} and ({sel}))" for t, sel in pairs)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([HERE, ROOT, os.environ.get("PYTHONPATH", "")]))
    env.pop("PYTEST_XDIST_WORKER", None)
    cmd = [sys.executable, "-m", "pytest", os.path.join(ROOT, "conv_oracle", "suite"), "-p", "no:cacheprovider", "-q",
           "-p", "no:randomly", "--hypothesis-profile", "compile", "--records", str(folder / "records"),
           "-k", expression] + [a for t, _ in pairs for a in ("--target", t)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200)
    import json
    records = []
    for name in sorted(os.listdir(folder / "records")):
        if name.endswith(".jsonl"):
            records += [json.loads(line) for line in open(folder / "records" / name) if line.strip()]
    return proc, records


def _key(target: str) -> str:
    """A -k term selecting ``target``'s tests (its name opens the test id's brackets; -k takes no '@')."""
    base, _, mode = target.partition("@")
    return f"({base} and {mode})" if mode else f"[{target}-"


def _failed(out: str, target: str, test: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("FAILED") and f"{test}[{target}-" in line]


@pytest.mark.parametrize("planted", sorted(FAULTS))
def test_planted_compiled_fault_fails(planted, compiled_run):
    proc, records = compiled_run
    real, _, test = FAULTS[planted]
    assert _failed(proc.stdout, planted, test), f"the suite did not fail {test} on {planted}:\n{proc.stdout[-4000:]}"
    mine = [r for r in records if r.get("target") == planted and r.get("verdict") == Verdict.FAIL]
    assert mine and all((r.get("failure") or {}).get("kind") == "wrong_value" for r in mine), mine[:1]
    assert f"Reproduce with target {planted}:" in proc.stdout


@pytest.mark.parametrize("real", sorted({real for real, _, _ in FAULTS.values()}))
def test_real_compiled_target_passes_and_names_its_path(real, compiled_run):
    proc, records = compiled_run
    test = next(t for r, _, t in FAULTS.values() if r == real)
    assert not _failed(proc.stdout, real, test), proc.stdout[-4000:]
    mine = [r for r in records if r.get("target") == real and r.get("verdict") == Verdict.PASS]
    assert mine, f"no passing example of {real}:\n{proc.stdout[-3000:]}"
    mode = real.partition("@")[2] or "default"
    for r in mine:
        path = r["path"]
        assert path["compile"] == mode and path["inductor"].get("forward"), path
        if test == "test_gradient":  # the backward pass ran compiled code too
            assert path["inductor"].get("backward"), path
