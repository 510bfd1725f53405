"""The CLI tests' way to start ``conv-oracle run`` end to end."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAULTY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "faulty_targets")


def conv_oracle_run(tmp_path, *args):
    """``conv-oracle run --out out --profile dev ARGS`` in ``tmp_path`` (the planted targets importable)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, FAULTY, os.environ.get("PYTHONPATH", "")]))
    for name in ("CONV_ORACLE_RECORDS", "CONV_ORACLE_TARGET", "CONV_ORACLE_PROFILE"):
        env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "conv_oracle.cli", "run", "--out", "out", "--profile", "dev", *args],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
