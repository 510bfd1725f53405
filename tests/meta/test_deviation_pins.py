"""Each built-in known deviation is pinned: its own fault deviates, a fault of another kind inside the same
scope fails. Unit pins for every entry (the entry's scope and failure, as data), and planted targets run
through the suite for the torch entries (red, with the entry named as in scope of the failing example)."""

import pytest

from conv_oracle.definition.case import Case
from conv_oracle.harness import deviations as D
from conv_oracle.machine.kernel_path import LEVEL_NAMES


TRANSPOSED = Case("conv_transpose", 2, 2, 1, 1, 1, (1, 1), (2, 3), stride=(4, 3), output_padding=(0, 1), bias=False)
GAPPED = Case("conv", 1, 1, 1, 1, 1, (7,), (3,), stride=4)
WIDTH_1 = Case("conv", 2, 1, 3, 2, 1, (5, 5), (1, 3), stride=(1, 5))
DEPTH_TAPS = Case("conv", 3, 1, 3, 1, 1, (1, 1, 5), (2, 2, 1), padding="same", dilation=(2, 1, 1))
T_MIDDLE_UNREACHED = Case("conv_transpose", 3, 2, 3, 1, 1, (3, 1, 1), (2, 2, 1), padding=(0, 1, 0), dilation=(1, 3, 1),
                          bias=False)
MIDDLE_TAPS = Case("conv", 3, 1, 1, 1, 1, (4, 1, 3), (1, 4, 2), padding="same", dilation=(1, 3, 1), bias=False)
LENGTH_0 = Case("conv_transpose", 1, 2, 1, 1, 1, (1,), (2,), padding=1)
LENGTH_NEG = Case("conv_transpose", 1, 2, 1, 1, 1, (1,), (2,), padding=2)
DILATION_0 = Case("conv_transpose", 2, 1, 1, 1, 1, (1, 1), (4, 4), stride=5, dilation=(1, 0))
FP16_ALL_PADDING = Case("conv", 1, None, 2, 2, 2, (1,), (1,), stride=2, padding=1, dilation=2)
INPUT_WIDTH_1 = Case("conv_transpose", 2, None, 2, 6, 2, (5, 1), (1, 3), stride=(1, 4))
ORT = Case("conv_transpose", 1, 1, 1, 1, 1, (3,), (2,), stride=1, dilation=2, output_padding=1)
#: one input and one output channel, a batch of 2, stride 5 along the width, padding 2 (seed 75 on an EPYC)
SINGLE_CHANNEL_STRIDED = Case("conv", 2, 2, 1, 1, 1, (1, 1), (3, 4), stride=(1, 5), padding=2, bias=False)
#: a grouped conv2d with a kernel dimension of size 1 (3 input channels per group)
GROUPED_K41 = Case("conv", 2, 1, 6, 4, 2, (8, 8), (4, 1), bias=False)
#: --seed 115 on torch@threads=1: one output channel, output depth 1 (taps cropped by the depth padding)
T_ONE_OUT_DEPTH_1 = Case("conv_transpose", 3, None, 1, 1, 1, (1, 1, 1), (3, 2, 3), stride=(4, 3, 4), padding=(1, 0, 0),
                         bias=False)
#: the transposed sibling's seeded case (--seed 87): weight (4, 2, 1, 4), two output channels per group
GROUPED_T_K14 = Case("conv_transpose", 2, 1, 4, 4, 2, (4, 1), (1, 4), stride=(2, 7), dilation=(1, 2), bias=False)


def _strides(x, w) -> dict:
    """A path's recorded operand strides (``{name: (shape, stride)}``), as execution.call_path writes them."""
    return {name: {"shape": list(shape), "stride": list(stride), "offset": 0}
            for name, (shape, stride) in (("input", x), ("weight", w))}


#: channels_last inputs, weights channels_last for torch with another stride on the size-1 kernel dimension
ODD_K41 = _strides(((1, 6, 8, 8), (384, 1, 48, 6)), ((4, 3, 4, 1), (12, 1, 3, 1)))
ODD_T_K14 = _strides(((1, 4, 4, 1), (16, 1, 4, 4)), ((4, 2, 1, 4), (8, 1, 0, 2)))
#: no input reaches the one output cell along the last axis (input length 3 there)
T_LAST_UNREACHED = Case("conv_transpose", 2, 1, 1, 1, 1, (1, 3), (2, 2), stride=(4, 2), padding=(0, 3), dilation=(3, 2),
                        output_padding=(2, 0), bias=False)
XLA_NAN = Case("conv_transpose", 2, 1, 2, 2, 1, (3, 3), (3, 3), stride=2, dilation=2, output_padding=1)
ONE_CHANNEL_CL = Case("conv", 2, 2, 1, 3, 1, (5, 3), (3, 3), stride=(1, 2), padding=(1, 0))
TRANSPOSED_INF = Case("conv_transpose", 1, 1, 1, 1, 1, (4,), (3,), stride=3, bias=False)
WEIGHT_OVER_PADDING = Case("conv", 1, None, 1, 1, 1, (1,), (1,), stride=2, padding=1, bias=False)
FP16_INF_W = Case("conv_transpose", 2, None, 1, 1, 1, (1, 1), (1, 3), stride=(3, 2), bias=False)
GROUPED_STRIDE_1 = Case("conv", 2, None, 4, 2, 2, (1, 2), (1, 3), padding=(0, 2), bias=False)
T3_CROPPED_CL = Case("conv_transpose", 3, 2, 2, 1, 1, (1, 1, 2), (3, 3, 2), stride=(7, 6, 2), padding=(1, 2, 2),
                     output_padding=(0, 5, 1), bias=False)
T3_MISPLACED = Case("conv_transpose", 3, None, 1, 1, 1, (2, 1, 1), (2, 3, 1), stride=(1, 3, 2), padding=(0, 1, 0),
                    bias=False)
SAME_TAPS_CL = Case("conv", 2, None, 1, 3, 1, (1, 1), (1, 2), stride=(2, 3), padding=(0, 1), bias=False)
T_GROUPED_SIZE_1 = Case("conv_transpose", 1, None, 4, 4, 2, (1,), (2,), stride=3, bias=True)
BATCHED_INF_W = Case("conv_transpose", 2, 2, 1, 1, 1, (1, 1), (1, 3), stride=(3, 2), bias=False)
TRANSPOSED_INF_W = Case("conv_transpose", 1, None, 2, 4, 2, (2,), (1,), stride=2, output_padding=1, bias=False)
FROZEN_F64 = Case("conv", 2, 1, 2, 3, 1, (4, 4), (2, 2))
DYNAMIC_BWD = Case("conv", 2, 2, 3, 4, 1, (6, 6), (3, 3), stride=2, padding=1)
XLA_GROUPS = Case("conv", 1, 1, 2, 2, 2, (3,), (2,))
SAME_LENGTH_1 = Case("conv", 2, None, 2, 4, 2, (1, 4), (4, 2), padding="same", dilation=(2, 3))
F32_PADDING_ONLY = Case("conv", 1, None, 4, 2, 2, (1,), (2,), stride=4, padding=3, dilation=2, bias=True)
T_PADDING_ONLY_ROWS = Case("conv_transpose", 2, None, 2, 4, 2, (1, 5), (4, 2), stride=(10, 1), padding=(4, 0),
                           dilation=(3, 1), bias=True)
T_OPAD = Case("conv_transpose", 1, None, 1, 2, 1, (1,), (2,), stride=2, output_padding=1, bias=False)
WGRAD_INF = Case("conv", 1, None, 2, 6, 2, (1,), (2,), stride=3, padding=1, bias=False)
SAME_1X1 = Case("conv", 2, 1, 1, 1, 1, (1, 2), (1, 1), padding="same", bias=False)
DW_STRIDED = Case("conv", 2, None, 3, 3, 3, (1, 3), (1, 1), stride=(2, 1), bias=False)
T_INF_GX = Case("conv_transpose", 1, None, 2, 1, 1, (1,), (2,), stride=3, bias=False)
T_INF_GW = Case("conv_transpose", 1, None, 1, 1, 1, (1,), (2,), bias=False)
PADDED_WGRAD_2 = Case("conv", 1, None, 2, 1, 1, (1,), (2,), stride=2, padding=1, bias=False)
PADDED_WGRAD_1 = Case("conv", 1, None, 1, 1, 1, (1,), (2,), stride=3, padding=1, bias=False)
GROUPED_OVER_PADDING = Case("conv", 1, None, 2, 2, 2, (1,), (2,), stride=2, padding=1, bias=False)
PADDED_WGRAD = Case("conv", 1, None, 1, 3, 1, (1,), (2,), stride=3, padding=1, bias=False)
#: the last axis padding-only (outputs read -1 and 1 of a width-1 input), stride 2, dilation 2
WIDTH_PADDING_ONLY = Case("conv", 2, None, 1, 1, 1, (2, 1), (2, 1), stride=(1, 2), padding=(0, 1), dilation=(1, 2))
CL_WGRAD = Case("conv", 1, None, 2, 3, 1, (1,), (2,), stride=3, padding=1, bias=False)
TRANSPOSED_INF_GROUPS = Case("conv_transpose", 1, None, 2, 4, 2, (2,), (2,), bias=False)
XLA_ABORT = Case("conv_transpose", 2, None, 1, 1, 1, (3, 1), (2, 2), stride=(2, 3), padding=(1, 0), dilation=(1, 2))


def cells(expected, got, index=(0, 0, 1, 3)):
    return [{"index": list(index), "expected": expected, "got": got}]


#: entry id -> (example scope, its own failure, a failure of another kind in the same scope)
PINS = {
    "onednn-transposed-output-length-0": (
        dict(property="error_parity", rule="transposed output size < 1", op="conv_transpose", case=LENGTH_0,
             path={"backend": "MkldnnTranspose", "isa": "AVX2"}),
        {"kind": "accepted_invalid", "cells": []},
        {"kind": "wrong_error", "cells": []}),
    "onednn-transposed-dilation-0": (
        dict(property="error_parity", rule="non-positive dilation", op="conv_transpose", case=DILATION_0,
             path={"backend": "MkldnnTranspose", "isa": "AVX2"}),
        {"kind": "accepted_invalid", "cells": []},
        {"kind": "crash", "cells": []}),
    "onednn-transposed-nan-in-bias-only-cells": (
        dict(property="bias_only_nonfinite", op="conv_transpose", case=TRANSPOSED, dtype="float32",
             path={"backend": "MkldnnTranspose", "isa": "AVX2"}),
        {"cells": cells(0.0, "nan")},
        {"cells": cells(3.0, 0.0)}),  # the bias dropped: finite and wrong
    "onednn-bf16-nan-from-skipped-pixels": (
        dict(property="skipped_pixels_nonfinite", op="conv", case=GAPPED, dtype="bfloat16",
             path={"backend": "Mkldnn", "isa": "AVX512_CORE_BF16"}),
        {"cells": cells(3.0, "nan", (0, 0, 0))},
        {"cells": cells(3.0, 0.0, (0, 0, 0))}),  # a touched cell turned to 0
    "onednn-bf16-conv-inf-input-becomes-nan": (
        dict(property="forward_nonfinite_input", op="conv", case=GAPPED, dtype="bfloat16",
             path={"backend": "Mkldnn", "isa": "AVX512_CORE"}),
        {"kind": "wrong_value", "cells": cells(float("-inf"), "nan", (0, 0, 0))},
        {"kind": "wrong_value", "cells": cells(float("-inf"), float("inf"), (0, 0, 0))}),  # the sign lost, not NaN
    "onednn-bf16-transposed-inf-input-becomes-nan": (
        dict(property="forward_nonfinite_input", op="conv_transpose", case=TRANSPOSED_INF, dtype="bfloat16",
             path={"backend": "MkldnnTranspose", "isa": "AVX512_CORE_BF16"}),
        {"kind": "nonfinite", "cells": cells(-9.0, "nan", (0, 0, 6))},
        {"kind": "wrong_value", "cells": cells(-9.0, 9.0, (0, 0, 6))}),  # a finite wrong value
    "onednn-nonfinite-weight-over-zero-padding-left-out": (
        dict(property="forward_nonfinite_weight", op="conv", case=WEIGHT_OVER_PADDING, dtype="float32",
             path={"backend": "Mkldnn", "isa": "AVX2"}),
        {"kind": "finite", "cells": cells("nan", 0.0, (0, 0))},
        {"kind": "wrong_value", "cells": cells(4.0, 0.0, (0, 0))}),  # a finite value dropped: not excused
    "onednn-nonfinite-output-gradient-over-zero-padding-left-out": (
        dict(property="gradient_nonfinite_weight", op="conv", case=GROUPED_OVER_PADDING, dtype="float32",
             path={"backend": "Mkldnn", "isa": "AVX2"}),
        {"kind": "finite", "cells": cells("nan", 0.0, (1, 0, 0))},
        {"kind": "wrong_value", "cells": cells(-4.0, 0.0, (0, 0, 1))}),  # a finite term dropped: not excused
    "onednn-amx-bf16-conv-weight-grad-uninitialised-padding-taps-nonfinite-gradient": (
        dict(property="gradient_nonfinite_weight", op="conv", case=PADDED_WGRAD_1, dtype="bfloat16",
             path={"backend": "Mkldnn", "isa": "AVX512_CORE_AMX"}),
        {"kind": "uninitialised", "cells": cells("nan", "-inf", (0, 0, 0))},
        {"kind": "uninitialised", "cells": cells("inf", "-inf", (0, 0, 1))}),  # garbage where inf is due: not excused
    "onednn-bf16-channels-last-conv-weight-grad-uninitialised-padding-taps-nonfinite-gradient": (
        dict(property="gradient_nonfinite_weight", op="conv", case=PADDED_WGRAD_2, dtype="bfloat16",
             w_layout="transposed", path={"backend": "Mkldnn", "isa": "AVX512_CORE_BF16"}),
        {"kind": "uninitialised", "cells": cells("nan", "-inf", (0, 0, 0))},
        {"kind": "uninitialised", "cells": cells("inf", "-inf", (0, 0, 1))}),  # garbage where inf is due: not excused
    "onednn-f32-conv-segfault-padding-only-last-axis-strided-weight": (
        dict(property="forward_exact", op="conv", case=F32_PADDING_ONLY, dtype="float32", w_layout="transposed",
             path={"backend": "Mkldnn", "isa": "AVX2"}),
        {"kind": "crash", "cells": []},
        {"kind": "hang", "cells": []}),
    "onednn-f32-conv-channels-last-strided-padded-single-channel-uninitialised": (
        dict(property="layout_weight", op="conv", case=SINGLE_CHANNEL_STRIDED, dtype="float32",
             w_layout="channels_last", path={"backend": "Mkldnn", "isa": "AVX512_CORE_BF16"}),
        {"kind": "uninitialised", "cells": []},
        {"cells": [{"index": [0, 0, 1, 0], "expected": 2.0, "got": 3.0}]}),
    "onednn-grouped-conv-channels-last-weight-size-1-kernel-stride-misread": (
        dict(property="layout_weight", op="conv", case=GROUPED_K41, dtype="float32", x_layout="channels_last",
             w_layout="strided", path={"backend": "Mkldnn", "isa": "AVX2", "strides": ODD_K41}),
        {"cells": [{"index": [0, 0, 0, 0], "expected": -24.0, "got": 16.0}]},
        {"kind": "crash", "cells": []}),
    "onednn-bf16-transposed-input-grad-channels-last-one-output-channel-per-group": (
        dict(property="gradient_input", op="conv_transpose", case=T_ONE_OUT_DEPTH_1, dtype="bfloat16",
             w_layout="channels_last", path={"backend": "MkldnnTranspose", "isa": "AVX512_CORE_BF16"}),
        {"cells": [{"index": [0, 0, 0, 0], "expected": -2.0, "got": 0.0}]},
        {"kind": "crash", "cells": []}),
    "onednn-grouped-transposed-conv-channels-last-weight-size-1-kernel-stride-misread": (
        dict(property="module_forward", op="conv_transpose", case=GROUPED_T_K14, dtype="float32",
             x_layout="channels_last", w_layout="strided",
             path={"backend": "MkldnnTranspose", "isa": "AVX512_CORE_BF16", "strides": ODD_T_K14}),
        {"cells": [{"index": [0, 0, 0, 2], "expected": -5.0, "got": -9.0}]},
        {"kind": "uninitialised", "cells": []}),
    "onednn-bf16-transposed-backward-segfault-padding-only-last-axis-channels-last": (
        dict(property="gradient_weight", op="conv_transpose", case=T_LAST_UNREACHED, dtype="bfloat16",
             x_layout="channels_last", path={"backend": "MkldnnTranspose", "isa": "AVX512_CORE_BF16"}),
        {"kind": "crash", "cells": []},
        {"kind": "uninitialised", "cells": []}),
    "onednn-amx-bf16-transposed-backward-segfault-padding-only-first-axis": (
        dict(property="gradient_input", op="conv_transpose", case=T_PADDING_ONLY_ROWS, dtype="bfloat16",
             path={"backend": "MkldnnTranspose", "isa": "AVX512_CORE_AMX"}),
        {"kind": "crash", "cells": []},
        {"kind": "hang", "cells": []}),
    "onednn-bf16-transposed-weight-grad-inf-gradient-becomes-nan-channels-innermost-weight": (
        dict(property="gradient_nonfinite_weight", op="conv_transpose", case=T_OPAD, dtype="bfloat16",
             w_layout="transposed", path={"backend": "MkldnnTranspose", "isa": "AVX512_CORE_BF16"}),
        {"kind": "nonfinite", "cells": cells(6.0, "nan", (0, 1, 0))},
        {"kind": "wrong_value", "cells": cells(6.0, 3.0, (0, 1, 0))}),  # a finite wrong value: not excused
    "onednn-bf16-conv-weight-grad-inf-gradient-becomes-nan": (
        dict(property="gradient_nonfinite_weight", op="conv", case=WGRAD_INF, dtype="bfloat16",
             path={"backend": "Mkldnn", "isa": "AVX512_CORE_BF16"}),
        {"kind": "nonfinite", "cells": cells("inf", "nan", (5, 0, 1))},
        {"kind": "wrong_value", "cells": cells("inf", 2.0, (5, 0, 1))}),  # a finite wrong value: not excused
    "onednn-bf16-conv-input-grad-inf-gradient-becomes-nan-at-avx512-core-bf16": (
        dict(property="gradient_nonfinite_input", op="conv", case=SAME_1X1, dtype="bfloat16",
             x_layout="channels_last", path={"backend": "Mkldnn", "isa": "AVX512_CORE_BF16"}),
        {"kind": "nonfinite", "cells": cells(0.0, "nan", (0, 0, 0, 0))},
        {"kind": "wrong_value", "cells": cells(0.0, 1.0, (0, 0, 0, 0))}),  # a finite wrong value: not excused
    "onednn-bf16-conv-input-grad-inf-gradient-leaks-nan-across-groups": (
        dict(property="gradient_nonfinite_input", op="conv", case=DW_STRIDED, dtype="bfloat16",
             path={"backend": "Mkldnn", "isa": "AVX512_CORE_BF16"}),
        {"kind": "nonfinite", "cells": cells(-3.0, "nan", (1, 0, 1))},
        {"kind": "wrong_value", "cells": cells(-3.0, 3.0, (1, 0, 1))}),  # a finite wrong value: not excused
    "onednn-bf16-conv-input-grad-nonfinite-gradient-leaks-nan-across-groups-channels-innermost": (
        dict(property="gradient_nonfinite_input", op="conv", case=GROUPED_STRIDE_1, dtype="bfloat16",
             w_layout="channels_last", path={"backend": "Mkldnn", "isa": "AVX512_CORE_AMX"}),
        {"kind": "nonfinite", "cells": cells(-4.0, "nan", (0, 0, 0))},
        {"kind": "wrong_value", "cells": cells(-4.0, 3.0, (0, 0, 0))}),  # a finite wrong value: not excused
    "onednn-bf16-transposed-input-grad-channels-last-input-uninitialised": (
        dict(property="gradient_input", op="conv_transpose", case=T3_CROPPED_CL, dtype="bfloat16",
             x_layout="channels_last", path={"backend": "MkldnnTranspose", "isa": "AVX512_CORE_BF16"}),
        {"kind": "uninitialised", "cells": cells(None, 0.0, (0, 0, 0, 0, 1))},
        {"kind": "wrong_value", "cells": cells(2.0, 3.0, (0, 0, 0, 0, 1))}),  # a stable wrong value: not excused
    "onednn-bf16-transposed-input-grad-inf-gradient-becomes-nan": (
        dict(property="gradient_nonfinite_input", op="conv_transpose", case=T_INF_GX, dtype="bfloat16",
             path={"backend": "MkldnnTranspose", "isa": "AVX512_CORE"}),
        {"kind": "nonfinite", "cells": cells("-inf", "nan", (0, 0))},
        {"kind": "wrong_value", "cells": cells("-inf", 4.0, (0, 0))}),  # a finite value where -inf is due
    "onednn-amx-bf16-transposed-weight-grad-inf-gradient-becomes-nan": (
        dict(property="gradient_nonfinite_weight", op="conv_transpose", case=T_INF_GW, dtype="bfloat16",
             path={"backend": "MkldnnTranspose", "isa": "AVX512_CORE_AMX"}),
        {"kind": "nonfinite", "cells": cells(0.0, "nan", (0, 0, 0))},
        {"kind": "wrong_value", "cells": cells(0.0, 2.0, (0, 0, 0))}),  # a finite wrong value: not excused
    "onednn-bf16-transposed-inf-weight-becomes-nan": (
        dict(property="forward_nonfinite_weight", op="conv_transpose", case=TRANSPOSED_INF_W, dtype="bfloat16",
             path={"backend": "MkldnnTranspose", "isa": "AVX512_CORE"}),
        {"kind": "wrong_value", "cells": cells(float("-inf"), "nan", (3, 2))},
        {"kind": "wrong_value", "cells": cells(float("-inf"), float("inf"), (3, 2))}),  # the sign lost, not NaN
    "onednn-fp16-transposed-inf-weight-becomes-nan": (
        dict(property="forward_nonfinite_weight", op="conv_transpose", case=FP16_INF_W, dtype="float16",
             path={"backend": "MkldnnTranspose", "isa": "AVX512_CORE_FP16"}),
        {"kind": "nonfinite", "cells": cells(2.0, "nan", (0, 0, 0))},
        {"kind": "nonfinite", "cells": cells(2.0, float("inf"), (0, 0, 0))}),  # an Inf where 2 is due: not NaN
    "onednn-f32-batched-transposed-inf-weight-becomes-nan": (
        dict(property="forward_nonfinite_weight", op="conv_transpose", case=BATCHED_INF_W, dtype="float32",
             path={"backend": "MkldnnTranspose", "isa": "AVX2"}),
        {"kind": "wrong_value", "cells": cells(0.0, "nan", (0, 0, 0, 0))},
        {"kind": "wrong_value", "cells": cells(0.0, 3.0, (0, 0, 0, 0))}),  # a finite wrong value: not excused
    "onednn-bf16-transposed-weight-grad-channels-last-padded": (
        dict(property="gradient_weight", op="conv_transpose", case=T3_MISPLACED, dtype="bfloat16",
             w_layout="channels_last", path={"backend": "MkldnnTranspose", "isa": "AVX512_CORE_BF16"}),
        {"kind": "wrong_value", "cells": cells(0.0, 2.0, (0, 0, 0, 2, 0)) + cells(2.0, 0.0, (0, 0, 1, 1, 0))},
        {"kind": "finite", "cells": cells("inf", 2.0, (0, 0, 1, 1, 0))}),  # 2 where Inf is due: not excused
    "torch-slow-grouped-transposed-backward-rejects-odd-strides-of-size-1-dims": (
        dict(property="gradient_weight", op="conv_transpose", case=T_GROUPED_SIZE_1, dtype="float64",
             x_layout="strided", path={"backend": "SlowTranspose2d", "isa": "AVX2"}),
        {"kind": "rejected_valid", "cells": []},
        {"kind": "wrong_value", "cells": cells(3.0, 4.0, (0, 0))}),  # a wrong gradient: not excused
    "onednn-bf16-transposed-weight-grad-uninitialised": (
        dict(property="gradient_weight", op="conv_transpose", case=TRANSPOSED, dtype="bfloat16",
             x_layout="contiguous", w_layout="channels_last", path={"backend": "MkldnnTranspose", "isa": "AVX512_CORE"}),
        {"kind": "uninitialised", "cells": cells(None, 3.0e16)},
        {"cells": cells(2.0, 4.0)}),  # the gradient doubled
    "onednn-amx-bf16-conv-weight-grad-uninitialised-padding-taps": (
        dict(property="gradient_weight", op="conv", case=PADDED_WGRAD, dtype="bfloat16",
             path={"backend": "Mkldnn", "isa": "AVX512_CORE_AMX"}),
        {"kind": "uninitialised", "cells": cells(None, -2.2e-18, (2, 0, 0))},
        {"kind": "wrong_value", "cells": cells(2.0, 4.0, (2, 0, 1))}),  # a doubled gradient: not excused
    "onednn-amx-bf16-transposed-weight-grad-uninitialised": (
        dict(property="gradient_weight", op="conv_transpose", case=TRANSPOSED, dtype="bfloat16",
             path={"backend": "MkldnnTranspose", "isa": "AVX512_CORE_AMX"}),
        {"kind": "uninitialised", "cells": cells(None, -1.3e-08)},
        {"cells": cells(2.0, 4.0)}),  # doubled: wrong values where the expected value is not 0
    "onednn-amx-bf16-conv-segfault-padding-only-first-axis": (
        dict(property="layout_input", op="conv", case=DEPTH_TAPS, dtype="bfloat16",
             path={"backend": "Mkldnn", "isa": "AVX512_CORE_AMX"}),
        {"kind": "crash", "cells": []},
        {"kind": "hang", "cells": []}),
    "onednn-amx-bf16-conv3d-segfault-padding-only-middle-axis": (
        dict(property="forward_exact", op="conv", case=MIDDLE_TAPS, dtype="bfloat16",
             path={"backend": "Mkldnn", "isa": "AVX512_CORE_AMX"}),
        {"kind": "crash", "cells": []},
        {"kind": "wrong_value", "cells": cells(0.0, 1.0, (0, 0, 0, 0, 0))}),
    "onednn-amx-bf16-transposed-segfault-padding-only-leading-axis": (
        dict(property="forward_exact", op="conv_transpose", case=T_MIDDLE_UNREACHED, dtype="bfloat16",
             path={"backend": "MkldnnTranspose", "isa": "AVX512_CORE_AMX"}),
        {"kind": "crash", "cells": []},
        {"kind": "hang", "cells": []}),
    "onednn-amx-bf16-conv2d-backward-segfault-same-padding-length-1": (
        dict(property="gradient_bias", op="conv", case=SAME_LENGTH_1, dtype="bfloat16",
             path={"backend": "Mkldnn", "isa": "AVX512_CORE_AMX"}),
        {"kind": "crash", "cells": []},
        {"kind": "wrong_value", "cells": cells(4.0, 0.0, (0,))}),  # a wrong gradient: not excused
    "onednn-fp16-conv-segfault-padding-only-last-axis": (
        dict(property="forward_covering", op="conv", case=FP16_ALL_PADDING, dtype="float16",
             path={"backend": "Mkldnn", "isa": "AVX512_CORE_FP16"}),
        {"kind": "crash", "cells": []},
        {"cells": cells(-1.0, 0.0, (0, 0))}),  # the bias dropped: a wrong value, not a crash
    "onednn-bf16-channels-last-conv-segfault-padding-only-last-axis": (
        dict(property="gradient_input", op="conv", case=WIDTH_PADDING_ONLY, dtype="bfloat16",
             w_layout="channels_last", path={"backend": "Mkldnn", "isa": "AVX512_CORE_BF16"}),
        {"kind": "crash", "cells": []},
        {"kind": "hang", "cells": []}),
    "onednn-bf16-channels-last-conv-weight-grad-uninitialised-padding-taps": (
        dict(property="gradient_weight", op="conv", case=CL_WGRAD, dtype="bfloat16", w_layout="transposed",
             path={"backend": "Mkldnn", "isa": "AVX512_CORE"}),
        {"kind": "uninitialised", "cells": cells(None, 1.8e12, (2, 0, 0))},
        {"kind": "wrong_value", "cells": cells(2.0, 4.0, (2, 0, 1))}),  # a doubled gradient: not excused
    "onednn-bf16-transposed-channels-last-inf-input-becomes-nan-stride-1": (
        dict(property="forward_nonfinite_input", op="conv_transpose", case=TRANSPOSED_INF_GROUPS, dtype="bfloat16",
             w_layout="transposed", path={"backend": "MkldnnTranspose", "isa": "AVX512_CORE_BF16"}),
        {"kind": "wrong_value", "cells": cells(-3.0, "nan", (0, 0))},
        {"kind": "wrong_value", "cells": cells(-3.0, 3.0, (0, 0))}),  # a finite wrong value: not excused
    "onednn-amx-bf16-conv-garbage-in-width-1-outputs": (
        dict(property="forward_exact", op="conv", case=WIDTH_1, dtype="bfloat16",
             path={"backend": "Mkldnn", "isa": "AVX512_CORE_AMX"}),
        {"kind": "uninitialised", "cells": cells(None, 1.4e-37)},
        {"kind": "crash", "cells": []}),
    "onednn-bf16-channels-last-one-channel-per-group": (
        dict(property="forward_exact", op="conv", case=ONE_CHANNEL_CL, dtype="bfloat16", w_layout="channels_last",
             path={"backend": "Mkldnn", "isa": "AVX512_CORE_BF16"}),
        {"kind": "wrong_value", "cells": cells(9.0, 6.0, (0, 0, 1, 0))},
        {"kind": "crash", "cells": []}),
    "onednn-amx-bf16-transposed-input-grad-width-1": (
        dict(property="gradient_input", op="conv_transpose", case=INPUT_WIDTH_1, dtype="bfloat16",
             path={"backend": "MkldnnTranspose", "isa": "AVX512_CORE_AMX"}),
        {"kind": "uninitialised", "cells": cells(None, 5.0, (0, 2, 0))},
        {"kind": "crash", "cells": []}),
    "onnxruntime-convtranspose-output-padding-between-stride-and-dilation": (
        dict(property="forward_exact", op="conv_transpose", case=ORT, dtype="float32", target="onnxruntime",
             torch_kernels=False, path={"backend": None}),
        {"kind": "rejected_valid", "cells": []},
        {"cells": cells(1.0, 2.0)}),
    "xla-cpu-abort-compiling-input-dilated-conv": (
        dict(property="gradient_bias", op="conv_transpose", case=XLA_ABORT, dtype="float64", target="jax",
             torch_kernels=False, path={"backend": None}),
        {"kind": "crash", "cells": []},
        {"cells": cells(-3.0, 0.0, (0,))}),  # a wrong (finite) bias gradient: not excused
    "inductor-freezing-float64-conv-weight-prepacked-for-onednn": (
        dict(property="forward_exact", op="conv", case=FROZEN_F64, dtype="float64", target="torch-compile@freezing",
             path={"backend": "Slow2d", "compile": "freezing"}),
        {"kind": "rejected_valid", "cells": []},
        {"cells": cells(3.0, 4.0, (0, 0, 0, 0))}),  # a wrong value, once it compiles: not excused
    "inductor-dynamic-conv2d-backward-lowering-fails-strided-padded": (
        dict(property="gradient_weight", op="conv", case=DYNAMIC_BWD, dtype="float32", target="torch-compile@dynamic",
             path={"backend": "Mkldnn", "compile": "dynamic"}),
        {"kind": "rejected_valid", "cells": []},
        {"cells": cells(3.0, 6.0, (0, 0, 0, 0))}),  # a doubled weight gradient: not excused
    "xla-cpu-float64-grouped-conv-inf-leaks-across-groups": (
        dict(property="forward_nonfinite_input", op="conv", case=XLA_GROUPS, dtype="float64", target="jax",
             torch_kernels=False, path={"backend": None}),
        {"kind": "nonfinite", "cells": cells(0.0, "nan", (0, 0, 0))},
        {"kind": "wrong_value", "cells": cells(0.0, 1.0, (0, 0, 0))}),  # a finite wrong value: not excused
    "xla-cpu-input-dilated-conv-nan-from-inserted-zeros": (
        dict(property="bias_only_nonfinite", op="conv_transpose", case=XLA_NAN, dtype="float32", target="jax",
             torch_kernels=False, path={"backend": None}),
        {"cells": cells(2.0, "nan", (0, 0, 0, 1))},
        {"cells": cells(2.0, 0.0, (0, 0, 0, 1))}),  # the bias dropped: finite and wrong
}


def _example(**kw):
    ex = {"target": "torch", "torch_kernels": True, "torch_version": "2.13.0+cpu", "dtype": "float32", "rule": None,
          "x_layout": "contiguous", "w_layout": "contiguous"}
    return ex | kw


def test_every_builtin_entry_is_pinned():
    assert set(PINS) == {e.id for e in D.Deviations.from_files([]).entries}


@pytest.mark.parametrize("ident", sorted(PINS))
def test_entry_excuses_its_own_fault_and_no_other(ident):
    entry = {e.id: e for e in D.Deviations.from_files([]).entries}[ident]
    scope, own, other = PINS[ident]
    ex = _example(**scope)
    assert entry.in_scope(ex), f"{ident}: the pinned example is outside its scope"
    assert entry.covers_failure(ex, own), f"{ident}: its own fault is not excused"
    assert not entry.covers_failure(ex, other), f"{ident}: a fault of another kind ({other}) is excused"


def test_amx_weight_grad_entry_excuses_stale_values_where_zero_is_due():
    """Both runs of the double call may read the same stale value: a wrong (or infinite) value where 0 is due is
    the same fault; a wrong value where a nonzero gradient is due (e.g. doubled) is not."""
    entry = {e.id: e for e in D.Deviations.from_files([]).entries}["onednn-amx-bf16-transposed-weight-grad-uninitialised"]
    ex = _example(**PINS["onednn-amx-bf16-transposed-weight-grad-uninitialised"][0])
    assert entry.covers_failure(ex, {"kind": "wrong_value", "cells": cells(0.0, 3.39e38)})
    assert not entry.covers_failure(ex, {"kind": "wrong_value", "cells": cells(0.0, 3.39e38) + cells(2.0, 4.0)})
    assert entry.covers_failure(ex, {"kind": "nonfinite", "cells": cells(0.0, "-inf")})  # a stale -inf (--seed 26)
    assert not entry.covers_failure(ex, {"kind": "nonfinite", "cells": cells(2.0, "-inf")})


def test_freezing_entry_is_scoped_to_its_mode_and_dims():
    """The float64 prepacking entry: not for the same call run eagerly or compiled without freezing, nor conv1d."""
    entry = {e.id: e for e in D.Deviations.from_files([]).entries}["inductor-freezing-float64-conv-weight-prepacked-for-onednn"]
    scope = PINS["inductor-freezing-float64-conv-weight-prepacked-for-onednn"][0]
    assert not entry.in_scope(_example(**scope | {"path": {"backend": "Slow2d"}}))  # eager
    assert not entry.in_scope(_example(**scope | {"path": {"backend": "Slow2d", "compile": "dynamic"}}))
    assert entry.in_scope(_example(**scope | {"path": {"backend": "Slow2d", "compile": "freezing+dynamic"}}))
    assert not entry.in_scope(_example(**scope | {"case": Case("conv", 1, 1, 2, 3, 1, (4,), (2,))}))
    assert not entry.in_scope(_example(**scope | {"dtype": "float32"}))


@pytest.mark.parametrize("ident, prepacked", [
    ("onednn-transposed-nan-in-bias-only-cells", "mkldnn._convolution_transpose_pointwise"),
    ("onednn-bf16-nan-from-skipped-pixels", "mkldnn._convolution_pointwise")])
def test_onednn_entries_cover_the_primitive_freezing_calls(ident, prepacked):
    """Inductor's freezing calls the same oneDNN primitive with a prepacked weight: in scope; its generated code
    (no oneDNN call) is not."""
    entry = {e.id: e for e in D.Deviations.from_files([]).entries}[ident]
    scope, own, _ = PINS[ident]
    ex = _example(**scope)
    compiled = dict(ex, target="torch-compile@freezing", path=dict(ex["path"], backend=prepacked, compile="freezing"))
    assert entry.in_scope(compiled) and entry.covers_failure(compiled, own)
    assert not entry.in_scope(dict(compiled, path=dict(compiled["path"], backend="inductor")))


def test_dynamic_backward_entry_is_scoped_to_its_mode_and_shapes():
    entry = {e.id: e for e in D.Deviations.from_files([]).entries}[
        "inductor-dynamic-conv2d-backward-lowering-fails-strided-padded"]
    scope = PINS["inductor-dynamic-conv2d-backward-lowering-fails-strided-padded"][0]
    assert not entry.in_scope(_example(**scope | {"path": {"backend": "Mkldnn", "compile": "default"}}))
    assert not entry.in_scope(_example(**scope | {"property": "forward_exact"}))
    for other in (Case("conv", 2, 2, 3, 4, 1, (6, 6), (3, 3), stride=(2, 1), padding=1),
                  Case("conv", 2, 2, 3, 4, 1, (6, 6), (3, 3), stride=2, padding=(1, 0)),
                  Case("conv", 3, 2, 3, 4, 1, (6, 6, 6), (3, 3, 3), stride=2, padding=1)):
        assert not entry.in_scope(_example(**scope | {"case": other})), other



def _scoped(ident, **change):
    entry = {e.id: e for e in D.Deviations.from_files([]).entries}[ident]
    return entry.in_scope(_example(**PINS[ident][0] | change))


@pytest.mark.parametrize("ident", ["onednn-fp16-conv-segfault-padding-only-last-axis",
                                   "onednn-bf16-channels-last-conv-segfault-padding-only-last-axis"])
def test_padding_only_crash_entries_stop_where_the_measured_crashes_stop(ident):
    """Inside: the last axis padding-only with stride, dilation and output length >= 2, a kernel of <= 2 taps and an
    input length <= 2 there (the pinned call and the 2-D input-gradient call), or 3 taps over an input of length 1.
    Just outside, each one parameter away:
    an input width of 2 (the second output reads pixel 1), dilation 1 or stride 1 there, 4 taps, 3 taps over an
    input of length 2, input length 3, the padding-only axis first instead of last."""
    assert _scoped(ident, case=WIDTH_PADDING_ONLY)
    assert _scoped(ident, case=FP16_ALL_PADDING)
    for outside in (Case("conv", 2, None, 1, 1, 1, (2, 2), (2, 1), stride=(1, 2), padding=(0, 1), dilation=(1, 2)),
                    Case("conv", 2, None, 1, 1, 1, (2, 1), (2, 1), stride=(1, 2), padding=(0, 1), dilation=(1, 1)),
                    Case("conv", 1, None, 2, 2, 2, (1,), (1,), stride=1, padding=1, dilation=2),
                    Case("conv", 1, None, 2, 2, 2, (1,), (4,), stride=2, padding=5, dilation=2),
                    Case("conv", 1, None, 2, 2, 2, (2,), (3,), stride=3, padding=4, dilation=3),
                    Case("conv", 1, None, 2, 2, 2, (3,), (1,), stride=4, padding=1, dilation=2),
                    Case("conv", 2, None, 1, 1, 1, (1, 2), (1, 2), stride=(2, 1), padding=(1, 0), dilation=(2, 1))):
        assert not _scoped(ident, case=outside), outside
    # 3 taps over an input of length 1: float16 18 of 41 (the thorough profile's conv2d), bfloat16 7 of 18 at 1 thread
    # (--seed 122 on torch@threads=1: the 2-D call below)
    three_taps = Case("conv", 1, None, 2, 2, 2, (1,), (3,), stride=2, padding=3, dilation=2)
    assert _scoped(ident, case=three_taps)
    assert _scoped(ident, case=Case("conv", 2, None, 1, 1, 1, (1, 1), (1, 3), stride=(2, 6), padding=(0, 5),
                                    dilation=(1, 2), bias=False))
    assert not _scoped(ident, dtype="float32")
    below = "AVX512_CORE_BF16" if ident.startswith("onednn-fp16") else "AVX512_CORE"
    assert not _scoped(ident, path={"backend": "Mkldnn", "isa": below})


def test_amx_first_axis_crash_entry_scope():
    """The first axis padding-only under 2 or more taps, on AMX: in (the 'same' conv3d and the conv2d of the
    examples); one tap there, the padding-only axis last instead of first, a height the taps reach, below AMX: out."""
    ident = "onednn-amx-bf16-conv-segfault-padding-only-first-axis"
    assert _scoped(ident)
    assert _scoped(ident, case=Case("conv", 2, 1, 4, 2, 2, (1, 2), (2, 3), stride=(1, 2), padding=(2, 3),
                                    dilation=(3, 1)))
    for outside in (Case("conv", 2, 1, 4, 2, 2, (1, 2), (1, 3), stride=(1, 2), padding=(2, 3)),
                    Case("conv", 2, 1, 4, 2, 2, (2, 1), (3, 2), stride=(2, 1), padding=(3, 2), dilation=(1, 3)),
                    Case("conv", 2, 1, 4, 2, 2, (2, 2), (2, 3), stride=(1, 2), padding=(2, 3), dilation=(3, 1)),
                    Case("conv", 1, 1, 1, 1, 1, (1,), (2,), padding=2, dilation=3)):
        assert not _scoped(ident, case=outside), outside
    assert not _scoped(ident, path={"backend": "Mkldnn", "isa": "AVX512_CORE_FP16"})


def test_amx_middle_axis_crash_entry_scope():
    """A conv3d's middle axis padding-only under 2 or more taps, on AMX, in bfloat16: in (the examples, and
    2 taps at dilation 3); one tap there, the middle axis reached, a conv2d's last axis, below AMX: out."""
    ident = "onednn-amx-bf16-conv3d-segfault-padding-only-middle-axis"
    assert _scoped(ident, case=MIDDLE_TAPS)
    assert _scoped(ident, case=Case("conv", 3, None, 2, 4, 2, (3, 1, 2), (1, 4, 1), padding="same",
                                    dilation=(1, 3, 1), bias=False))
    assert _scoped(ident, case=Case("conv", 3, 1, 4, 2, 2, (4, 1, 4), (2, 2, 2), padding=(0, 2, 0), dilation=(1, 3, 1)))
    one_tap = Case("conv", 3, 1, 1, 1, 1, (4, 1, 3), (1, 1, 2), stride=(1, 2, 1), padding=(0, 1, 0))
    assert one_tap.padding_only_axes() == (False, True, False)  # padding-only under one tap: out
    for outside in (one_tap,
                    Case("conv", 3, 1, 1, 1, 1, (4, 4, 3), (1, 4, 2), padding="same", dilation=(1, 3, 1)),
                    Case("conv", 2, 1, 1, 1, 1, (4, 1), (1, 4), padding="same", dilation=(1, 3))):
        assert not _scoped(ident, case=outside), outside
    assert not _scoped(ident, case=MIDDLE_TAPS, dtype="float16")
    assert not _scoped(ident, case=MIDDLE_TAPS, path={"backend": "Mkldnn", "isa": "AVX512_CORE_BF16"})


def test_bf16_padding_only_crash_entry_needs_a_channels_last_operand():
    ident = "onednn-bf16-channels-last-conv-segfault-padding-only-last-axis"
    assert _scoped(ident, x_layout="channels_last", w_layout="contiguous")
    assert not _scoped(ident, w_layout="contiguous")
    assert not _scoped(ident, w_layout="sliced")


def test_channels_last_weight_grad_entry_scope():
    """Padded, an output length of 1, a channels-last operand, from AVX512_CORE: in; unpadded, a longer output,
    contiguous operands (the AMX entry's case), AVX2 (Slow2d): out."""
    ident = "onednn-bf16-channels-last-conv-weight-grad-uninitialised-padding-taps"
    assert _scoped(ident, w_layout="channels_last")
    assert not _scoped(ident, case=Case("conv", 1, None, 2, 3, 1, (1,), (1,), stride=3, bias=False))
    assert not _scoped(ident, case=Case("conv", 1, None, 2, 3, 1, (4,), (2,), stride=3, padding=1, bias=False))
    assert not _scoped(ident, w_layout="contiguous")
    assert not _scoped(ident, path={"backend": "Mkldnn", "isa": "AVX2"})
    assert not _scoped(ident, property="gradient_input")


def test_channels_last_transposed_inf_entry_is_stride_1_channels_last_only():
    """Stride >= 2 belongs to onednn-bf16-transposed-inf-input-becomes-nan (any layout); contiguous operands at
    stride 1 were right (0 of 261 per cap)."""
    ident = "onednn-bf16-transposed-channels-last-inf-input-becomes-nan-stride-1"
    assert _scoped(ident, x_layout="channels_last", w_layout="contiguous")
    assert not _scoped(ident, w_layout="contiguous")
    assert not _scoped(ident, case=Case("conv_transpose", 1, None, 2, 4, 2, (2,), (2,), stride=2, bias=False))
    assert not _scoped(ident, property="forward_nonfinite_weight")
    assert not _scoped(ident, path={"backend": "MkldnnTranspose", "isa": "AVX2"})


def test_batched_transposed_inf_weight_entry_needs_a_batch_and_a_stride():
    """A batch of 2+ at a stride above 1, float32 on oneDNN: in (NaN where 2 * 0 is due, and in an output_padding
    cell); a batch of 1 or none, stride 1, float64, the slow path, an infinite input instead: out (0 measured)."""
    ident = "onednn-f32-batched-transposed-inf-weight-becomes-nan"
    assert _scoped(ident)
    assert _scoped(ident, case=Case("conv_transpose", 2, 3, 1, 1, 1, (1, 1), (2, 2), stride=(3, 2),
                                    output_padding=(0, 1), bias=False))
    for outside in (Case("conv_transpose", 2, 1, 1, 1, 1, (1, 1), (1, 3), stride=(3, 2), bias=False),
                    Case("conv_transpose", 2, None, 1, 1, 1, (1, 1), (1, 3), stride=(3, 2), bias=False),
                    Case("conv_transpose", 2, 2, 1, 1, 1, (1, 1), (1, 3), stride=1, bias=False)):
        assert not _scoped(ident, case=outside), outside
    assert not _scoped(ident, dtype="float64")
    assert not _scoped(ident, path={"backend": "SlowTranspose2d", "isa": "AVX2"})
    assert not _scoped(ident, property="forward_nonfinite_input")


def test_channels_last_padded_weight_grad_entry_needs_a_channels_last_weight_and_padding():
    """A channels-last weight and padding, from AVX512_CORE up (AMX included), the weight gradient with a finite or
    non-finite output gradient: in; a contiguous weight (or only the input channels-last), no padding, AVX2,
    float32, the input gradient: out (0 measured). Its kinds: a wrong value, garbage (changing between the two runs,
    or stale and non-finite in both), a crash."""
    ident = "onednn-bf16-transposed-weight-grad-channels-last-padded"
    assert _scoped(ident)
    for isa in ("AVX512_CORE", "AVX512_CORE_FP16", "AVX512_CORE_AMX"):
        assert _scoped(ident, path={"backend": "MkldnnTranspose", "isa": isa}), isa
    assert _scoped(ident, property="gradient_nonfinite_weight")
    assert not _scoped(ident, w_layout="contiguous")
    assert not _scoped(ident, w_layout="contiguous", x_layout="channels_last")
    assert not _scoped(ident, case=Case("conv_transpose", 3, None, 1, 1, 1, (2, 1, 1), (2, 3, 1), stride=(1, 3, 2),
                                        bias=False))
    assert not _scoped(ident, path={"backend": "MkldnnTranspose", "isa": "AVX2"})
    assert not _scoped(ident, dtype="float32")
    assert not _scoped(ident, property="gradient_input")
    entry = {e.id: e for e in D.Deviations.from_files([]).entries}[ident]
    for kind in ("wrong_value", "uninitialised", "crash", "nonfinite"):
        assert entry.covers_failure({}, {"kind": kind, "cells": []}), kind


def test_grouped_slow_transposed_backward_entry_scope():
    """Grouped, a batch of one or none, spatial size 1 everywhere, a strided input, the slow path: in; groups 1, a
    batch of 2, a spatial size of 2, a contiguous or channels-last input, oneDNN's transposed path: out."""
    ident = "torch-slow-grouped-transposed-backward-rejects-odd-strides-of-size-1-dims"
    assert _scoped(ident)
    assert _scoped(ident, case=Case("conv_transpose", 2, 1, 4, 4, 2, (1, 1), (1, 2), stride=(2, 3)),
                   path={"backend": "SlowTranspose2d", "isa": "AVX2"})
    for outside in (Case("conv_transpose", 1, None, 4, 4, 1, (1,), (2,), stride=3),
                    Case("conv_transpose", 1, 2, 4, 4, 2, (1,), (2,), stride=3),
                    Case("conv_transpose", 1, None, 4, 4, 2, (2,), (2,), stride=3)):
        assert not _scoped(ident, case=outside), outside
    for layout in ("contiguous", "channels_last"):
        assert not _scoped(ident, x_layout=layout), layout
    assert not _scoped(ident, path={"backend": "MkldnnTranspose", "isa": "AVX2"})
    assert not _scoped(ident, property="forward_exact")


def test_amx_transposed_input_grad_entry_takes_any_input_axis_of_length_1():
    """The last input axis of length 1 (its example), or another one (--seed 30: a (1, 1, 2) input of a
    conv_transpose3d): in; no axis of length 1, conv_transpose1d, below AMX: out."""
    ident = "onednn-amx-bf16-transposed-input-grad-width-1"
    assert _scoped(ident)
    assert _scoped(ident, case=Case("conv_transpose", 3, None, 1, 1, 1, (1, 1, 2), (3, 3, 2), stride=(4, 4, 2),
                                    padding=(1, 0, 0), output_padding=(0, 0, 1)), w_layout="channels_last")
    for outside in (Case("conv_transpose", 2, None, 2, 6, 2, (5, 2), (1, 3), stride=(1, 4)),
                    Case("conv_transpose", 1, None, 2, 6, 2, (1,), (3,), stride=4)):
        assert not _scoped(ident, case=outside), outside
    assert not _scoped(ident, path={"backend": "MkldnnTranspose", "isa": "AVX512_CORE_FP16"})


def test_output_length_entry_excuses_0_not_negative():
    entry = {e.id: e for e in D.Deviations.from_files([]).entries}["onednn-transposed-output-length-0"]
    scope = dict(PINS["onednn-transposed-output-length-0"][0], case=LENGTH_NEG)
    assert not entry.in_scope(_example(**scope))


#: planted module -> (-k selection, the entries in whose scope the fault lies, their backend, the lowest
#: ISA level at which the selection reaches that backend here (None: never required, see below))
PLANTED = {
    "entry_zeroes_touched_bf16": ("test_skipped_pixels_ignore_nonfinite and bfloat16",
                                  ("onednn-bf16-nan-from-skipped-pixels",), "Mkldnn", "AVX512_CORE"),
    "entry_drops_bias_transposed": ("test_bias_only_cells_ignore_nonfinite and float32",
                                    ("onednn-transposed-nan-in-bias-only-cells",), "MkldnnTranspose", "AVX2"),
    # torch's backend selector sends these invalid calls to SlowTranspose2d, outside the entry's backend;
    # the entry's `when` (length exactly 0) keeps them out too (test_output_length_entry_excuses_0_not_negative)
    "entry_accepts_negative_length": ("test_error_parity and transposed_output_size",
                                      ("onednn-transposed-output-length-0",), "MkldnnTranspose", None),
    "entry_doubles_weight_grad_bf16": ("test_gradient_half and bfloat16 and exact and weight",
                                       ("onednn-bf16-transposed-weight-grad-uninitialised",
                                        "onednn-amx-bf16-transposed-weight-grad-uninitialised"),
                                       "MkldnnTranspose", "AVX512_CORE_AMX"),
}


def _reaches(level) -> bool:
    """Whether this process runs oneDNN at ``level`` or higher (so the selection reaches the entry's kernel)."""
    import torch
    from conv_oracle.machine.fingerprint import cpu_info
    from conv_oracle.machine.kernel_path import LEVEL_NAMES, effective_isa
    isa = effective_isa(cpu_info()["flags"])
    return (level is not None and torch.backends.mkldnn.is_available() and isa in LEVEL_NAMES
            and LEVEL_NAMES.index(isa) >= LEVEL_NAMES.index(level))


def _planted(module):
    return pytest.param(module, marks=[pytest.mark.planted(f"faulty.{module}", PLANTED[module][0])])


@pytest.mark.e2e
@pytest.mark.parametrize("module", [_planted(m) for m in sorted(PLANTED)])
def test_a_fault_of_another_kind_inside_an_entry_scope_fails_the_run(module, planted_run):
    """Red, and the failing examples that ran on the entry's kernel name the entry as in scope and keep
    the verdict fail (not excused); on a CPU whose oneDNN reaches that kernel there is at least one
    (the shared planted run: :mod:`planted`)."""
    _, entry_ids, backend, level = PLANTED[module]
    target = f"faulty.{module}"
    assert planted_run.failed(target), f"{target} was not caught:\n{planted_run.tail(target)}"
    failing = [r for r in planted_run.records_of(target) if r.get("verdict") == "fail"]
    assert failing, planted_run.tail(target)
    in_scope = [r for r in failing if set(entry_ids) & set(r.get("deviations_in_scope") or [])]
    assert all(((r.get("failure") or {}).get("path") or {}).get("backend") == backend for r in in_scope)
    if _reaches(level):
        assert in_scope, f"no failing example inside the scope of {entry_ids}:\n{planted_run.tail(target)}"


def test_float32_padding_only_crash_entry_needs_groups_or_a_batch_a_bias_and_a_strided_weight():
    """Measured fine with groups=1 and a batch of 1 (or none), without a bias, with both operands contiguous,
    and where an output reads x; groups=1 with a batch of 2 or more crashes (the seeded conv3d), and so does a
    channels-last input with a contiguous weight."""
    entry = {e.id: e for e in D.Deviations.from_files([]).entries}[
        "onednn-f32-conv-segfault-padding-only-last-axis-strided-weight"]
    scope = PINS["onednn-f32-conv-segfault-padding-only-last-axis-strided-weight"][0]
    assert entry.in_scope(_example(**scope))
    assert not entry.in_scope(_example(**scope | {"w_layout": "contiguous"}))
    assert entry.in_scope(_example(**scope | {"w_layout": "contiguous", "x_layout": "channels_last"}))
    batched = Case("conv", 3, 3, 1, 1, 1, (3, 3, 2), (4, 3, 2), stride=(8, 7, 3), padding=(4, 5, 4), dilation=(2, 3, 3))
    assert entry.in_scope(_example(**scope | {"case": batched, "w_layout": "channels_last"}))
    assert entry.in_scope(_example(**scope | {"case": Case("conv", 2, 2, 1, 1, 1, (1, 2), (1, 2), stride=(1, 3),
                                                           padding=(0, 4), dilation=(1, 3))}))
    for other in (Case("conv", 1, None, 2, 1, 1, (1,), (2,), stride=4, padding=3, dilation=2, bias=True),
                  Case("conv", 1, 1, 2, 1, 1, (1,), (2,), stride=4, padding=3, dilation=2, bias=True),
                  Case("conv", 1, 0, 2, 1, 1, (1,), (2,), stride=4, padding=3, dilation=2, bias=True),
                  Case("conv", 3, 3, 1, 1, 1, (3, 3, 2), (4, 3, 2), stride=(8, 7, 3), padding=(4, 5, 4),
                       dilation=(2, 3, 3), bias=False),
                  Case("conv", 1, None, 4, 2, 2, (1,), (2,), stride=4, padding=3, dilation=2, bias=False),
                  Case("conv", 1, None, 4, 2, 2, (1,), (2,), stride=4, padding=2, dilation=2, bias=True)):
        assert not entry.in_scope(_example(**scope | {"case": other})), other


def test_transposed_backward_crash_entry_is_amx_gradients_with_no_input_reaching_a_row():
    entry = {e.id: e for e in D.Deviations.from_files([]).entries}[
        "onednn-amx-bf16-transposed-backward-segfault-padding-only-first-axis"]
    scope = PINS["onednn-amx-bf16-transposed-backward-segfault-padding-only-first-axis"][0]
    assert entry.in_scope(_example(**scope | {"property": "gradient_nonfinite_bias"}))
    assert not entry.in_scope(_example(**scope | {"property": "forward_exact"}))
    assert not entry.in_scope(_example(**scope | {"path": {"backend": "MkldnnTranspose", "isa": "AVX512_CORE_BF16"}}))
    reached = Case("conv_transpose", 2, None, 2, 4, 2, (1, 5), (4, 2), stride=(10, 1), padding=(1, 0),
                   dilation=(3, 1), bias=True)  # input row 0 reaches output row 2
    assert not entry.in_scope(_example(**scope | {"case": reached}))


def test_fp16_transposed_inf_weight_entry_is_float16_from_avx512_core_fp16():
    """Measured wrong at AVX512_CORE_FP16 and the default cap (AMX), right at AVX512_CORE_BF16 and AVX2, and
    only with the infinite operand in the weight."""
    ident = "onednn-fp16-transposed-inf-weight-becomes-nan"
    assert _scoped(ident) and _scoped(ident, path={"backend": "MkldnnTranspose", "isa": "AVX512_CORE_AMX"})
    for change in ({"path": {"backend": "MkldnnTranspose", "isa": "AVX512_CORE_BF16"}},
                   {"path": {"backend": "SlowTranspose2d", "isa": "AVX2"}},
                   {"dtype": "bfloat16"}, {"property": "forward_nonfinite_input"}):
        assert not _scoped(ident, **change), change


def test_channels_innermost_transposed_weight_grad_entry_takes_either_operand():
    """A channels-innermost weight, or a channels-last input with a contiguous weight (the seeded
    conv_transpose3d at AVX512_CORE); both operands contiguous: out (0 of 400 measured)."""
    ident = "onednn-bf16-transposed-weight-grad-inf-gradient-becomes-nan-channels-innermost-weight"
    assert _scoped(ident) and _scoped(ident, w_layout="contiguous", x_layout="channels_last")
    assert not _scoped(ident, w_layout="contiguous", x_layout="contiguous")
    assert not _scoped(ident, path={"backend": "MkldnnTranspose", "isa": "AVX512_CORE_AMX"})  # the AMX entry's


def test_avx512_core_bf16_input_grad_entry_spans_avx512_core_to_fp16():
    """The same NaN at AVX512_CORE_BF16 and AVX512_CORE_FP16, and at AVX512_CORE with a channels-last weight (the
    seeded run there, --seed 21); right on AMX and at AVX2."""
    ident = "onednn-bf16-conv-input-grad-inf-gradient-becomes-nan-at-avx512-core-bf16"
    assert _scoped(ident) and _scoped(ident, path={"backend": "Mkldnn", "isa": "AVX512_CORE_FP16"})
    assert _scoped(ident, case=SAME_TAPS_CL, x_layout="contiguous", w_layout="channels_last",
                   path={"backend": "Mkldnn", "isa": "AVX512_CORE"})
    for isa in ("AVX2", "AVX512_CORE_AMX"):
        assert not _scoped(ident, path={"backend": "Mkldnn", "isa": isa}), isa


def test_channels_innermost_weight_grad_garbage_entry_under_an_infinite_gradient_scope():
    """Below AMX with a channels-innermost operand and an output length of 1: in; a contiguous weight, longer
    outputs, no padding, AMX (its own entry) or AVX2: out."""
    ident = "onednn-bf16-channels-last-conv-weight-grad-uninitialised-padding-taps-nonfinite-gradient"
    assert _scoped(ident) and _scoped(ident, path={"backend": "Mkldnn", "isa": "AVX512_CORE"})
    assert not _scoped(ident, w_layout="contiguous")
    for outside in (Case("conv", 1, None, 2, 1, 1, (3,), (2,), stride=1, padding=1, bias=False),
                    Case("conv", 1, None, 2, 1, 1, (2,), (2,), stride=2, bias=False)):
        assert not _scoped(ident, case=outside), outside
    for isa in ("AVX512_CORE_AMX", "AVX2"):
        assert not _scoped(ident, path={"backend": "Mkldnn", "isa": isa}), isa


def test_amx_transposed_leading_axis_crash_entry_scope():
    """A transposed convolution's first axis, or a conv_transpose3d's middle one, reached by no input, on AMX
    in bfloat16: in; only the last axis so, float16, AVX512_CORE_FP16: out (0 of 100, 0 of 50, 0 of 240)."""
    ident = "onednn-amx-bf16-transposed-segfault-padding-only-leading-axis"
    assert _scoped(ident)
    assert _scoped(ident, case=Case("conv_transpose", 2, 1, 1, 1, 1, (1, 3), (2, 2), padding=(1, 0), dilation=(3, 1)))
    last_only = Case("conv_transpose", 2, 1, 1, 1, 1, (3, 1), (2, 2), padding=(0, 1), dilation=(1, 3))
    assert not _scoped(ident, case=last_only)
    assert not _scoped(ident, dtype="float16")
    assert not _scoped(ident, path={"backend": "MkldnnTranspose", "isa": "AVX512_CORE_FP16"})


def _example_scope(ex, backend, isa, target):
    return _example(property=ex.property, target=target, op=ex.case.op, dtype=ex.dtype, rule=ex.rule, case=ex.case,
                    x_layout=ex.x_layout, w_layout=ex.w_layout, path={"backend": backend, "isa": isa})


def test_no_entry_has_every_example_taken_by_an_earlier_entry():
    """A failing example is credited to the first entry that covers it, so an entry listed after a wider one of the
    same kinds never matches its own examples and warns NOT REPRODUCED in every run: at each ISA level of its range
    (and each backend it names), some example of each entry must be in scope of no earlier entry that covers every
    kind it lists unconditionally (no got, expected or cells condition). The narrower entry goes first."""
    entries = D.Deviations.from_files([]).entries
    shadowed = []
    for i, entry in enumerate(entries):
        targets = [t for t in entry.lists.get("target", ()) if "*" not in t] or ["torch"]
        backends = [b for b in entry.lists.get("backend", ()) if "*" not in b] or [None]
        lo = LEVEL_NAMES.index(entry.isa_min) if entry.isa_min else 0
        hi = LEVEL_NAMES.index(entry.isa_max) if entry.isa_max else len(LEVEL_NAMES) - 1
        for isa in LEVEL_NAMES[lo:hi + 1]:
            for backend in backends:
                scopes = [s for s in (_example_scope(ex, backend, isa, targets[0]) for ex in entry.examples)
                          if entry.in_scope(s)]
                takers = [[e.id for e in entries[:i] if e.in_scope(s) and set(entry.lists["kind"]) <= set(e.lists["kind"])
                           and e.got is None and e.expected is None and e.cells is None] for s in scopes]
                if scopes and all(takers):
                    shadowed.append(f"{entry.id} at {isa}: taken by {sorted({t for ts in takers for t in ts})}")
    assert not shadowed, shadowed


def test_grouped_channels_innermost_input_grad_entry_needs_groups_and_its_layouts():
    """Grouped, a channels_last or transposed (channels-innermost) weight or a channels-last input, AVX512_CORE_BF16
    up (AMX included), any stride: in; one group, both operands contiguous, AVX512_CORE and AVX2, float32, the
    weight gradient: out (0 measured)."""
    ident = "onednn-bf16-conv-input-grad-nonfinite-gradient-leaks-nan-across-groups-channels-innermost"
    assert _scoped(ident)
    assert _scoped(ident, w_layout="transposed")
    assert _scoped(ident, w_layout="contiguous", x_layout="channels_last")
    assert _scoped(ident, path={"backend": "Mkldnn", "isa": "AVX512_CORE_BF16"})
    assert not _scoped(ident, case=Case("conv", 2, None, 2, 2, 1, (1, 2), (1, 3), padding=(0, 2), bias=False))
    for layout in ("contiguous", "sliced"):
        assert not _scoped(ident, w_layout=layout), layout
    for isa in ("AVX512_CORE", "AVX2"):
        assert not _scoped(ident, path={"backend": "Mkldnn", "isa": isa}), isa
    assert not _scoped(ident, dtype="float32")
    assert not _scoped(ident, property="gradient_nonfinite_weight")


def test_channels_last_input_transposed_input_grad_entry_scope():
    """A channels-last input, an input axis of length 1, AVX512_CORE_BF16 and AVX512_CORE_FP16: in; a contiguous
    input (even with a channels-last weight), no axis of length 1, AVX512_CORE, AVX2 and AMX (the AMX entry's),
    the weight gradient, float32: out."""
    ident = "onednn-bf16-transposed-input-grad-channels-last-input-uninitialised"
    assert _scoped(ident)
    assert _scoped(ident, path={"backend": "MkldnnTranspose", "isa": "AVX512_CORE_FP16"})
    assert not _scoped(ident, x_layout="contiguous")
    assert not _scoped(ident, x_layout="contiguous", w_layout="channels_last")
    assert not _scoped(ident, case=Case("conv_transpose", 3, 2, 2, 1, 1, (2, 2, 2), (3, 3, 2), stride=(7, 6, 2),
                                        padding=(1, 2, 2), output_padding=(0, 5, 1), bias=False))
    for isa in ("AVX512_CORE", "AVX2", "AVX512_CORE_AMX"):
        assert not _scoped(ident, path={"backend": "MkldnnTranspose", "isa": isa}), isa
    assert not _scoped(ident, property="gradient_weight")
    assert not _scoped(ident, dtype="float32")


SEED_31 = Case("conv_transpose", 3, 2, 2, 2, 2, (3, 1, 2), (2, 3, 1), stride=(1, 7, 1), padding=(0, 1, 0), bias=True)


@pytest.mark.parametrize("change, credited", [
    ({}, "onednn-bf16-transposed-weight-grad-channels-last-padded"),
    ({"crash_alone": True}, None),  # it crashed alone too: the crashing call's own scope decides
    ({"kind": "wrong_value"}, None),  # only crashes are left to a later call
    ({"after": {"w_layout": "contiguous"}}, None),  # the earlier call is in no crash entry's scope
    ({"crash_op": "conv"}, "onednn-bf16-transposed-weight-grad-channels-last-padded"),  # scoped by the earlier call's op
])
def test_a_crash_left_by_an_earlier_call_in_a_crash_entrys_scope_is_that_entrys(change, credited):
    """--seed 31 at AVX512_CORE_BF16: the bias gradient's call crashed (SIGABRT) after the weight gradient of the same
    channels-last padded call, and passed alone in a fresh worker: the weight-gradient entry, which lists crashes
    (it corrupts the heap), takes it; nothing takes a crash that recurs alone or follows a call outside every crash
    entry's scope, or a failure of another kind."""
    path = {"backend": "MkldnnTranspose", "isa": "AVX512_CORE_BF16"}
    ex = _example(property="gradient_nonfinite_bias", op=change.get("crash_op", "conv_transpose"), case=SEED_31,
                  dtype="bfloat16", w_layout="channels_last", path=path)
    after = {"property": "gradient_nonfinite_weight", "case": SEED_31.to_dict(), "dtype": "bfloat16",
             "x_layout": "contiguous", "w_layout": "channels_last", "path": path} | change.get("after", {})
    failure = {"kind": change.get("kind", "crash"), "crash_alone": change.get("crash_alone", False),
               "crash_after": after, "cells": []}
    hit = D.Deviations.from_files([]).match_left_by_earlier_call(ex, failure)
    assert (hit.id if hit else None) == credited


def test_last_axis_transposed_backward_segfault_entry_scope():
    """Inside: BF16 level exactly, a channels_last operand (either), any gradient property, the last axis unreached
    with output length 1 and input length >= 2. Outside, one parameter away each: contiguous operands, the forward,
    AVX512_CORE, AMX (not measured), float16, input length 1 or output length 2 there, the first axis instead."""
    ident = "onednn-bf16-transposed-backward-segfault-padding-only-last-axis-channels-last"
    assert _scoped(ident) and _scoped(ident, x_layout="contiguous", w_layout="channels_last")
    assert _scoped(ident, property="gradient_nonfinite_input")
    assert not _scoped(ident, x_layout="contiguous")
    assert not _scoped(ident, property="forward_exact")
    for isa in ("AVX512_CORE", "AVX512_CORE_AMX"):
        assert not _scoped(ident, path={"backend": "MkldnnTranspose", "isa": isa})
    assert not _scoped(ident, dtype="float16")
    from dataclasses import replace
    length_1 = replace(T_LAST_UNREACHED, input_size=(1, 1), padding=(0, 1))
    assert length_1.padding_only_axes()[-1] and length_1.output_shape[-1] == 1 and not _scoped(ident, case=length_1)
    longer = Case("conv_transpose", 2, 1, 1, 1, 1, (3, 2), (2, 1), stride=(4, 5), padding=(0, 2), dilation=(3, 1),
                  output_padding=(2, 0), bias=False)  # inputs land on -2 and 3: output length 2, none reached
    assert longer.padding_only_axes()[-1] and longer.output_shape[-1] == 2 and not _scoped(ident, case=longer)
    first = Case("conv_transpose", 2, 1, 1, 1, 1, (3, 1), (2, 2), stride=(2, 4), padding=(3, 0), dilation=(2, 3),
                 output_padding=(0, 2), bias=False)
    assert first.padding_only_axes() == (True, False) and not _scoped(ident, case=first)


def test_grouped_channels_last_size_1_kernel_stride_entry_scope():
    """Inside: float32 or bfloat16 on Mkldnn, a channels_last input and a weight channels_last for torch with another
    stride on its size-1 kernel dimension (``w_memory == 'channels_last_odd'``, as the strided layout can give it),
    forward or input gradient, groups > 1 with 2 or more input channels per group, a kernel of size 1 along an axis.
    Outside, one parameter away each: groups 1, one input channel per group, a 3x3 kernel, a contiguous input, the
    weight's true channels_last strides or another order, float16, the Slow backend, the weight gradient, conv1d."""
    from dataclasses import replace
    ident = "onednn-grouped-conv-channels-last-weight-size-1-kernel-stride-misread"
    assert _scoped(ident) and _scoped(ident, dtype="bfloat16", property="forward_exact")
    assert _scoped(ident, case=replace(GROUPED_K41, kernel_size=(1, 4)))
    assert not _scoped(ident, case=replace(GROUPED_K41, groups=1, in_channels=3))
    assert not _scoped(ident, case=replace(GROUPED_K41, in_channels=2))  # one input channel per group
    assert not _scoped(ident, case=replace(GROUPED_K41, kernel_size=(3, 3)))
    assert not _scoped(ident, x_layout="contiguous") and not _scoped(ident, dtype="float16")
    assert not _scoped(ident, path={"backend": "Slow2d", "isa": "AVX2", "strides": ODD_K41})
    assert not _scoped(ident, property="gradient_weight")
    assert not _scoped(ident, case=Case("conv", 1, 1, 6, 4, 2, (8,), (1,), bias=False))
    _not_for_a_weight_read_right(ident, "Mkldnn", ODD_K41, (12, 1, 3, 3), (1, 4, 48, 12))
    conv3d = Case("conv", 3, 2, 6, 4, 2, (3, 4, 4), (2, 1, 1), stride=(2, 2, 1), bias=False)  # --seed 111
    odd_3d = _strides(((2, 6, 3, 4, 4), (288, 1, 96, 24, 6)), ((4, 3, 2, 1, 1), (6, 1, 3, 0, 1000)))
    assert _scoped(ident, case=conv3d, path={"backend": "Mkldnn", "isa": "AVX2", "strides": odd_3d})
    true_3d = _strides(((2, 6, 3, 4, 4), (288, 1, 96, 24, 6)), ((4, 3, 2, 1, 1), (6, 1, 3, 3, 3)))
    assert not _scoped(ident, case=conv3d, path={"backend": "Mkldnn", "isa": "AVX2", "strides": true_3d})


def test_transposed_input_grad_one_output_channel_entry_scope():
    """Inside: bfloat16 on MkldnnTranspose from AVX512_CORE_BF16, a channels_last (or strided) weight, the input
    gradient (finite or not), conv_transpose3d with one output channel per group and an output of depth 1. Outside,
    one parameter away each (measured right): a contiguous weight, AVX512_CORE, float32, two output channels per
    group, a longer output depth; and the weight or forward properties (other entries' faults)."""
    from dataclasses import replace
    ident = "onednn-bf16-transposed-input-grad-channels-last-one-output-channel-per-group"
    assert _scoped(ident) and _scoped(ident, property="gradient_nonfinite_input") and _scoped(ident, w_layout="strided")
    assert _scoped(ident, case=replace(T_ONE_OUT_DEPTH_1, in_channels=2, out_channels=2, groups=2))
    assert not _scoped(ident, w_layout="contiguous") and not _scoped(ident, dtype="float32")
    assert not _scoped(ident, path={"backend": "MkldnnTranspose", "isa": "AVX512_CORE"})
    assert not _scoped(ident, case=replace(T_ONE_OUT_DEPTH_1, out_channels=2))
    deeper = replace(T_ONE_OUT_DEPTH_1, padding=(0, 0, 0))
    assert deeper.output_shape[1] == 3 and not _scoped(ident, case=deeper)
    assert not _scoped(ident, property="gradient_weight") and not _scoped(ident, property="forward_exact")


def test_grouped_size_1_kernel_stride_entries_take_the_input_gradient_and_the_module():
    """Measured: the input gradient misreads such a weight too (342 of 384 cells for conv, 16 of 16 transposed; the
    weight gradient is right), and nn.Conv2d / nn.ConvTranspose2d make the same call (module_forward)."""
    for ident in ("onednn-grouped-conv-channels-last-weight-size-1-kernel-stride-misread",
                  "onednn-grouped-transposed-conv-channels-last-weight-size-1-kernel-stride-misread"):
        assert _scoped(ident, property="gradient_input") and _scoped(ident, property="module_forward")
        assert not _scoped(ident, property="gradient_weight") and not _scoped(ident, property="gradient_bias")


def test_grouped_transposed_size_1_kernel_stride_entry_scope():
    """Inside: float32 or bfloat16 on MkldnnTranspose, a channels_last input and a weight channels_last for torch with
    another stride on its size-1 kernel dimension, groups > 1 with 2 or more output channels per group (the weight's
    dimension 1, innermost in memory), a kernel of size 1 along one axis and more along the other. Outside, one
    parameter away each (each measured right): groups 1, one output channel per group, a (1, 1) kernel, a contiguous
    input, the weight's true channels_last strides or another order (the planted narrow_nhwc_bias fault's example:
    strides (2, 1, 0, 8)), float16, the slow backend (bfloat16 at AVX2), conv (its own entry), conv1d."""
    from dataclasses import replace
    ident = "onednn-grouped-transposed-conv-channels-last-weight-size-1-kernel-stride-misread"
    assert _scoped(ident) and _scoped(ident, dtype="bfloat16", property="forward_exact")
    assert _scoped(ident, case=replace(GROUPED_T_K14, kernel_size=(4, 1), input_size=(1, 4)))
    assert _scoped(ident, case=replace(GROUPED_T_K14, in_channels=2))  # one input channel per group: wrong too
    assert not _scoped(ident, case=replace(GROUPED_T_K14, groups=1))
    assert not _scoped(ident, case=replace(GROUPED_T_K14, out_channels=2))  # one output channel per group
    assert not _scoped(ident, case=replace(GROUPED_T_K14, kernel_size=(1, 1)))
    assert not _scoped(ident, x_layout="contiguous") and not _scoped(ident, dtype="float16")
    assert not _scoped(ident, dtype="bfloat16", path={"backend": "SlowTranspose2d", "isa": "AVX2", "strides": ODD_T_K14})
    assert not _scoped(ident, op="conv", case=replace(GROUPED_T_K14, op="conv"),
                       path={"backend": "Mkldnn", "isa": "AVX2", "strides": ODD_T_K14})
    assert not _scoped(ident, case=Case("conv_transpose", 1, 1, 4, 4, 2, (4,), (1,), bias=False))
    _not_for_a_weight_read_right(ident, "MkldnnTranspose", ODD_T_K14, (8, 1, 8, 2), (2, 8, 0, 1))
    transposed3d = Case("conv_transpose", 3, 2, 4, 4, 2, (3, 4, 4), (2, 1, 1), stride=(2, 2, 1), bias=False)
    odd_3d = _strides(((2, 4, 3, 4, 4), (192, 1, 64, 16, 4)), ((4, 2, 2, 1, 1), (4, 1, 2, 0, 1000)))
    assert _scoped(ident, case=transposed3d, path={"backend": "MkldnnTranspose", "isa": "AVX2", "strides": odd_3d})


def _not_for_a_weight_read_right(ident, backend, odd, channels_last, other) -> None:
    """In scope only where torch's kernels see the odd strides (``w_memory``), whatever the drawn layout is called:
    not with the weight's true channels_last strides, another order, a contiguous weight, or no recorded strides."""
    shape = odd["weight"]["shape"]
    for stride in (channels_last, other, None):
        weight = {"shape": shape, "stride": list(stride or [shape[1] * shape[2] * shape[3], shape[2] * shape[3],
                                                            shape[3], 1]), "offset": 0}
        assert not _scoped(ident, path={"backend": backend, "isa": "AVX2", "strides": {**odd, "weight": weight}})
    assert not _scoped(ident, path={"backend": backend, "isa": "AVX2"})
    assert _scoped(ident, w_layout="transposed") and _scoped(ident, w_layout="contiguous")  # the label is not the rule


def test_one_channel_per_group_entry_takes_a_strided_weight_with_channels_last_strides():
    """The strided layout can give a [O, 1, kh, kw] weight exactly the channels_last strides (seed 71 on an EPYC
    with AVX512_BF16): in scope as the channels_last layout is; a contiguous weight still is not."""
    ident = "onednn-bf16-channels-last-one-channel-per-group"
    assert _scoped(ident, w_layout="strided") and _scoped(ident)
    assert not _scoped(ident, w_layout="contiguous")


def test_single_channel_strided_padded_uninitialised_entry_scope():
    """Inside: float32 on Mkldnn from AVX512_CORE, a channels_last operand (either), one input channel, a batch of 2
    or more, a stride >= 2 and an output of length 1 along the last axis (any output channels: 3 in the suite's run).
    Outside, one parameter away each (each measured right once): contiguous operands, bfloat16, stride 1, a batch of
    1, 2 input channels, a longer output, AVX2."""
    from dataclasses import replace
    ident = "onednn-f32-conv-channels-last-strided-padded-single-channel-uninitialised"
    assert _scoped(ident) and _scoped(ident, w_layout="contiguous", x_layout="channels_last")
    assert not _scoped(ident, w_layout="contiguous") and not _scoped(ident, dtype="bfloat16")
    assert not _scoped(ident, case=replace(SINGLE_CHANNEL_STRIDED, stride=1))
    assert not _scoped(ident, case=replace(SINGLE_CHANNEL_STRIDED, batch=1))
    assert not _scoped(ident, case=replace(SINGLE_CHANNEL_STRIDED, in_channels=2))
    assert _scoped(ident, case=replace(SINGLE_CHANNEL_STRIDED, out_channels=3))
    longer = replace(SINGLE_CHANNEL_STRIDED, input_size=(1, 6))
    assert longer.output_shape[-1] == 2 and not _scoped(ident, case=longer)
    assert not _scoped(ident, path={"backend": "Mkldnn", "isa": "AVX2"})
