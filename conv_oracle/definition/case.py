"""One convolution configuration, as the suite, the records and the baselines see it.

A :class:`Case` holds shapes and arguments only (no values). It knows its torch call, its
regime tags, and how to validate itself against the oracle's rules (once: the normalised
:class:`~conv_oracle.definition.validation.ConvConfig` is kept). JSON round-trips through :meth:`to_dict` / :meth:`from_dict`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from . import geometry
from .params import per_dim
from .validation import ConvConfig, conv_config, conv_transpose_config

OPS = ("conv", "conv_transpose")


def _tup(v):
    return tuple(v) if isinstance(v, (list, tuple)) else v


@dataclass(frozen=True)
class Case:
    """A convolution call: ``op`` is ``'conv'`` or ``'conv_transpose'``; ``batch`` None = unbatched."""

    op: str
    nd: int
    batch: int | None
    in_channels: int
    out_channels: int
    groups: int
    input_size: tuple[int, ...]
    kernel_size: tuple[int, ...]
    stride: int | tuple[int, ...] = 1
    padding: int | str | tuple[int, ...] = 0
    dilation: int | tuple[int, ...] = 1
    output_padding: int | tuple[int, ...] = 0
    output_size: tuple[int, ...] | None = None
    padding_mode: str = "zeros"
    bias: bool = True
    tags: tuple[str, ...] = field(default=(), compare=False)

    # ---- shapes -------------------------------------------------------------------------
    @property
    def transposed(self) -> bool:
        return self.op == "conv_transpose"

    @property
    def input_shape(self) -> tuple[int, ...]:
        lead = (self.in_channels,) if self.batch is None else (self.batch, self.in_channels)
        return lead + tuple(self.input_size)

    @property
    def weight_shape(self) -> tuple[int, ...]:
        g = self.groups if self.groups > 0 else 1  # an invalid groups still comes with a plain weight
        if self.transposed:
            return (self.in_channels, self.out_channels // g) + tuple(self.kernel_size)
        return (self.out_channels, self.in_channels // g) + tuple(self.kernel_size)

    @property
    def output_shape(self) -> tuple[int, ...]:
        """The output's shape (validates the configuration: raises ConvConfigError for an invalid one)."""
        lead = (self.out_channels,) if self.batch is None else (self.batch, self.out_channels)
        return lead + tuple(self.config().output_size)

    @property
    def bias_shape(self) -> tuple[int, ...] | None:
        return (self.out_channels,) if self.bias else None

    @property
    def fn_name(self) -> str:
        return f"{self.op}{self.nd}d"

    def config(self) -> ConvConfig:
        """Validate under torch's rules (raises ConvConfigError) and normalise, once: the frozen case
        keeps its normalised configuration (in ``__dict__``, outside the dataclass fields, so equality,
        hashing and :meth:`to_dict` are unchanged; :func:`dataclasses.replace` makes a new case)."""
        cfg = self.__dict__.get("_config")
        if cfg is None:
            cfg = self.__dict__["_config"] = self._validate()
        return cfg

    def _validate(self) -> ConvConfig:
        if self.transposed:
            return conv_transpose_config(self.input_shape, self.weight_shape, self.bias_shape, self.stride,
                                         self.padding, self.output_padding, self.groups, self.dilation,
                                         self.output_size, nd=self.nd)
        return conv_config(self.input_shape, self.weight_shape, self.bias_shape, self.stride, self.padding,
                           self.dilation, self.groups, self.padding_mode, nd=self.nd)

    def functional_kwargs(self) -> dict:
        """Keyword arguments of the ``torch.nn.functional`` / oracle call (module-only args excluded)."""
        kw = dict(stride=self.stride, padding=self.padding, dilation=self.dilation, groups=self.groups)
        if self.transposed:
            kw["output_padding"] = self.output_padding
        return kw

    @property
    def needs_module(self) -> bool:
        """True when only ``nn.Conv*d`` / ``nn.ConvTranspose*d`` can express the case."""
        return self.padding_mode != "zeros" or self.output_size is not None

    def functional(self) -> "Case":
        """The nearest case plain functions can express: ``output_size`` becomes the equivalent
        ``output_padding``; a non-'zeros' ``padding_mode`` becomes 'zeros'."""
        if not self.needs_module:
            return self
        if self.output_size is not None:
            return replace(self, output_size=None, output_padding=self.config().output_padding)
        return replace(self, padding_mode="zeros")

    def oracle_kwargs(self) -> dict:
        kw = self.functional_kwargs()
        if self.transposed:
            kw["output_size"] = self.output_size
        else:
            kw["padding_mode"] = self.padding_mode
        return kw

    # ---- geometry -----------------------------------------------------------------------
    def _geometry(self, conv, transposed):
        """A geometry function of this case's normalised configuration: ``conv(input_size, kernel_size,
        stride, padding, dilation, padding_mode)``, or for a transposed convolution ``transposed(input_size,
        kernel_size, stride, padding_before, output_padding, dilation)``."""
        cfg = self.config()
        if self.transposed:
            return transposed(cfg.input_size, cfg.kernel_size, cfg.stride, cfg.padding_before, cfg.output_padding,
                              cfg.dilation)
        return conv(cfg.input_size, cfg.kernel_size, cfg.stride, self.padding, cfg.dilation, cfg.padding_mode)

    def untouched_mask(self):
        """Skipped input pixels (conv) or bias-only output cells (transposed), over the spatial shape."""
        return self._geometry(geometry.skipped_input_pixels, geometry.bias_only_output_cells)

    def padding_only_axes(self) -> tuple[bool, ...]:
        """Per spatial dimension: every output cell along it reads only zero padding (conv), or no input
        reaches any output cell along it (transposed); see :func:`geometry.conv_padding_only_axes`."""
        return self._geometry(geometry.conv_padding_only_axes, geometry.conv_transpose_padding_only_axes)

    def coverage_counts(self):
        """Over the same grid as :meth:`untouched_mask`: how many (cell, tap) pairs read each input pixel
        (conv) or add into each output cell (transposed); zero exactly where the mask is True."""
        return self._geometry(geometry.conv_input_read_counts, geometry.conv_transpose_output_counts)

    def regimes(self) -> dict[str, str]:
        """Regime tags: stride vs effective kernel per dimension, and every categorical parameter (derived
        once per case, kept beside the normalised configuration; each call returns its own dict)."""
        tags = self.__dict__.get("_regime_tags")
        if tags is None:
            tags = self.__dict__["_regime_tags"] = self._regimes()
        return dict(tags)

    def _regimes(self) -> dict[str, str]:
        cfg_stride = per_dim("stride", self.stride, self.nd)
        cfg_dil = per_dim("dilation", self.dilation, self.nd)
        eff = [geometry.effective_kernel(k, d) for k, d in zip(self.kernel_size, cfg_dil)]
        rel = ["<" if s < e else "=" if s == e else ">" for s, e in zip(cfg_stride, eff)]
        tags = {
            "op": self.op,
            "dims": f"{self.nd}d",
            "stride_vs_kernel": "".join(rel),
            "stride_gt_kernel": "yes" if ">" in rel else "no",
            "dilation": "yes" if any(d > 1 for d in cfg_dil) else "no",
            "groups": ("depthwise" if self.groups == self.in_channels and self.groups > 1 else
                       "yes" if self.groups > 1 else "no"),
            "padding": (self.padding if isinstance(self.padding, str) else
                        "zero" if not any(per_dim("padding", self.padding, self.nd)) else "int"),
            "padding_mode": self.padding_mode,
            "batch": "unbatched" if self.batch is None else ("batch1" if self.batch == 1 else "batchN"),
            "bias": "yes" if self.bias else "no",
        }
        if self.transposed:
            opad = per_dim("output_padding", self.output_padding, self.nd)
            tags["output_padding"] = ("output_size" if self.output_size is not None else
                                      "none" if not any(opad) else
                                      ">=stride(<dilation)" if any(a >= s for a, s in zip(opad, cfg_stride)) else
                                      "<stride")
        return tags

    # ---- serialisation ------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The fields but ``tags`` (ints, strings, tuples of ints and None: nothing to copy deeply)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "tags"}

    @classmethod
    def from_dict(cls, d: dict) -> "Case":
        d = {k: _tup(v) for k, v in d.items() if k in cls.__dataclass_fields__ and k != "tags"}
        return cls(**d)

    def describe(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.oracle_kwargs().items())
        return (f"{self.fn_name}(input{list(self.input_shape)}, weight{list(self.weight_shape)}, "
                f"bias={'[' + str(self.out_channels) + ']' if self.bias else None}, {args})")

