"""Records under pytest-xdist: the merged records.jsonl holds exactly one record per example run.

An independent counter: a probe test appends one line with a fresh token to its own file (O_APPEND,
one write per line) each time Hypothesis calls it, and records the same token. The merged records
must carry exactly the counted tokens, each once, from both workers, with no part or temporary left.
"""

import json
import os
import subprocess
import sys

import pytest

from conv_oracle.harness.records import Verdict

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PROBE = '''
import os, uuid
import pytest
from hypothesis import given, settings, strategies as st
from conv_oracle.definition.historical import SEED_6X6


class Target:
    name = "probe"


def count(extra=""):
    token = uuid.uuid4().hex
    fd = os.open(os.environ["PROBE_COUNTER"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (token + "\\n").encode())
    finally:
        os.close(fd)
    return token


@pytest.mark.parametrize("i", range(6))
@settings(max_examples=20, database=None, derandomize=True)
@given(n=st.integers(0, 1000))
def test_passes(record, i, n):
    with record("probe", Target, SEED_6X6) as rec:
        rec["token"] = count()


@settings(max_examples=50, database=None, derandomize=True)
@given(n=st.integers(0, 1000))
def test_fails_and_shrinks(record, n):
    with record("probe", Target, SEED_6X6) as rec:
        rec["token"] = count()
        assert n < 500
'''


@pytest.mark.e2e
def test_merged_records_equal_examples_run_under_two_workers(tmp_path):
    (tmp_path / "test_probe.py").write_text(PROBE)
    records, counter = tmp_path / "records", tmp_path / "counter.txt"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]),
               PROBE_COUNTER=str(counter))
    env.pop("CONV_ORACLE_RECORDS", None)
    proc = subprocess.run([sys.executable, "-m", "pytest", "test_probe.py",
                           "-p", "no:cacheprovider", "-n", "2", f"--records={records}", "-q"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # the shrinking test fails, the rest pass
    assert "1 failed, 6 passed" in proc.stdout
    counted = counter.read_text().splitlines()
    lines = [json.loads(line) for line in (records / "records.jsonl").read_text().splitlines()]
    envs = [r for r in lines if "environment" in r]
    assert sorted(e["worker"] for e in envs) == ["gw0", "gw1"]  # each part opens with its fingerprint
    assert all(e["environment"]["cpu"]["arch"] for e in envs)
    recs = [r for r in lines if "environment" not in r]
    tokens = [r["token"] for r in recs]
    assert len(recs) == len(counted) > 6 * 20
    assert sorted(tokens) == sorted(counted) and len(set(tokens)) == len(tokens)
    assert {r["worker"] for r in recs} == {"gw0", "gw1"}
    assert {r["verdict"] for r in recs} <= {v.value for v in Verdict}  # as written by the real plugin
    fails = [r for r in recs if r["verdict"] == "fail"]
    assert fails and sum(r.get("reported", False) for r in recs) == 1
    assert sorted(os.listdir(records)) == ["records.jsonl"]  # parts merged and removed, no temporaries
