"""`conv-oracle snapshot` and `compare` need no test extras: they run with Hypothesis unimportable."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCRIPT = r'''
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "hypothesis" or name.startswith("hypothesis."):
            raise ImportError("hypothesis is blocked for this test")
sys.meta_path.insert(0, Block())
from conv_oracle.cli import main
base = "reports/baselines/torch-2.13.0-cpu.json"
assert main(["compare", base, base, "--out", sys.argv[1] + "/cmp.md"]) == 0
from conv_oracle.baseline import corpus, snapshot
from conv_oracle.targets import load_target
snap = snapshot.snapshot(load_target("torch"), corpus.build()[:4])
assert len(snap["cases"]) == 4 and "hypothesis" not in sys.modules
print("ran without hypothesis")
'''


def test_snapshot_and_compare_run_with_hypothesis_unimportable(tmp_path):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": ROOT})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "ran without hypothesis" in proc.stdout
    assert "no contract change" in (tmp_path / "cmp.md").read_text()
