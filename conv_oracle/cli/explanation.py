"""Explaining one convolution: the output-size formula with its numbers, the map of covered vs
skipped (conv input) or bias-only (transposed conv output) cells, and torch's and the oracle's
results on integer-valued float64 operands, compared bit for bit. Used by ``conv-oracle explain``.

Default operands are small positive integers: ``x`` counts 1..9 over the input (repeating),
``w`` counts 1..3 over the weight, the bias of output channel ``c`` is ``-(c + 1)``; every sum is
then exact in float64, so torch and the oracle must agree exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import math

import numpy as np

from ..checks.isolation import Example, isolated
from ..definition import geometry
from ..definition.case import Case
from ..definition.errors import ConvConfigError
from ..harness.records import mask_record
from ..report.text import ascii_map, matrix

AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


def default_operands(case: Case) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``x = 1, 2, ..., 9, 1, ...``, ``w = 1, 2, 3, 1, ...`` in C order; bias ``-1, -2, ...``."""
    def counting(shape, top):
        return (np.arange(int(np.prod(shape))) % top + 1).astype(np.float64).reshape(shape)

    b = -(np.arange(case.out_channels, dtype=np.float64) + 1) if case.bias else None
    return counting(case.input_shape, 9), counting(case.weight_shape, 3), b


def check_module_options(case: Case) -> None:
    """Options that only one operator takes, rejected as torch's modules reject them."""
    if case.transposed and case.padding_mode != "zeros":
        raise ConvConfigError("padding_mode", case.padding_mode, "transposed convolutions support only 'zeros'")
    if not case.transposed and case.output_size is not None:
        raise ConvConfigError("output_size", case.output_size, "only transposed convolutions take output_size")
    if not case.transposed and case.output_padding not in (0, (0,) * case.nd):
        raise ConvConfigError("output_padding", case.output_padding,
                              "only transposed convolutions take output_padding")


def size_formula(case: Case) -> list[str]:
    """The output-size formula, then one line per dimension with the numbers filled in."""
    cfg = case.config()
    names = AXES[cfg.nd]
    lines = []
    if cfg.transposed:
        lines.append("L_out = (L - 1)*s - 2*p + d*(k - 1) + 1 + a")
        for i, name in enumerate(names):
            L, k, s, p, a, d = (cfg.input_size[i], cfg.kernel_size[i], cfg.stride[i], cfg.padding_before[i],
                                cfg.output_padding[i], cfg.dilation[i])
            n = geometry.conv_transpose_output_length(L, k, s, p, a, d)
            lines.append(f"  {name}: ({L} - 1)*{s} - 2*{p} + {d}*({k} - 1) + 1 + {a} = {n}")
        if case.output_size is not None:
            lines.append(f"  (output_size={list(case.output_size)} sets a = output_size - L_out(a=0), "
                         f"allowed in [L_out(a=0), L_out(a=0) + s - 1])")
    else:
        lines.append("L_out = floor((L + p_before + p_after - d*(k - 1) - 1) / s) + 1")
        for i, name in enumerate(names):
            L, k, s, (pb, pa), d = (cfg.input_size[i], cfg.kernel_size[i], cfg.stride[i], cfg.padding[i],
                                    cfg.dilation[i])
            n = geometry.conv_output_length(L, k, s, pb, d, pa)
            lines.append(f"  {name}: floor(({L} + {pb} + {pa} - {d}*({k} - 1) - 1) / {s}) + 1 = {n}")
        if isinstance(case.padding, str):
            lines.append(f"  (padding={case.padding!r} gives (before, after) = {list(cfg.padding)})")
    return lines


def coverage(case: Case) -> list[str]:
    """The untouched map (``#`` reached, ``.`` untouched), its count and its per-dimension indices."""
    cfg = case.config()
    mask = case.untouched_mask()
    names = AXES[cfg.nd]
    grid = "x".join(map(str, mask.shape))
    if cfg.transposed:
        lines = [f"coverage of the output ({grid}): # = reached by a kernel tap, . = bias-only (nothing is added)"]
        word = "bias-only"
    else:
        lines = [f"coverage of the input ({grid}): # = read by some window, . = skipped (never read)"]
        word = "skipped"
    if mask.ndim == 3:
        for depth, plane in enumerate(mask):
            lines += [f"[{names[0]}={depth}]", ascii_map(plane)]
    else:
        lines.append(ascii_map(mask))
    rec = mask_record(mask)
    where = ", ".join(f"{name} {idx}" for name, idx in zip(names, rec["per_dim"]))
    lines.append(f"{word}: {rec['count']} of {mask.size} cells ({100 * rec['fraction']:.1f}%); "
                 f"{word} indices per dimension: {where}")
    return lines


def _slices(array: np.ndarray, nd: int, lead_names: tuple[str, ...]) -> list[str]:
    """An array as labelled 1-D / 2-D grids: one per leading index (and depth for 3-D)."""
    lead = array.shape[:-nd] if nd < 3 else array.shape[:-3]
    spatial_planes = nd == 3
    out = []
    for idx in np.ndindex(*lead):
        block = array[idx]
        label = ", ".join(f"{n}={i}" for n, i in zip(lead_names, idx))
        planes = [(f"D={d}", block[d]) for d in range(block.shape[0])] if spatial_planes else [("", block)]
        for plabel, plane in planes:
            tag = ", ".join(p for p in (label, plabel) if p)
            if tag and (int(np.prod(lead)) > 1 or spatial_planes):
                out.append(f"[{tag}]")
            out.append(matrix(plane))
    return out


@dataclass
class Result:
    """Torch's and the oracle's outputs for one case and its operands."""

    case: Case
    x: np.ndarray
    w: np.ndarray
    b: np.ndarray | None
    oracle: np.ndarray
    torch: np.ndarray | None
    torch_error: str | None

    def differing(self) -> np.ndarray:
        """Indices of cells whose values differ (NaN equals NaN; -0.0 equals 0.0)."""
        same = (self.torch == self.oracle) | (np.isnan(self.torch) & np.isnan(self.oracle))
        return np.argwhere(~same)

    @property
    def equal_values(self) -> bool:
        return (self.torch is not None and self.torch.shape == self.oracle.shape
                and len(self.differing()) == 0)

    @property
    def agree(self) -> bool:
        """Bit for bit: equal values and equal signs of zero (NaN payloads aside)."""
        return self.equal_values and np.array_equal(np.signbit(self.torch), np.signbit(self.oracle))


def compute(case: Case, x=None, w=None, b=None) -> Result:
    """Validate ``case`` (ConvConfigError if invalid) and run torch and the oracle on float64 operands."""
    check_module_options(case)
    case.config()
    dx, dw, db = default_operands(case)
    x = dx if x is None else np.asarray(x, dtype=np.float64)
    w = dw if w is None else np.asarray(w, dtype=np.float64)
    b = db if (b is None or not case.bias) else np.asarray(b, dtype=np.float64)
    from ..oracle.applied import oracle_forward
    expected = oracle_forward(case, x, w, b)
    got, error = None, None
    from ..targets import load_target
    try:
        got = target_output(load_target("torch"), case, x, w, b)
    except (RuntimeError, ValueError, TypeError) as exc:
        error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    except AssertionError as exc:  # a crash, a hang or uninitialised memory, from the isolated worker
        details = getattr(exc, "details", None) or {}
        error = details.get("message") or str(exc).strip().splitlines()[0]
    return Result(case, x, w, b, expected, got, error)


@isolated(describe=lambda case, x, w, b, dtype, **_: Example(case, x, w, b, dtype))
def target_output(target, case: Case, x, w, b, dtype: str = "float64") -> np.ndarray:
    """The target's result on these operands, computed in its supervised worker (conv_oracle.checks.isolation)."""
    from ..targets import execution
    return execution.to_numpy(execution.run(target, case, x, w, b, dtype).out)


#: arrays (and coverage maps) with more cells are summarised, not printed: the output stays readable
MAX_PRINTED = 4096


def _shown(a: np.ndarray, nd: int, lead) -> list[str]:
    if a.size <= MAX_PRINTED:
        return _slices(a, nd, lead)
    return [f"  ({a.size} cells of shape {list(a.shape)}: too many to print; min {a.min()!r}, max {a.max()!r})"]


def render(result: Result) -> str:
    """The full explanation as text (arrays over :data:`MAX_PRINTED` cells summarised)."""
    case = result.case
    _slices = _shown
    lead_x = ("c",) if case.batch is None else ("n", "c")
    lines = [case.describe(), "", "output size, per dimension:"]
    lines += [f"  {line}" if i == 0 else line for i, line in enumerate(size_formula(case))]
    big = math.prod(case.input_shape) > MAX_PRINTED or math.prod(result.oracle.shape) > MAX_PRINTED
    lines += [""] + (["coverage map: too many cells to print"] if big else coverage(case)) + [""]
    lines += ["x (input):"] + _slices(result.x, case.nd, lead_x)
    lead_w = ("c_in", "c_out/g") if case.transposed else ("c_out", "c_in/g")
    lines += ["w (weight):"] + _slices(result.w, case.nd, lead_w)
    if result.b is not None:
        lines += ["b (bias): " + " ".join(matrix(result.b).split())]
    where = "torch.nn module" if case.needs_module else f"torch.nn.functional.{case.fn_name}"
    lines += ["", f"torch ({where}, float64):"]
    lines += _slices(result.torch, case.nd, lead_x) if result.torch is not None else [f"raised {result.torch_error}"]
    lines += ["", f"oracle (conv_oracle.{case.fn_name}, float64):"] + _slices(result.oracle, case.nd, lead_x) + [""]
    if result.agree:
        lines.append(f"torch and the oracle agree bit for bit ({result.oracle.size} cells).")
    elif result.equal_values:
        signs = int((np.signbit(result.torch) != np.signbit(result.oracle)).sum())
        lines.append(f"torch and the oracle agree in value ({result.oracle.size} cells); {signs} zero(s) differ "
                     f"only in sign.")
    elif result.torch is None:
        lines.append("torch and the oracle DISAGREE: torch rejected a configuration the oracle accepts.")
    elif result.torch.shape != result.oracle.shape:
        lines.append(f"torch and the oracle DISAGREE: shapes {result.torch.shape} vs {result.oracle.shape}.")
    else:
        differ = result.differing()
        first = tuple(int(i) for i in differ[0])
        lines.append(f"torch and the oracle DISAGREE in {len(differ)} of {result.oracle.size} cells; first at "
                     f"{first}: torch {float(result.torch[first])!r}, oracle {float(result.oracle[first])!r}.")
    return "\n".join(lines) + "\n"
