"""`conv-oracle snapshot`: record a baseline of a target's convolution behaviour (see docs/upgrading-torch.md)."""

from __future__ import annotations

import os
import sys

from ..baseline.schema import dumps
from ..baseline.snapshot import baseline_name, snapshot
from ..harness.records import atomic_write
from ..machine import compat
from ..targets import load_target
from ..targets.execution import unavailable
from . import UsageError


def add_arguments(parser):
    parser.add_argument("--out", required=True, metavar="FILE",
                        help="where to write the baseline (JSON, written atomically); the project's convention "
                             "is reports/baselines/torch-<version>-<variant>.json")
    parser.add_argument("--target", default="torch", metavar="NAME",
                        help="target to record: torch (default), torch-no-mkldnn, torch-cuda, torch-cuda-no-tf32, "
                             "or an importable module path")
    parser.add_argument("--quiet", action="store_true", help="print nothing on success")


def ensure_writable(path: str) -> None:
    """Fail before the work, not after it: the folder of ``path`` must exist (no folder is made
    silently) and be writable."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        why = "is a file, not a folder" if os.path.exists(folder) else "does not exist (create it first)"
        raise UsageError(f"cannot write --out {path}: the folder {folder} {why}")
    if not os.access(folder, os.W_OK) or os.path.isdir(path):
        raise UsageError(f"cannot write {path}: {'it is a folder' if os.path.isdir(path) else 'folder not writable'}")


def require_supported() -> None:
    """One line, before any work, when the installed torch / numpy cannot run the corpus. Also lets idle
    OpenMP threads sleep rather than spin (read when torch loads, so before that): on a loaded machine a
    spinning pool makes each small call of the N-thread pass wait for a time slice. Results do not change."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    problem = compat.check()
    if problem:
        raise UsageError(problem)


def main(args) -> int:
    ensure_writable(args.out)
    require_supported()
    target = load_target(args.target)
    if unavailable(target):
        raise UsageError(f"target {target.name}: {unavailable(target)}")
    snap = snapshot(target)
    try:
        atomic_write(args.out, dumps(snap))
    except OSError as exc:
        raise UsageError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    if not args.quiet:
        s = snap["summary"]
        print(f"wrote {args.out}: {s['cases']} cases ({s['accepted']} accepted, {s['rejected']} rejected, "
              f"{s['unsupported']} unsupported; {s['mismatch']} disagree with the oracle) for target "
              f"{target.name} (torch {snap['environment']['torch_version']}) in {s['seconds']:.1f} s "
              f"[conventional name: {baseline_name(snap)}]", file=sys.stderr)
    return 0
