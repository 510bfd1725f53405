"""`conv-oracle findings [--ledger PATH] [--json]`: print the findings ledger
(:mod:`conv_oracle.report.ledger`): one entry per distinct defect, its state (new, still failing,
acknowledged, gone, fixed in torch X), when and where it was seen, and its reproduction snippet.

Exit status: 0 no entry is new or still failing, 1 some are, 2 usage error (no ledger at PATH, or
not a ledger; one line).
"""

from __future__ import annotations

import json
import os

from ..report import ledger as findings_ledger
from . import EXIT_CHECK_FAILED, EXIT_OK, UsageError

DEFAULT = findings_ledger.default_path("reports")


def add_arguments(parser):
    parser.add_argument("--ledger", default=DEFAULT, metavar="PATH",
                        help=f"the ledger (default: {DEFAULT}, where conv-oracle run and merge write it)")
    parser.add_argument("--json", action="store_true", help="print the ledger's JSON instead of text")
    parser.add_argument("--no-snippets", action="store_true", help="leave out the reproduction snippets")


def main(args) -> int:
    if not os.path.isfile(args.ledger):
        raise UsageError(f"--ledger {args.ledger}: no such file (conv-oracle run and merge write the ledger)")
    try:
        ledger = findings_ledger.load(args.ledger)
    except findings_ledger.LedgerError as exc:
        raise UsageError(f"--ledger {exc}") from None
    if args.json:
        print(json.dumps(ledger, indent=1, sort_keys=True))
    else:
        print(findings_ledger.render(ledger, snippets=not args.no_snippets), end="")
    return EXIT_CHECK_FAILED if any(f["state"] in findings_ledger.OPEN for f in ledger["findings"]) else EXIT_OK
