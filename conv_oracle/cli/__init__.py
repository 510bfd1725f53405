"""``conv-oracle`` command line: one module per subcommand, each with ``add_arguments`` and ``main``.

Invalid configurations and unusable inputs end with a one-line error (exit 2), never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import ConvConfigError

#: subcommand -> (module, one-line help)
SUBCOMMANDS = {
    "run": ("conv_oracle.cli.run", "run the differential suite and write the report (the main job)"),
    "explain": ("conv_oracle.cli.explain", "explain one convolution: sizes, coverage map, torch vs oracle"),
    "snapshot": ("conv_oracle.cli.snapshot", "record a baseline of the installed torch's conv behaviour"),
    "compare": ("conv_oracle.cli.compare", "compare two baselines (or a baseline with this environment)"),
}


class UsageError(Exception):
    """A problem with the command's input that deserves a one-line message (exit status 2)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="conv-oracle", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(module).add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(importlib.import_module(args._module).main(args) or 0)
    except (ConvConfigError, UsageError) as exc:
        print(f"conv-oracle {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
