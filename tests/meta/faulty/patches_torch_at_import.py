"""A target whose import changes torch for the whole process (oneDNN switched off): in a fork server
shared with other targets, that must reach no other target's worker."""

import torch
import torch.nn.functional as F

torch.backends.mkldnn.enabled = False

conv2d = F.conv2d
conv_transpose2d = F.conv_transpose2d
