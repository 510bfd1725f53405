"""Wrong gradient (#63314 class): the transposed conv's input gradient for a 1x1 kernel with stride > 1
reads the output gradient one cell off."""

import torch
import torch.nn.functional as F

conv2d = F.conv2d


class _ConvT(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input, weight, bias, stride, padding, output_padding, groups, dilation):
        ctx.save_for_backward(input, weight)
        ctx.args = (stride, padding, output_padding, groups, dilation, bias is not None)
        return F.conv_transpose2d(input, weight, bias, stride, padding, output_padding, groups, dilation)

    @staticmethod
    def backward(ctx, grad):
        input, weight = ctx.saved_tensors
        stride, padding, output_padding, groups, dilation, has_bias = ctx.args
        with torch.enable_grad():
            x = input.detach().requires_grad_()
            w = weight.detach().requires_grad_()
            out = F.conv_transpose2d(x, w, None, stride, padding, output_padding, groups, dilation)
            gx, gw = torch.autograd.grad(out, (x, w), grad)
        s = (stride,) * 2 if isinstance(stride, int) else tuple(stride)
        if tuple(weight.shape[-2:]) == (1, 1) and max(s) > 1:
            gx = F.conv2d(torch.roll(grad, 1, dims=-1), weight, None, stride, padding, dilation, groups)
        gb = grad.sum(dim=tuple(d for d in range(grad.dim()) if d != grad.dim() - 3)) if has_bias else None
        return gx, gw, gb, None, None, None, None, None


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    return _ConvT.apply(input, weight, bias, stride, padding, output_padding, groups, dilation)
