"""Does the default search reach narrow faults? Planted targets (tests/meta/faulty/narrow_*.py) are
wrong only on one narrow path; each runs under the derandomized ci draw and under N seeded draws
(the ci example count, no shrinking, stop at the first failure), in a subprocess whose environment
sets the path (thread count, ISA cap). Reports, per target: the share of the selection's checks that
lie on the fault's path (derandomized draw, correct target), found in x of N runs, and the checks
(records: one per example, two in test_layouts) before the first failing one (median and worst over
the runs that found it). The derandomized draw depends on the test id, which names the target, so
it is one more fixed draw per target, not the exact draw of ``--target torch``.

    python benchmarks/bench_search.py [--seeds 5] [--only NAME ...] [--json FILE]

Heavy (minutes): one pytest process per run, run serially, without xdist. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAULTY = os.path.join(ROOT, "tests", "meta")

#: planted target -> (-k selection, extra environment: the path the fault lives on)
PLANTED = {
    "narrow_bf16_transpose_gap": ("(test_forward_exact or test_forward_float or test_layouts) and bfloat16", {}),
    "narrow_bf16_transpose3d_gap": ("(test_forward_exact or test_forward_float or test_layouts) and bfloat16", {}),
    "narrow_threads_one": ("(test_forward_exact or test_forward_float) and float32", {"OMP_NUM_THREADS": "1"}),
    "narrow_isa_avx2": ("(test_forward_exact or test_forward_float) and float16",
                        {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}),
    "narrow_nhwc_bias": ("(test_forward_exact or test_layouts) and float32", {}),
}


def run_once(name: str, seed: int | None) -> dict:
    """One pytest run of the suite against faulty.NAME; seed None: the derandomized ci draw."""
    selection, extra = PLANTED[name]
    with tempfile.TemporaryDirectory() as records:
        env = dict(os.environ, **extra)
        env["PYTHONPATH"] = os.pathsep.join([FAULTY, os.path.join(ROOT, "benchmarks"), ROOT, env.get("PYTHONPATH", "")])
        env.pop("CONV_ORACLE_PROFILE", None)
        cmd = [sys.executable, "-m", "pytest", os.path.join(ROOT, "conv_oracle", "suite"), "-q", "-x",
               "-p", "no:cacheprovider", "-p", "no:xdist", "-p", "no:randomly", "-p", "_bench_profiles",
               "--target", f"faulty.{name}", "-k", selection, "--records", records]
        cmd += ["--hypothesis-profile", "bench-ci"] if seed is None else \
            ["--hypothesis-profile", "bench-seeded", f"--hypothesis-seed={seed}"]
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
        seconds = time.perf_counter() - start
        path = os.path.join(records, "records.jsonl")
        recs = []
        if os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                recs = [r for r in (json.loads(line) for line in fh if line.strip()) if "verdict" in r]
    first = next((i for i, r in enumerate(recs) if r.get("verdict") == "fail"), None)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{name} seed={seed}: pytest exit {proc.returncode}\n{(proc.stdout + proc.stderr)[-2000:]}")
    return {"target": name, "seed": seed, "found": proc.returncode == 1 and first is not None,
            "checks_to_find": None if first is None else first + 1, "checks": len(recs),
            "failed_test": None if first is None else recs[first]["test"], "seconds": round(seconds, 1)}


def path_share(name: str) -> float | None:
    """The share of the checks on the planted fault's path: the fault's own predicate, on the same
    tensors, over every check of its derandomized ci draw (run to the end; None if torch crashed)."""
    import importlib

    import numpy as np
    import torch

    from conv_oracle.definition.case import Case
    from conv_oracle.targets.execution import place

    selection, extra = PLANTED[name]
    sys.path[:0] = [FAULTY]
    hits = importlib.import_module(f"faulty.{name}").hits
    narrow = importlib.import_module("faulty._narrow_path")
    with tempfile.TemporaryDirectory() as records:
        env = dict(os.environ, **extra, PYTHONPATH=os.pathsep.join([FAULTY, os.path.join(ROOT, "benchmarks"), ROOT]))
        proc = subprocess.run([sys.executable, "-m", "pytest", os.path.join(ROOT, "conv_oracle", "suite"), "-q",
                        "-p", "no:cacheprovider", "-p", "no:xdist", "-p", "no:randomly", "-p", "_bench_profiles",
                        "--hypothesis-profile", "bench-ci", "--target", f"faulty.{name}", "-k", selection,
                        "--records", records], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
        if proc.returncode not in (0, 1):
            print(f"{name}: the full run ended with exit {proc.returncode}: {(proc.stdout + proc.stderr)[-300:]}")
            return None
        with open(os.path.join(records, "records.jsonl"), encoding="utf-8") as fh:
            recs = [r for r in (json.loads(line) for line in fh if line.strip()) if "case" in r and "dtype" in r]
    saved, threads = dict(os.environ), torch.get_num_threads()
    os.environ.update(extra)
    torch.set_num_threads(int(extra.get("OMP_NUM_THREADS", threads)))
    try:
        on_path = 0
        for r in recs:
            case = Case.from_dict(r["case"])
            x = place(np.zeros(case.input_shape), r["dtype"], r.get("x_layout", "contiguous"), "cpu")[0]
            w = torch.zeros(case.weight_shape, dtype=x.dtype)
            b = torch.zeros(case.bias_shape, dtype=x.dtype) if case.bias else None
            kw = case.functional_kwargs()
            on_path += bool(hits(narrow.Call(case.transposed, case.nd, x, w, b, narrow._per_dim(kw.get("stride", 1), case.nd),
                                             narrow._per_dim(kw.get("dilation", 1), case.nd), kw.get("groups", 1))))
    finally:
        os.environ.clear()
        os.environ.update(saved)
        torch.set_num_threads(threads)
    return on_path / max(1, len(recs))


def summarise(rows: list[dict], shares: dict) -> list[str]:
    lines = ["| planted target | checks on its path | draw | found | median checks to find | worst |",
             "|---|---|---|---|---|---|"]
    for name in dict.fromkeys(r["target"] for r in rows):
        for label, sel in (("derandomized ci", lambda r: r["seed"] is None), ("seeded", lambda r: r["seed"] is not None)):
            runs = [r for r in rows if r["target"] == name and sel(r)]
            if not runs:
                continue
            hits = [r["checks_to_find"] for r in runs if r["found"]]
            med = statistics.median(hits) if hits else "-"
            share = f"{100 * shares[name]:.1f}%" if shares.get(name) is not None else "-"
            lines.append(f"| {name} | {share} | {label} | {len(hits)}/{len(runs)} | {med} | {max(hits) if hits else '-'} |")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5, help="seeded runs per target (seeds 1..N)")
    ap.add_argument("--only", nargs="*", default=None, help="planted targets to run (default: all)")
    ap.add_argument("--json", default=None, help="also write the per-run rows as JSON here")
    ap.add_argument("--from-json", default=None, help="summarise the rows of an earlier --json instead of running")
    args = ap.parse_args(argv)
    rows = []
    if args.from_json:
        with open(args.from_json, encoding="utf-8") as fh:
            rows = json.load(fh)
    for name in [] if args.from_json else args.only or PLANTED:
        for seed in [None, *range(1, args.seeds + 1)]:
            row = run_once(name, seed)
            print(json.dumps(row), flush=True)
            rows.append(row)
    if args.json:
        with open(args.json + ".tmp", "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=1)
        os.replace(args.json + ".tmp", args.json)
    shares = {name: path_share(name) for name in dict.fromkeys(r["target"] for r in rows)}
    print("\n".join(summarise(rows, shares)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
