"""The discrete features of an example and a 3-way covering array over them (no torch, no Hypothesis).

A *row* gives every feature a level; :func:`covering_rows` returns rows such that every combination of
levels of any three features that some valid example can show appears in at least one row (a covering
array of strength 3, built greedily and deterministically). The suite draws the continuous parameters
inside each row (:mod:`conv_oracle.strategies.cells`), so every default run covers every 3-way cell,
whatever the target's name or the seed. :func:`features_of` classifies an example, so that coverage
is measured on what ran, not on what was asked for.
"""

from __future__ import annotations

import functools
import itertools
import random

from .case import OPS, Case

#: feature -> its levels (the order is the report's)
FEATURES: dict[str, tuple] = {
    "op": OPS,
    "nd": (1, 2, 3),
    "dtype": ("float32", "float64", "bfloat16", "float16"),
    "batch": ("unbatched", "1", "2-3"),
    "x_layout": ("contiguous", "channels_last", "sliced", "transposed", "expanded"),
    "w_layout": ("contiguous", "channels_last", "sliced", "transposed", "expanded"),
    "bias": (False, True),
    "groups": ("1", "several", "depthwise"),
    "channels_per_group": ("1", "2-15", "16-32"),
    "stride_gap": ("none", "some"),
    "padding": ("0", "explicit", "same"),
    "dilation": ("1", ">1"),
    "wrt": ("none", "input", "weight", "bias"),  # forward values, or the gradient of this operand
}
NAMES = tuple(FEATURES)
STRENGTH = 3


def _pair_allowed(a: str, va, b: str, vb) -> bool:
    """The rules between two features' levels (every constraint is between two)."""
    pair = {a: va, b: vb}
    if pair.get("nd") == 1 and "channels_last" in (pair.get("x_layout"), pair.get("w_layout")):
        return False  # no channels_last below 4-D tensors
    if pair.get("x_layout") == "expanded" and pair.get("batch") not in (None, "2-3"):
        return False  # a broadcast batch needs two rows or more
    if pair.get("padding") == "same" and (pair.get("op") == "conv_transpose" or pair.get("stride_gap") == "some"):
        return False  # 'same' is conv only, at stride 1 (no stride can exceed a kernel)
    if pair.get("groups") == "depthwise" and pair.get("channels_per_group") not in (None, "1"):
        return False  # one input channel per group
    if pair.get("groups") == "several" and pair.get("channels_per_group") == "1":
        return False  # several groups of one input channel each are depthwise
    if pair.get("wrt") == "bias" and pair.get("bias") is False:
        return False  # no bias, no bias gradient
    return True


def allowed(row: dict) -> bool:
    """Whether some valid example has these levels (a partial row: the features given)."""
    items = list(row.items())
    return all(_pair_allowed(a, va, b, vb) for (a, va), (b, vb) in itertools.combinations(items, 2))


def _tuples(row: dict) -> set:
    return {tuple((f, row[f]) for f in fs) for fs in itertools.combinations(NAMES, STRENGTH)}


@functools.lru_cache(maxsize=1)
def required() -> frozenset:
    """Every 3-way combination of levels that a valid example can show."""
    out = set()
    for fs in itertools.combinations(NAMES, STRENGTH):
        for levels in itertools.product(*(FEATURES[f] for f in fs)):
            if allowed(dict(zip(fs, levels))):
                out.add(tuple(zip(fs, levels)))
    return frozenset(out)


def _code(feature: str, level) -> int:
    """One (feature, level) pair as a small integer: codes order as the features, then the levels, do."""
    return NAMES.index(feature) * 16 + FEATURES[feature].index(level)


@functools.lru_cache(maxsize=1)
def covering_rows(seed: int = 0, candidates: int = 4) -> tuple[dict, ...]:
    """Rows covering :func:`required` (greedy: each row starts from an uncovered combination and
    completes feature by feature with the level that covers most uncovered combinations, the first
    level on a tie; the best of ``candidates`` tries is kept). Deterministic for a seed.

    A combination is held as the ascending triple of its pairs' codes (:func:`_code`); for each pair,
    the uncovered combinations it is part of are kept as the set of the other two codes, so a level's
    gain is one set intersection with the row's pairs so far."""
    rng = random.Random(seed)
    combos = sorted(required())  # the order the starts are drawn in
    triples = [tuple(_code(f, v) for f, v in c) for c in combos]
    uncovered = set(range(len(combos)))
    by_pair: dict[int, set] = {}
    for i, (p, q, r) in enumerate(triples):
        by_pair.setdefault(p, set()).add((q, r))
        by_pair.setdefault(q, set()).add((p, r))
        by_pair.setdefault(r, set()).add((p, q))
    index = {t: i for i, t in enumerate(triples)}
    denied = {(_code(a, va), _code(b, vb)) for a, b in itertools.permutations(NAMES, 2)
              for va in FEATURES[a] for vb in FEATURES[b] if not _pair_allowed(a, va, b, vb)}
    ordered = list(range(len(combos)))
    rows: list[dict] = []

    def covered_by(codes: list[int]) -> set:
        return {i for t in itertools.combinations(sorted(codes), STRENGTH) if (i := index.get(t)) is not None} & uncovered

    while uncovered:
        ordered = [i for i in ordered if i in uncovered]
        best, best_gain = None, -1
        for _ in range(candidates):
            start = combos[ordered[rng.randrange(len(ordered))]]
            row = dict(start)
            codes = [_code(f, v) for f, v in start]
            pairs = {(min(a, b), max(a, b)) for a, b in itertools.combinations(codes, 2)}
            rest = [f for f in NAMES if f not in row]
            rng.shuffle(rest)
            for f in rest:
                choice, choice_gain = None, -1
                for level in FEATURES[f]:
                    c = _code(f, level)
                    if any((c, d) in denied for d in codes):
                        continue
                    gain = len(pairs & by_pair.get(c, set()))
                    if gain > choice_gain:
                        choice, choice_gain = level, gain
                row[f] = choice
                c = _code(f, choice)
                pairs |= {(min(c, d), max(c, d)) for d in codes}
                codes.append(c)
            gain = len(covered_by(codes))
            if gain > best_gain:
                best, best_gain, best_codes = row, gain, codes
        rows.append({f: best[f] for f in NAMES})
        for i in covered_by(best_codes):
            uncovered.discard(i)
            p, q, r = triples[i]
            by_pair[p].discard((q, r))
            by_pair[q].discard((p, r))
            by_pair[r].discard((p, q))
    return tuple(rows)


def _channels_class(n: int) -> str:
    return "1" if n == 1 else "2-15" if n <= 15 else "16-32"


def features_of(case: Case, dtype: str, x_layout: str, w_layout: str, wrt: str = "none") -> dict:
    """The levels an example shows (layouts as applied; the case as drawn; ``wrt`` the operand whose
    gradient was checked, "none" for forward values)."""
    cin_g = case.in_channels // case.groups
    groups = "1" if case.groups == 1 else "depthwise" if cin_g == 1 else "several"
    stride = case.config().stride
    if isinstance(case.padding, str):
        padding = case.padding if case.padding == "same" else "0"
    else:
        padding = "explicit" if any(p != 0 for p in (case.padding if isinstance(case.padding, tuple) else (case.padding,))) else "0"
    return {
        "op": case.op, "nd": case.nd, "dtype": dtype,
        "batch": "unbatched" if case.batch is None else "1" if case.batch <= 1 else "2-3",
        "x_layout": x_layout, "w_layout": w_layout, "bias": bool(case.bias), "groups": groups,
        "channels_per_group": _channels_class(cin_g),
        "stride_gap": "some" if any(s > k for s, k in zip(stride, case.kernel_size)) else "none",
        "padding": padding,
        "dilation": ">1" if any(d > 1 for d in case.config().dilation) else "1",
        "wrt": wrt,
    }


def covered(examples) -> set:
    """The required 3-way combinations that these examples' feature rows (dicts) show."""
    out = set()
    for row in examples:
        out |= _tuples(row)
    return out & required()
