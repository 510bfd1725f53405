"""Contribution counts behind the coverage maps (geometry.reach_counts_1d and the nd products), against
brute-force enumeration of the definitions."""

import itertools

import numpy as np
from hypothesis import given, settings

from conv_oracle import strategies as cs
from conv_oracle.definition import geometry
from conv_oracle.definition.case import Case


def brute_counts(case: Case) -> np.ndarray:
    """Enumerate every (cell, tap): conv output o reads padded position o*s + t*d (its source pixel under the
    padding mode); transposed input i writes output i*s - p + t*d when it exists."""
    cfg = case.config()
    if case.transposed:
        counts = np.zeros(cfg.output_size, dtype=np.int64)
        for i in itertools.product(*map(range, cfg.input_size)):
            for t in itertools.product(*map(range, cfg.kernel_size)):
                j = tuple(a * s - p + b * d for a, b, s, p, d in
                          zip(i, t, cfg.stride, cfg.padding_before, cfg.dilation))
                if all(0 <= x < n for x, n in zip(j, cfg.output_size)):
                    counts[j] += 1
        return counts
    src = [geometry.padded_source_index(L, pb, pa, cfg.padding_mode) for L, (pb, pa) in zip(cfg.input_size, cfg.padding)]
    counts = np.zeros(cfg.input_size, dtype=np.int64)
    for o in itertools.product(*map(range, cfg.output_size)):
        for t in itertools.product(*map(range, cfg.kernel_size)):
            i = tuple(int(m[a * s + b * d]) for m, a, b, s, d in zip(src, o, t, cfg.stride, cfg.dilation))
            if all(x >= 0 for x in i):
                counts[i] += 1
    return counts


@settings(max_examples=150, deadline=None)
@given(case=cs.cases(max_side=7, max_channels=1, max_batch=1))
def test_counts_equal_brute_force_and_vanish_exactly_on_the_mask(case):
    counts = case.coverage_counts()
    np.testing.assert_array_equal(counts, brute_counts(case))
    np.testing.assert_array_equal(counts == 0, case.untouched_mask())


def test_seed_case_counts():
    counts = geometry.conv_transpose_output_counts((2, 2), (2, 2), 4)
    row = np.array([1, 1, 0, 0, 1, 1])
    np.testing.assert_array_equal(counts, np.outer([1, 1, 0, 0, 1, 1], row))


def test_overlapping_windows_count_each_read():
    # conv1d L=7, k=3, s=2, p=1: outputs 0..3 read [-1..1], [1..3], [3..5], [5..7]
    np.testing.assert_array_equal(geometry.conv_input_read_counts((7,), (3,), 2, 1), [1, 2, 1, 2, 1, 2, 1])


def test_reflect_padding_counts_reads_of_copies():
    # L=4, k=3, p=1 reflect: padded [x1 x0 x1 x2 x3 x2]; windows start at 0..3
    np.testing.assert_array_equal(geometry.conv_input_read_counts((4,), (3,), 1, 1, padding_mode="reflect"),
                                  [2, 4, 4, 2])
