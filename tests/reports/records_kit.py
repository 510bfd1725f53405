"""Hand-made records for the report tests, built with the real Recorder so their format is the suite's."""

import json

import numpy as np

from conv_oracle.checks.comparison import CheckContext
from conv_oracle.definition.case import Case
from conv_oracle.definition.historical import SEED_6X6
from conv_oracle.harness.records import Recorder

#: conv2d 7x7, kernel 2, stride 3: rows/cols 2, 5, 6 skipped -> 49 - 16 = 33 skipped pixels
GAPPY_CONV = Case("conv", 2, 1, 1, 1, 1, (7, 7), (2, 2), stride=3)
#: conv1d 5, kernel 3, stride 1, padding 1: every pixel read (2, 3, 3, 3, 2 times)
DENSE_CONV = Case("conv", 1, None, 2, 2, 1, (5,), (3,), stride=1, padding=1)
PLANTED_SNIPPET = "import torch\nout = planted.conv2d(x, w, b)  # <planted & escaped>"


def planted_failure(case: Case, target: str = "planted") -> AssertionError:
    """The AssertionError a property raises, with differing cells and a reproduction snippet."""
    x, w = np.zeros(case.input_shape), np.zeros(case.weight_shape)
    ctx = CheckContext(case, target, "float32", "exact", x, w, None)
    exc = ctx.failure("2 of 4 cells differ <b>planted</b>", (0, 0, 1), 1.0, 2.0,
                      [((0, 0, 1), 1.0, 2.0), ((0, 1, 1), 3.0, float("nan"))])
    exc.details["snippet"] = PLANTED_SNIPPET
    return exc


def record(case: Case, target: str = "torch", prop: str = "forward_exact", fail: bool = False,
           test: str | None = None, reported: bool = False, **fields) -> dict:
    recorder = Recorder()
    nodeid = test or f"conv_oracle/suite/test_forward.py::test_{prop}[{target}-float32]"
    try:
        with recorder.example(prop, nodeid, target, case, **fields) as rec:
            if fail:
                raise planted_failure(case, target)
            rec.setdefault("bound_share", 0.0)
    except AssertionError:
        pass
    if reported:
        recorder.mark_reported(nodeid)
    return json.loads(json.dumps(recorder.records[0]))  # as read back from records.jsonl


def sample() -> list[dict]:
    """torch: 3 valid passes + 1 invalid call; 'planted': 1 pass, 2 failing examples of one test
    (the second reported), 1 failing example of another test."""
    return [
        record(SEED_6X6, dtype="float32", mode="exact", x_layout="contiguous", w_layout="contiguous"),
        record(GAPPY_CONV, dtype="float64", mode="float", bound_share=0.25, x_layout="sliced",
               w_layout="contiguous"),
        record(DENSE_CONV, prop="skipped_input_pixels", dtype="float32", observed=np.zeros(5, bool)),
        record(Case("conv", 1, None, 1, 1, 1, (5,), (3,), stride=0), prop="error_parity", dtype="float32",
               rule="non-positive stride"),
        record(SEED_6X6, target="planted", dtype="float32", mode="exact"),
        record(GAPPY_CONV, target="planted", fail=True, dtype="float32", mode="exact",
               test="conv_oracle/suite/test_forward.py::test_forward_exact[planted-float32]"),
        record(Case("conv", 2, 1, 1, 1, 1, (5, 5), (2, 2), stride=3), target="planted", fail=True,
               dtype="float32", mode="exact", reported=True,
               test="conv_oracle/suite/test_forward.py::test_forward_exact[planted-float32]"),
        record(DENSE_CONV, target="planted", fail=True, prop="dims_batch", dtype="float32", mode="exact",
               test="conv_oracle/suite/test_forward.py::test_dims_and_batch[planted-1-None]"),
    ]
