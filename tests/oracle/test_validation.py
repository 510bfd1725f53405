"""Validation: every configuration class torch rejects raises ConvConfigError (a ValueError) naming
the parameter and the offending value; the edge configurations torch accepts are accepted."""

import numpy as np
import pytest

import conv_oracle as co

pytestmark = pytest.mark.oracle


def z(*shape):
    return np.zeros(shape)


X1 = z(1, 1, 3)      # batched 1-D input, L = 3
W1 = z(1, 1, 2)      # 1-D weight, k = 2
X2 = z(1, 2, 5, 5)   # batched 2-D input, 2 channels
W2 = z(4, 2, 3, 3)

# (id, callable, parameter expected in the error, offending value expected in the error)
INVALID = [
    ("conv output < 1", lambda: co.conv1d(X1, z(1, 1, 5)), "input.shape", (1, 1, 3)),
    ("conv output < 1 dilated", lambda: co.conv2d(X2, W2, dilation=(1, 3)), "input.shape", (1, 2, 5, 5)),
    ("transposed output < 1", lambda: co.conv_transpose1d(z(1, 1, 1), z(1, 1, 1), padding=1),
     "input.shape", (1, 1, 1)),
    ("output_padding >= stride and >= dilation",
     lambda: co.conv_transpose1d(X1, W1, stride=2, dilation=2, output_padding=2), "output_padding", 2),
    ("output_padding >= stride and >= dilation, one dim",
     lambda: co.conv_transpose2d(X2, z(2, 1, 2, 2), stride=(2, 3), output_padding=(1, 3)),
     "output_padding", (1, 3)),
    ("negative padding conv", lambda: co.conv1d(X1, W1, padding=-1), "padding", -1),
    ("negative padding tuple conv", lambda: co.conv2d(X2, W2, padding=(1, -2)), "padding", (1, -2)),
    ("negative padding transposed", lambda: co.conv_transpose1d(X1, W1, padding=-1), "padding", -1),
    ("negative output_padding", lambda: co.conv_transpose1d(X1, W1, output_padding=-1), "output_padding", -1),
    ("zero stride conv", lambda: co.conv1d(X1, W1, stride=0), "stride", 0),
    ("negative stride conv", lambda: co.conv2d(X2, W2, stride=(1, -1)), "stride", (1, -1)),
    ("zero stride transposed", lambda: co.conv_transpose1d(X1, W1, stride=0), "stride", 0),
    ("zero dilation conv", lambda: co.conv1d(X1, W1, dilation=0), "dilation", 0),
    ("negative dilation transposed", lambda: co.conv_transpose1d(X1, W1, dilation=-2), "dilation", -2),
    ("zero groups conv", lambda: co.conv1d(X1, W1, groups=0), "groups", 0),
    ("negative groups transposed", lambda: co.conv_transpose1d(X1, W1, groups=-1), "groups", -1),
    ("in_channels not divisible by groups (conv)", lambda: co.conv1d(z(1, 3, 4), z(2, 1, 2), groups=2),
     "input.shape", (1, 3, 4)),
    ("out_channels not divisible by groups (conv)", lambda: co.conv1d(z(1, 2, 4), z(3, 1, 2), groups=2),
     "weight.shape", (3, 1, 2)),
    ("in_channels not divisible by groups (transposed)",
     lambda: co.conv_transpose1d(z(1, 3, 4), z(3, 1, 2), groups=2), "weight.shape", (3, 1, 2)),
    ("weight in_channels mismatch (transposed)", lambda: co.conv_transpose1d(z(1, 2, 4), z(4, 1, 2), groups=2),
     "input.shape", (1, 2, 4)),
    ("weight channels mismatch input (conv)", lambda: co.conv2d(X2, z(4, 3, 3, 3)), "input.shape", (1, 2, 5, 5)),
    ("weight rank too low", lambda: co.conv2d(X2, z(4, 2, 3)), "weight.shape", (4, 2, 3)),
    ("weight rank too high", lambda: co.conv1d(X1, z(1, 1, 2, 2)), "weight.shape", (1, 1, 2, 2)),
    ("transposed weight rank", lambda: co.conv_transpose2d(X2, z(2, 1, 2)), "weight.shape", (2, 1, 2)),
    ("bias length", lambda: co.conv2d(X2, W2, z(3)), "bias.shape", (3,)),
    ("bias rank", lambda: co.conv2d(X2, W2, z(4, 1)), "bias.shape", (4, 1)),
    ("bias length transposed", lambda: co.conv_transpose1d(X1, z(1, 2, 2), z(1)), "bias.shape", (1,)),
    ("'same' with stride > 1", lambda: co.conv1d(X1, W1, stride=2, padding="same"), "padding", "same"),
    ("'same' with stride > 1 in one dim", lambda: co.conv2d(X2, W2, stride=(1, 2), padding="same"),
     "padding", "same"),
    ("bad padding string", lambda: co.conv1d(X1, W1, padding="full"), "padding", "full"),
    ("bad padding string case", lambda: co.conv1d(X1, W1, padding="SAME"), "padding", "SAME"),
    ("string padding transposed", lambda: co.conv_transpose1d(X1, W1, padding="same"), "padding", "same"),
    ("string padding transposed valid", lambda: co.conv_transpose2d(X2, z(2, 1, 2, 2), padding="valid"),
     "padding", "valid"),
    ("padding tuple wrong length", lambda: co.conv2d(X2, W2, padding=(1, 1, 1)), "padding", (1, 1, 1)),
    ("stride tuple wrong length", lambda: co.conv1d(X1, W1, stride=(1, 1)), "stride", (1, 1)),
    # ConvTranspose1d with L = 3, k = 3, stride 3, padding 1: sizes [7, 9] accepted
    ("output_size wrong length", lambda: co.conv_transpose1d(X1, z(1, 1, 3), stride=3, padding=1,
                                                             output_size=[1, 8]), "output_size", (1, 8)),
    ("output_size wrong length 4", lambda: co.conv_transpose1d(X1, z(1, 1, 3), stride=3, padding=1,
                                                               output_size=[1, 1, 1, 8]),
     "output_size", (1, 1, 1, 8)),
    ("output_size below range", lambda: co.conv_transpose1d(X1, z(1, 1, 3), stride=3, padding=1,
                                                            output_size=[6]), "output_size", (6,)),
    ("output_size above range", lambda: co.conv_transpose1d(X1, z(1, 1, 3), stride=3, padding=1,
                                                            output_size=[10]), "output_size", (10,)),
    ("output_size full shape out of range", lambda: co.conv_transpose1d(X1, z(1, 1, 3), stride=3, padding=1,
                                                                        output_size=[1, 1, 6]),
     "output_size", (1, 1, 6)),
    ("output_size unbatched wrong length", lambda: co.conv_transpose1d(z(1, 3), z(1, 1, 3), stride=3, padding=1,
                                                                       output_size=[1, 1, 8]),
     "output_size", (1, 1, 8)),
    ("input rank too low", lambda: co.conv2d(z(5, 5), W2), "input.shape", (5, 5)),
    ("input rank too high", lambda: co.conv1d(z(1, 1, 1, 3), W1), "input.shape", (1, 1, 1, 3)),
    ("input rank transposed", lambda: co.conv_transpose3d(z(1, 3, 3), z(1, 1, 1, 1, 1)),
     "input.shape", (1, 3, 3)),
    ("bad padding_mode", lambda: co.conv1d(X1, W1, padding=1, padding_mode="mirror"), "padding_mode", "mirror"),
    ("reflect padding = input size", lambda: co.conv1d(X1, W1, padding=3, padding_mode="reflect"), "padding", 3),
    ("reflect padding > input size, one dim", lambda: co.conv2d(z(1, 2, 5, 2), W2, padding=(1, 2),
                                                                padding_mode="reflect"), "padding", (1, 2)),
    ("reflect 'same' padding after >= size", lambda: co.conv1d(z(1, 1, 1), W1, padding="same",
                                                               padding_mode="reflect"), "padding", "same"),
    ("circular padding > input size", lambda: co.conv1d(X1, W1, padding=4, padding_mode="circular"), "padding", 4),
    ("zero kernel size", lambda: co.conv1d(X1, z(1, 1, 0)), "weight.shape", (1, 1, 0)),
    ("zero kernel size transposed", lambda: co.conv_transpose2d(X2, z(2, 1, 2, 0)), "weight.shape", (2, 1, 2, 0)),
    ("zero out_channels", lambda: co.conv1d(X1, z(0, 1, 2)), "weight.shape", (0, 1, 2)),
    ("non-int stride", lambda: co.conv1d(X1, W1, stride=1.5), "stride", 1.5),
    ("bool groups", lambda: co.conv1d(X1, W1, groups=True), "groups", True),
]


@pytest.mark.parametrize("call, parameter, value", [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_configuration_raises(call, parameter, value):
    """Raises ConvConfigError (a ValueError) whose .parameter, .value and message name the offender."""
    with pytest.raises(co.ConvConfigError) as info:
        call()
    err = info.value
    assert isinstance(err, ValueError)
    assert err.parameter == parameter
    assert err.value == value and type(err.value) is type(value)
    message = str(err)
    assert parameter in message and repr(value) in message
    assert err.rule and err.rule in message


def test_invalid_config_also_rejected_by_geometry_functions():
    """The size and mask functions share the rules: a bad stride or 'same' with stride raises there too."""
    with pytest.raises(co.ConvConfigError, match="stride"):
        co.conv_output_size(5, 3, stride=0)
    with pytest.raises(co.ConvConfigError, match="padding"):
        co.skipped_input_pixels(5, 3, stride=2, padding="same")
    with pytest.raises(co.ConvConfigError, match="padding_mode"):
        co.skipped_input_pixels(5, 3, padding=1, padding_mode="mirror")
    with pytest.raises(co.ConvConfigError, match="output_padding"):
        co.bias_only_output_cells(5, 3, output_padding=-1)


# ---------------------------------------------------------------------------------------------
# Edge configurations torch accepts
# ---------------------------------------------------------------------------------------------

ACCEPTED = [
    ("padding >= kernel", lambda: co.conv1d(X1, W1, padding=3), (1, 1, 8)),
    ("padding >= kernel, 2-D", lambda: co.conv2d(X2, W2, padding=(4, 3)), (1, 4, 11, 9)),
    ("stride > kernel", lambda: co.conv1d(z(1, 1, 9), W1, stride=5), (1, 1, 2)),
    ("stride > input", lambda: co.conv1d(X1, W1, stride=7), (1, 1, 1)),
    ("N = 0 conv", lambda: co.conv1d(z(0, 1, 3), W1), (0, 1, 2)),
    ("N = 0 transposed", lambda: co.conv_transpose1d(z(0, 1, 3), W1), (0, 1, 4)),
    ("output_padding >= stride, < dilation",
     lambda: co.conv_transpose1d(X1, W1, stride=1, dilation=3, output_padding=2), (1, 1, 8)),
    ("output_padding < stride, >= dilation",
     lambda: co.conv_transpose1d(X1, W1, stride=3, dilation=1, output_padding=2), (1, 1, 10)),
    ("reflect padding = size - 1", lambda: co.conv1d(X1, W1, padding=2, padding_mode="reflect"), (1, 1, 6)),
    ("circular padding = size", lambda: co.conv1d(X1, W1, padding=3, padding_mode="circular"), (1, 1, 8)),
    ("output_size at the low end", lambda: co.conv_transpose1d(X1, z(1, 1, 3), stride=3, padding=1,
                                                               output_size=[7]), (1, 1, 7)),
    ("output_size at the high end", lambda: co.conv_transpose1d(X1, z(1, 1, 3), stride=3, padding=1,
                                                                output_size=[9]), (1, 1, 9)),
    ("output_size full shape", lambda: co.conv_transpose1d(X1, z(1, 1, 3), stride=3, padding=1,
                                                           output_size=[1, 1, 8]), (1, 1, 8)),
    ("output_size full shape unbatched", lambda: co.conv_transpose1d(z(1, 3), z(1, 1, 3), stride=3, padding=1,
                                                                      output_size=(1, 8)), (1, 8)),
    ("output_size tuple, 2-D", lambda: co.conv_transpose2d(X2, z(2, 1, 2, 2), stride=(2, 3),
                                                           output_size=(11, 14)), (1, 1, 11, 14)),
    # min = (1-1)*4 - 2 + 1 = -1 < 1, but 1 and 2 are in [min, min + 3] and give a valid output
    ("output_size rescues a negative minimum", lambda: co.conv_transpose1d(z(1, 1, 1), z(1, 1, 1), stride=4,
                                                                           padding=1, output_size=[2]),
     (1, 1, 2)),
    ("'same' stride 1 tuple", lambda: co.conv2d(X2, W2, stride=(1, 1), padding="same"), (1, 4, 5, 5)),
    ("'valid' with stride", lambda: co.conv1d(X1, W1, stride=2, padding="valid"), (1, 1, 1)),
    ("1-tuple arguments", lambda: co.conv2d(X2, W2, stride=(2,), padding=(1,), dilation=(1,)), (1, 4, 3, 3)),
    ("numpy integer arguments", lambda: co.conv1d(X1, W1, stride=np.int64(2), padding=np.int32(1)), (1, 1, 2)),
]


@pytest.mark.parametrize("call, shape", [c[1:] for c in ACCEPTED], ids=[c[0] for c in ACCEPTED])
def test_torch_accepted_edge_configuration(call, shape):
    """Accepted (no error) with the output shape torch gives."""
    assert call().shape == shape


def test_output_size_at_negative_minimum_rejected_when_output_empty():
    """output_size 0 lies in [min, min + stride - 1] = [-1, 2] but gives an empty output: rejected, as torch."""
    with pytest.raises(co.ConvConfigError) as info:
        co.conv_transpose1d(z(1, 1, 1), z(1, 1, 1), stride=4, padding=1, output_size=[0])
    assert info.value.parameter == "input.shape"
