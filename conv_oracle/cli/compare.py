"""`conv-oracle compare OLD NEW`: what changed in convolution behaviour between two baselines
(NEW may be ``current``: snapshot this environment now). Markdown by default, ``--json`` for tools.
Exit status 0: no contract change; 1: at least one; 2: unusable input (also an unsupported torch / numpy
for NEW='current', or an ignore file entry without a reason)."""

from __future__ import annotations

import sys

from ..baseline.diff import Thresholds, apply_ignores, compare
from ..baseline.ignore import IgnoreError
from ..baseline.ignore import load as load_ignores
from ..baseline.report import markdown, to_json
from ..baseline.schema import BaselineError, dumps, load
from ..baseline.snapshot import snapshot
from ..harness.records import atomic_write
from ..targets import load_target
from ..targets.execution import unavailable
from . import UsageError
from .snapshot import ensure_writable, require_supported

CURRENT = "current"


def add_arguments(parser):
    parser.add_argument("old", metavar="OLD", help="baseline file (e.g. reports/baselines/torch-2.13.0-cpu.json)")
    parser.add_argument("new", metavar="NEW", help=f"baseline file, or '{CURRENT}' to snapshot this environment "
                                                   f"now (write ./{CURRENT} for a file of that name)")
    parser.add_argument("--target", default=None, metavar="NAME",
                        help=f"with NEW='{CURRENT}': the target to snapshot (default: OLD's target)")
    parser.add_argument("--save", default=None, metavar="FILE",
                        help=f"with NEW='{CURRENT}': also write the fresh snapshot to FILE")
    parser.add_argument("--ignore", default=None, metavar="FILE",
                        help="changes the team accepts, one per line: CASE-ID, CLASS or ID:CLASS, then '# reason'")
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    parser.add_argument("--out", default=None, metavar="FILE", help="write the report to FILE instead of stdout")
    parser.add_argument("--drift-ratio", type=float, default=Thresholds.ratio, metavar="R",
                        help="precision drift (informational, same hardware only): the bound share must move more "
                             "than R times ... (default %(default)s)")
    parser.add_argument("--drift-floor", type=float, default=Thresholds.floor, metavar="F",
                        help="... and by more than F of the bound (default %(default)s)")


def _write(path: str, text: str) -> None:
    try:
        atomic_write(path, text)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def main(args) -> int:
    if args.drift_ratio < 1 or args.drift_floor < 0:
        raise UsageError("--drift-ratio must be >= 1 and --drift-floor >= 0")
    if args.new != CURRENT and (args.target or args.save):
        raise UsageError(f"--target and --save apply only when NEW is '{CURRENT}'")
    for path in (args.out, args.save):
        if path:
            ensure_writable(path)
    try:
        rules = load_ignores(args.ignore) if args.ignore else []
    except IgnoreError as exc:
        raise UsageError(str(exc)) from None
    try:
        old = load(args.old)
        if args.new == CURRENT:
            require_supported()
            target = load_target(args.target or old["target"]["name"])
            if unavailable(target):
                raise UsageError(f"target {target.name}: {unavailable(target)}")
            new = snapshot(target)
            new_name = f"current ({target.name}, torch {new['environment']['torch_version']})"
            if args.save:
                _write(args.save, dumps(new))
        else:
            new, new_name = load(args.new), args.new
    except BaselineError as exc:
        raise UsageError(str(exc)) from None
    result = apply_ignores(compare(old, new, Thresholds(args.drift_ratio, args.drift_floor)), rules)
    text = (to_json if args.json else markdown)(result, args.old, new_name)
    if args.out:
        _write(args.out, text)
    else:
        sys.stdout.write(text)
    return result.exit_code
