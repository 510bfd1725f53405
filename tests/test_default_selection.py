"""The default run (the README's test command, no ``-m``) leaves out the tests marked heavy, fuzz and compile;
``-m compile`` selects them. (conftest.py once defined its collection hook twice, and the second hid the first:
the compiled targets' minutes ran in every default run.)"""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMPILED = [os.path.join(ROOT, "tests", "targets", "test_compiled_target.py")]


def _collected(*args) -> list[str]:
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           *args, *COMPILED], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    return [line for line in proc.stdout.splitlines() if "::" in line]


def test_the_default_run_leaves_out_compile_and_compile_selects_it():
    marked = set(_collected("-m", "compile"))
    default = set(_collected())
    assert marked and not marked & default, sorted(marked & default)
    assert default, "the unmarked tests of the file are still collected"
