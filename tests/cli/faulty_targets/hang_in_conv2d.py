"""A planted hang for the interrupt tests: conv2d never returns (all else is torch). On entering the
hang it writes its process id to the file named by ``CONV_ORACLE_HANG_MARKER`` (when set), so a test
knows the worker is stuck in the call before it interrupts the run."""

import os
import time

import torch.nn.functional as F

conv1d, conv3d = F.conv1d, F.conv3d
conv_transpose1d, conv_transpose2d, conv_transpose3d = F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d


def conv2d(*args, **kwargs):
    marker = os.environ.get("CONV_ORACLE_HANG_MARKER")
    if marker:
        with open(marker + ".tmp", "w") as fh:
            fh.write(str(os.getpid()))
        os.replace(marker + ".tmp", marker)
    while True:  # a hang in the library: neither returns nor raises
        time.sleep(3600)
