"""ONNX Runtime behind torch's signatures, with a planted fault: every output channel of a transposed
convolution gets the first channel's bias (the class of ONNX's reference ConvTranspose bias bug)."""

import conv_oracle.targets.onnxruntime as ort

CAPABILITY = ort.CAPABILITY
conv1d, conv2d, conv3d = ort.conv1d, ort.conv2d, ort.conv3d


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    out = ort.conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups, dilation)
    if bias is None:
        return out
    return out - bias.view(-1, 1, 1) + bias[:1].view(1, 1, 1)
