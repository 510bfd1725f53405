"""The oracle's own threading (oracle/threads.py) is invisible in its results, and BLAS runs
single-threaded inside oracle calls only."""

from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from threadpoolctl import threadpool_info

import conv_oracle as co
import naive
from conv_oracle.oracle import threads
from test_against_naive import ORACLE_CONV, ORACLE_CONVT, conv_cases, conv_transpose_cases

pytestmark = pytest.mark.oracle


def _blas_threads():
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


@given(st.one_of(conv_cases(), conv_transpose_cases()))
def test_every_call_tiled_equals_naive(case):
    """With no minimum work every call is cut into batch x channel tiles run on the workers."""
    transposed = "output_padding" in case or "output_size" in case
    with mock.patch.object(threads, "MIN_PARALLEL_WORK", 0), mock.patch.object(threads, "cores", lambda: 3):
        if transposed:
            out = ORACLE_CONVT[case["weight"].ndim - 2](**case)
            expected = naive.conv_transpose(case["input"], case["weight"], case["bias"], case["stride"],
                                            case["padding"], case.get("output_padding", 0), case["groups"],
                                            case["dilation"], case.get("output_size"))
        else:
            out = ORACLE_CONV[case["weight"].ndim - 2](**case)
            expected = naive.conv(case["input"], case["weight"], case["bias"], case["stride"], case["padding"],
                                  case["dilation"], case["groups"], case["padding_mode"])
    assert np.array_equal(out, expected)


@pytest.mark.parametrize("n, groups, channels, elementwise", [(3, 1, 5, False), (1, 1, 7, False), (2, 3, 4, False),
                                                              (3, 64, 1, True), (1, 5, 2, True)])
def test_tiles_cover_every_cell_once(n, groups, channels, elementwise):
    with mock.patch.object(threads, "cores", lambda: 2):
        tiles = threads.plan_tiles(n, groups, channels, 1 << 30, 3 << 20, elementwise)
    assert len(tiles) >= 2
    covered = np.zeros((n, groups, channels), int)
    for tile in tiles:
        covered[tile] += 1
    assert (covered == 1).all()


def test_blas_single_threaded_inside_oracle_calls_only():
    before = _blas_threads()
    seen = []
    real = threads.run_tiles

    def spy(work, tiles):
        seen.append(_blas_threads())
        return real(work, tiles)

    with mock.patch("conv_oracle.oracle.gather.run_tiles", spy):
        co.conv2d(np.ones((2, 3, 8, 8)), np.ones((4, 3, 3, 3)))
    assert seen and all(n == 1 for counts in seen for n in counts)
    assert _blas_threads() == before


def test_a_failing_tile_raises_in_the_caller():
    def work(rows, groups, chans):
        if rows.start == 2:
            raise ZeroDivisionError("tile 2")

    with mock.patch.object(threads, "cores", lambda: 2):
        with pytest.raises(ZeroDivisionError, match="tile 2"):
            threads.run_tiles(work, [(slice(i, i + 1), slice(0, 1), slice(0, 1)) for i in range(6)])
