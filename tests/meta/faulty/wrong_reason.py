"""Rejects negative padding with the right exception type but another rule's reason: torch's own error
is replaced by the one for a non-positive stride. Only comparing the reason, not the type, catches it."""

import functools

import torch.nn.functional as F


def _wrong_reason(fn):
    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except RuntimeError as exc:
            if "negative padding" in str(exc):
                raise RuntimeError("non-positive stride is not supported") from None
            raise
    return call


conv1d, conv2d, conv3d = _wrong_reason(F.conv1d), _wrong_reason(F.conv2d), _wrong_reason(F.conv3d)
conv_transpose1d = _wrong_reason(F.conv_transpose1d)
conv_transpose2d = _wrong_reason(F.conv_transpose2d)
conv_transpose3d = _wrong_reason(F.conv_transpose3d)
