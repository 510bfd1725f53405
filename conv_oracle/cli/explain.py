"""`conv-oracle explain`: one convolution, explained (see :mod:`conv_oracle.cli.explanation`).

    conv-oracle explain conv_transpose2d --input 2x2 --kernel 2 --stride 4 --x '1 2; 3 4' --w '1 2; 0 1' --no-bias

Exit status: 0 when torch and the oracle agree (in every value), 1 when they do not, 2 for an invalid
configuration or unusable option (one line on stderr).
"""

from __future__ import annotations

import argparse
import math
import re

import numpy as np

from ..definition import case as case_mod
from ..definition.case import Case
from . import UsageError
from .explanation import compute, render

OPS = {f"{op}{nd}d": (op, nd) for op in case_mod.OPS for nd in (1, 2, 3)}
PER_DIM = "an int, or one int per spatial dimension separated by ',' or 'x' (2,3 or 2x3)"


def add_arguments(parser):
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = ("Per-dimension values (sizes, stride, padding, ...) are " + PER_DIM + "; a single int "
                     "applies to every dimension.\nValues for --x / --w are one channel's numbers: rows "
                     "separated by ';', depth slices (3-D) by '|', repeated over batch and channels.\n"
                     "Example (the 6x6 seed case):\n  conv-oracle explain conv_transpose2d --input 2x2 --kernel 2 "
                     "--stride 4 --x '1 2; 3 4' --w '1 2; 0 1' --no-bias")
    parser.add_argument("op", choices=sorted(OPS), help="the operator, as torch.nn.functional names it")
    parser.add_argument("--input", metavar="SIZE", help="spatial input size, e.g. 5 (1-D) or 2x2 "
                        "(default: the shape of --x)")
    parser.add_argument("--kernel", metavar="SIZE",
                        help="kernel size, e.g. 3 or 2x3 (default: the shape of --w, else 3)")
    parser.add_argument("--stride", default="1", metavar="S", help="stride: " + PER_DIM)
    parser.add_argument("--padding", default="0", metavar="P",
                        help="padding: " + PER_DIM + ", or 'valid' / 'same' (conv)")
    parser.add_argument("--dilation", default="1", metavar="D", help="dilation: " + PER_DIM)
    parser.add_argument("--output-padding", default="0", metavar="A", help="output_padding (transposed): " + PER_DIM)
    parser.add_argument("--output-size", metavar="SIZE",
                        help="output_size for nn.ConvTranspose*d.forward (transposed), e.g. 7x7")
    parser.add_argument("--padding-mode", default="zeros", choices=["zeros", "reflect", "replicate", "circular"],
                        help="nn.Conv*d padding_mode (conv)")
    parser.add_argument("--groups", type=int, default=1, help="groups (default 1)")
    parser.add_argument("--in-channels", type=int, default=None, metavar="C", help="default: groups")
    parser.add_argument("--out-channels", type=int, default=None, metavar="C", help="default: groups")
    parser.add_argument("--batch", type=int, default=None, metavar="N", help="batch size (default: unbatched input)")
    parser.add_argument("--bias", action=argparse.BooleanOptionalAction, default=True,
                        help="add a bias (default: yes; values -1, -2, ... per output channel)")
    parser.add_argument("--x", metavar="VALUES", help="input values, e.g. '1 2; 3 4' (default: 1, 2, ..., 9, 1, ...)")
    parser.add_argument("--w", metavar="VALUES", help="weight values, e.g. '1 2; 0 1' (default: 1, 2, 3, 1, ...)")
    parser.add_argument("--b", metavar="VALUES", help="bias values, one per output channel, e.g. '1 -2'")


def parse_ints(text: str, option: str) -> tuple[int, ...]:
    """``'2'`` -> ``(2,)``, ``'2,3'`` or ``'2x3'`` -> ``(2, 3)``; UsageError otherwise."""
    text_s = text.strip()
    values = (tuple(int(p) for p in re.split(r"[,x]", text_s))
              if re.fullmatch(r"-?\d+(\s*[,x]\s*-?\d+)*", text_s) else ())
    if not values:
        raise UsageError(f"{option} {text!r}: expected {PER_DIM}")
    return values


def per_dim(text: str, option: str, nd: int) -> int | tuple[int, ...]:
    """An int stays an int (torch repeats it); several values must be ``nd``."""
    values = parse_ints(text, option)
    if len(values) == 1:
        return values[0]
    if len(values) != nd:
        raise UsageError(f"{option} {text!r}: {len(values)} values, but the operator has {nd} spatial dimension(s)")
    return values


def sizes(text: str, option: str, nd: int) -> tuple[int, ...]:
    value = per_dim(text, option, nd)
    return (value,) * nd if isinstance(value, int) else value


def parse_values(text: str, option: str, nd: int) -> np.ndarray:
    """One channel's numbers: ``'1 2; 3 4'`` (rows by ';', 3-D slices by '|') as an ``nd``-D array."""
    def rows(block):
        out = [r.split() for r in block.split(";") if r.strip()]
        if len({len(r) for r in out}) > 1:
            raise UsageError(f"{option} {text!r}: rows of different lengths")
        return out

    try:
        slices = [rows(s) for s in text.split("|")]
        if len({(len(s), len(s[0]) if s else 0) for s in slices}) > 1:
            raise UsageError(f"{option} {text!r}: depth slices of different shapes")
        array = np.array([[[float(v) for v in r] for r in s] for s in slices], dtype=np.float64)
    except ValueError:
        raise UsageError(f"{option} {text!r}: expected numbers, rows separated by ';'") from None
    if array.size == 0:
        raise UsageError(f"{option} {text!r}: no values")
    array = array.reshape(array.shape[-(nd):]) if array.ndim > nd and all(n == 1 for n in array.shape[:-nd]) else array
    if array.ndim != nd:
        raise UsageError(f"{option} {text!r}: gives a {array.ndim}-D array, the operator needs {nd}-D values "
                         f"({'one row' if nd == 1 else 'rows separated by ;' if nd == 2 else 'slices separated by |'})")
    return array


def build_case(args) -> tuple[Case, np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """The case and the given operand values (None where defaults apply), broadcast to full shapes."""
    op, nd = OPS[args.op]
    x = parse_values(args.x, "--x", nd) if args.x else None
    w = parse_values(args.w, "--w", nd) if args.w else None
    input_size = sizes(args.input, "--input", nd) if args.input else (x.shape if x is not None else None)
    if input_size is None:
        raise UsageError("--input SIZE (or --x VALUES) is required")
    kernel = sizes(args.kernel, "--kernel", nd) if args.kernel else (w.shape if w is not None else (3,) * nd)
    if x is not None and tuple(x.shape) != tuple(input_size):
        raise UsageError(f"--x has shape {'x'.join(map(str, x.shape))}, --input says {'x'.join(map(str, input_size))}")
    if w is not None and tuple(w.shape) != tuple(kernel):
        raise UsageError(f"--w has shape {'x'.join(map(str, w.shape))}, --kernel says {'x'.join(map(str, kernel))}")
    padding = args.padding if args.padding in ("valid", "same") else per_dim(args.padding, "--padding", nd)
    in_ch = args.in_channels if args.in_channels is not None else args.groups
    out_ch = args.out_channels if args.out_channels is not None else args.groups
    case = Case(op, nd, args.batch, in_ch, out_ch, args.groups, tuple(input_size), tuple(kernel),
                stride=per_dim(args.stride, "--stride", nd), padding=padding,
                dilation=per_dim(args.dilation, "--dilation", nd),
                output_padding=per_dim(args.output_padding, "--output-padding", nd),
                output_size=sizes(args.output_size, "--output-size", nd) if args.output_size else None,
                padding_mode=args.padding_mode, bias=args.bias)
    b = None
    if args.b is not None:
        if not args.bias:
            raise UsageError("--b given together with --no-bias")
        b = parse_values(args.b, "--b", 1)
        if b.size not in (1, out_ch):
            raise UsageError(f"--b {args.b!r}: {b.size} values for {out_ch} output channels")
    return case, x, w, b


def _broadcast(values, shape, option):
    if values is None:
        return None
    try:
        return np.broadcast_to(values, shape).copy()
    except ValueError:
        raise UsageError(f"{option}: values of shape {values.shape} do not fit {shape}") from None


#: operands larger than this are refused (explain computes in float64 and prints cell by cell)
MAX_CELLS = 1_000_000


def main(args) -> int:
    case, x, w, b = build_case(args)
    if case.batch is not None and case.batch < 1 or case.in_channels < 1 or case.out_channels < 1:
        raise UsageError("--batch, --in-channels and --out-channels must be positive")
    for name, shape in (("input", case.input_shape), ("weight", case.weight_shape)):
        if math.prod(shape) > MAX_CELLS:
            raise UsageError(f"{name} shape {list(shape)}: {math.prod(shape)} cells, more than explain handles "
                             f"({MAX_CELLS}); explain is for small convolutions")
    result = compute(case, _broadcast(x, case.input_shape, "--x"), _broadcast(w, case.weight_shape, "--w"),
                     _broadcast(b, case.bias_shape, "--b") if case.bias else None)
    print(render(result), end="")
    return 0 if result.equal_values else 1
