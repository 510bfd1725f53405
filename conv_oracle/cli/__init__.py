"""conv-oracle: check a convolution implementation (torch by default) against an independent numpy
reference, and explain, record and compare convolution behaviour.

Start with ``conv-oracle run`` (the whole suite; the report lands in ./reports/latest/index.html) or
``conv-oracle explain --help`` (one convolution, cell by cell).

Exit status: 0 every check passed; 1 a check failed; 2 usage or configuration error (one line on
stderr, no traceback); 3 environment problem (e.g. a CUDA target without CUDA, torch missing);
4 the run is incomplete (interrupted, crashed, or no example ran).

Layer 8, the command (the top): may import every layer.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ..definition.errors import ConvConfigError
from ..machine.settings import SettingsError, settings

EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE, EXIT_ENVIRONMENT, EXIT_INCOMPLETE = 0, 1, 2, 3, 4

#: subcommand -> (module, one-line help)
SUBCOMMANDS = {
    "run": ("conv_oracle.cli.run", "run the differential suite and write the report (the main job)"),
    "fuzz": ("conv_oracle.cli.fuzz", "fuzz the suite's properties with HypoFuzz for a time budget, then report"),
    "explain": ("conv_oracle.cli.explain", "explain one convolution: sizes, coverage map, torch vs oracle"),
    "snapshot": ("conv_oracle.cli.snapshot", "record a baseline of the installed torch's conv behaviour"),
    "compare": ("conv_oracle.cli.compare", "compare two baselines (or a baseline with this environment)"),
    "merge": ("conv_oracle.cli.merge", "join run folders from several machines or torch versions into one report"),
    "findings": ("conv_oracle.cli.findings", "print the findings ledger: each distinct defect and its state"),
}

EXAMPLES = """examples:
  conv-oracle run                          the whole suite on torch (CPU), report in reports/latest/
  conv-oracle run --profile dev -k forward  a quick look at the forward tests
  conv-oracle run --target torch-no-mkldnn --seed 7
  conv-oracle fuzz --budget 5m -n 2         HypoFuzz for 5 minutes; its failures land in reports/examples/
  conv-oracle explain conv2d --input 1,1,5,5 --weight 1,1,3,3 --stride 2
  conv-oracle snapshot --out baseline.json && conv-oracle compare baseline.json
  conv-oracle merge reports/latest other-machine/latest --out reports/merged && conv-oracle findings

exit status: 0 passed, 1 a check failed, 2 usage or configuration error, 3 environment problem,
4 incomplete run (interrupted, crashed, nothing ran)"""


class UsageError(Exception):
    """A problem with the command's input that deserves a one-line message (exit status 2)."""


class EnvironmentProblem(Exception):
    """This machine cannot do what was asked (exit status 3), e.g. a CUDA target without CUDA."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and exit 2 (argparse prints the whole usage first)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__
    parser = _Parser(prog="conv-oracle", description=__doc__.split("\n\n")[0].replace("\n", " "),
                     epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"conv-oracle {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    for name, (module, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(module).add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings()  # a malformed setting in the environment: one line, before anything runs
        return int(importlib.import_module(args._module).main(args) or 0)
    except (ConvConfigError, UsageError, SettingsError) as exc:
        print(f"conv-oracle {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except EnvironmentProblem as exc:
        print(f"conv-oracle {args.command}: environment: {exc}", file=sys.stderr)
        return EXIT_ENVIRONMENT
    except MemoryError:
        print(f"conv-oracle {args.command}: error: the sizes given do not fit in memory", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
