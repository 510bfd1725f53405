"""Named configurations: the 6x6 seed case and the shapes of convolution faults that shipped in torch.

Issue numbers refer to pytorch/pytorch. Each entry is ``(Case, x_layout, w_layout)``; the suite pins
them as Hypothesis ``@example``s (:func:`conv_oracle.strategies.historical.pinned`) and the snapshot
corpus includes them.
"""

from __future__ import annotations

from .case import Case

#: ConvTranspose2d(1, 1, kernel_size=2, stride=4) on a 2x2 input gives 6x6: four kernel copies, 4 apart.
SEED_6X6 = Case("conv_transpose", 2, 1, 1, 1, 1, (2, 2), (2, 2), stride=4, bias=False)

HISTORICAL: dict[str, tuple[Case, str, str]] = {
    "seed-6x6": (SEED_6X6, "contiguous", "contiguous"),
    "seed-6x6-bias": (Case("conv_transpose", 2, 1, 1, 1, 1, (2, 2), (2, 2), stride=4, bias=True),
                      "contiguous", "contiguous"),
    "#54036 1x1 kernel, stride 2, padding": (Case("conv", 2, 2, 3, 4, 1, (7, 6), (1, 1), stride=2, padding=1),
                                             "contiguous", "contiguous"),
    "#63314 conv_transpose 1x1 kernel, stride 2": (Case("conv_transpose", 2, 2, 2, 3, 1, (3, 4), (1, 1), stride=2),
                                                   "contiguous", "contiguous"),
    "#19912 depthwise channel multiplier": (Case("conv", 2, 2, 3, 6, 3, (6, 5), (3, 3), stride=1, padding=1),
                                            "contiguous", "contiguous"),
    "#60176 grouped conv, stride > kernel": (Case("conv", 2, 1, 4, 6, 2, (9, 9), (2, 2), stride=3),
                                             "contiguous", "contiguous"),
    "#1246 non-contiguous (transposed) weight": (Case("conv", 2, 2, 2, 3, 1, (5, 5), (3, 2), stride=(1, 2)),
                                                 "contiguous", "transposed"),
    "#55781 sliced input": (Case("conv", 1, 2, 3, 2, 1, (9,), (3,), stride=4), "sliced", "contiguous"),
    "#82060 channels_last input and weight": (Case("conv", 2, 2, 3, 4, 1, (6, 6), (3, 3), stride=2, padding=1),
                                              "channels_last", "channels_last"),
    "#80837 odd channel count (oneDNN)": (Case("conv", 2, 1, 3, 5, 1, (7, 7), (3, 3), stride=3),
                                          "contiguous", "contiguous"),
    "#14272 conv_transpose with dilation": (Case("conv_transpose", 2, 1, 2, 2, 1, (3, 3), (3, 3), stride=2,
                                                 dilation=2, output_padding=1), "contiguous", "contiguous"),
    "3-D stride > kernel": (Case("conv", 3, 1, 2, 2, 1, (5, 5, 5), (2, 2, 2), stride=3), "contiguous", "contiguous"),
}

#: module-only historical shapes (padding_mode / output_size)
HISTORICAL_MODULES: dict[str, tuple[Case, str, str]] = {
    "#37844 circular padding, non-square": (Case("conv", 2, 1, 1, 1, 1, (4, 6), (3, 3), padding=(1, 2),
                                                 padding_mode="circular"), "contiguous", "contiguous"),
    "#75889 output_size with dilation": (Case("conv_transpose", 2, 1, 1, 1, 1, (4, 4), (3, 3), stride=2, dilation=2,
                                              output_size=(12, 12)), "contiguous", "contiguous"),
}

#: configurations behind this suite's own findings (see conv_oracle/suite/known_deviations.toml)
FINDINGS: dict[str, tuple[Case, str, str]] = {
    "oneDNN NaN in output_padding cells": (Case("conv_transpose", 2, 2, 1, 1, 1, (1, 1), (2, 3), stride=(4, 3),
                                                output_padding=(0, 1), bias=False), "contiguous", "contiguous"),
}
