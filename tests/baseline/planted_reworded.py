"""Planted change: every rejection keeps its exception type but words its message differently."""

import torch.nn.functional as F


def _reworded(fn):
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise type(exc)(f"[reworded] {exc}") from None
    return call


conv2d = _reworded(F.conv2d)
conv_transpose2d = _reworded(F.conv_transpose2d)
