"""Returns zeros of the right shape and dtype: must never pass a check (a vacuous bound would pass it)."""
import torch
import torch.nn.functional as F

_NAMES = ("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")


def _zeros(fn):
    def call(*args, **kwargs):
        out = fn(*args, **kwargs)
        return out - out.detach()  # zeros, still attached to autograd
    return call


globals().update({name: _zeros(getattr(F, name)) for name in _NAMES})
